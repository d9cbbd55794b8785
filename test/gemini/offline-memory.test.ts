// Offline mode's memory as an operator sees it: the relay as its own process with no GEMINI_API_KEY (it runs its
// local echo model), thousands of short calls from real callers on loopback, 25 at a time, and RSS read from
// outside (/proc VmRSS) 3–8 s after each batch's last call ended. Nothing forces a collection anywhere.
//
// The reference level is taken after 1,000 calls, not 100: between those, JavaScriptCore's optimizing JITs compile
// the call path and their code and metadata stay (about 8 MiB here; with BUN_JSC_useJIT=0 the level after 2,000
// calls is 1.06× the level after 100). Past that, what calls take must come back and the level must stay flat.
// bench/memory.ts offline runs the same to 5,000 calls (docs/operations.md#memory).
import { afterEach, expect, test } from "bun:test";
import { offlineCalls, speechLike } from "../support/memory-scenarios.ts";
import { MiB, settledRss, spawnRelay } from "../support/relay-process.ts";

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

const mb = (b: number) => (b / MiB).toFixed(1);

test("3,000 short offline calls: RSS settles within 1.10× of the level after 1,000 and stays flat", async () => {
  const relay = await spawnRelay({ GEMINI_API_KEY: undefined }); // offline mode
  cleanup.push(() => relay.stop());
  const speech = Buffer.concat([speechLike(1000), new Uint8Array(16000 * 0.4 * 2)]);
  const activeCalls = async () => ((await (await fetch(`${relay.base}/healthz`)).json()) as { activeCalls: number }).activeCalls;
  let done = 0;
  const batch = async (upTo: number) => {
    const failed = await offlineCalls(relay, speech, upTo - done, 25, `HD_off${done}_`);
    expect(failed).toBe(0); // every caller heard its echo
    done = upTo;
    for (let t0 = Date.now(); (await activeCalls()) !== 0; await Bun.sleep(50)) {
      if (Date.now() - t0 > 15000) throw new Error("calls still active 15 s after their callers hung up");
    }
  };

  await batch(1000);
  // The lowest reading 3–5 s after the last call ended.
  const reference = Math.min(...(await settledRss(relay, 0, { fromMs: 3000, toMs: 5000 })).readings);
  const bound = reference * 1.1;
  const levels: number[] = [];
  for (const upTo of [1500, 2000, 2500, 3000]) {
    await batch(upTo);
    levels.push((await settledRss(relay, bound)).rss);
  }
  console.log(`offline memory (RSS from outside, 3–8 s after each batch): after 1000 calls ${mb(reference)} MiB; after 1500–3000 ${levels.map(mb).join(", ")} MiB`);
  for (const l of levels) expect(l).toBeLessThanOrEqual(bound);
  // Flat: from 2,000 to 3,000 calls the settled level moves by a few MiB at most.
  const late = levels.slice(1);
  expect(Math.max(...late) - Math.min(...late)).toBeLessThanOrEqual(4 * MiB);
}, 60_000);
