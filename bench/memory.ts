// `bun bench/memory.ts burst|offline` — the relay's memory as an operator sees it: `bun src/main.ts` as its own
// process, real WebSocket callers on loopback, RSS read from /proc (VmRSS, what `ps -o rss` shows), nothing
// inside the relay forcing a collection. Prints what it read; test/relay/burst-memory.test.ts and
// test/gemini/offline-memory.test.ts assert the bounds on smaller runs of the same scenarios.
//   burst    --calls 10 --seconds 300   calls whose model sends that much audio at once; RSS before, while held,
//                                        and for --settle 8 s after the last call ended
//   offline  --calls 5000 --concurrency 25 --checkpoints 100,2000,5000
//                                        short calls against the offline echo model (no GEMINI_API_KEY);
//                                        RSS at each checkpoint, once the calls in flight have ended and 3 s passed
//            --spy                       the model is test/support/gemini-spy.ts in echo mode, in this process
//   --set KEY=VALUE,KEY=VALUE             extra settings for the relay (IDLE_GC=false, BUN_JSC_useDFGJIT=0, ...)
import { MiB, spawnRelay, type RelayProcess } from "../test/support/relay-process.ts";
import { StandinServer } from "../test/support/gemini-spy.ts";
import { tone } from "../src/gemini/offline/voice.ts";
import { count, counts, flag, positional, value } from "./args.ts";
import { burstCalls, offlineCalls, speechLike } from "../test/support/memory-scenarios.ts";

const mode = positional()[0];
const SET = Object.fromEntries((value("--set")?.split(",") ?? []).map((kv) => kv.split("=", 2) as [string, string]));
const mb = (b: number) => (b / MiB).toFixed(1);

/** RSS every 250 ms for `ms`, printed as one line; returns the readings. */
async function watch(relay: RelayProcess, ms: number, label: string): Promise<number[]> {
  const out: number[] = [];
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    out.push(relay.rss());
    await Bun.sleep(250);
  }
  console.log(`${label}: ${out.map(mb).join(" ")} MiB`);
  return out;
}

async function idle(relay: RelayProcess): Promise<void> {
  for (;;) {
    const h = (await (await fetch(`${relay.base}/healthz`)).json()) as { activeCalls: number };
    if (h.activeCalls === 0) return;
    await Bun.sleep(50);
  }
}

if (mode === "burst") {
  const calls = count("--calls", 10, 1);
  const seconds = count("--seconds", 300, 1);
  const settle = count("--settle", 8, 1);
  const spy = new StandinServer({ mode: "tone", speechRms: 40000, burstMs: 1000, burstIntervalMs: 0 });
  const url = await spy.start();
  await using relay = await spawnRelay({ GEMINI_API_KEY: "bench-key", GEMINI_LIVE_URL: url, AGENT_GREETING: "", CALLER_SILENCE_TIMEOUT_S: "0", ...SET });
  console.log(`relay pid ${relay.pid}, RSS at start ${mb(relay.rss())} MiB`);
  const pcm = tone(seconds * 1000, 440);
  await burstCalls(relay, spy, pcm.subarray(0, 20 * 48000), 1, "HD_warm");
  await idle(relay);
  const before = await watch(relay, 3000, "after warm-up");
  const t0 = performance.now();
  const held = await burstCalls(relay, spy, pcm, calls, "HD_burst", () => watch(relay, 1000, "held"));
  await idle(relay);
  console.log(`${calls} calls × ${seconds} s of audio took ${((performance.now() - t0) / 1000).toFixed(1)} s; most held ${mb(Math.max(...(held ?? [0])))} MiB`);
  const after = await watch(relay, settle * 1000, `after the last call ended (${settle} s)`);
  const b = before.at(-1)!;
  const bound = Math.max(b * 1.1, b + 10 * MiB);
  const ok = after.filter((r, i) => i >= 12 && r <= bound).length > 0; // 3 s on
  console.log(`before ${mb(b)} MiB, bound ${mb(bound)} MiB, lowest 3–${settle} s after ${mb(Math.min(...after.slice(12)))} MiB: ${ok ? "within" : "OVER"}`);
  await spy.stop();
} else if (mode === "offline") {
  const calls = count("--calls", 5000, 1);
  const concurrency = count("--concurrency", 25, 1);
  const checkpoints = counts("--checkpoints", [100, 2000, 5000], 1);
  // --spy: the model is the test spy in echo mode in this process, so the relay process holds the relay alone.
  const spy = flag("--spy") ? new StandinServer({ mode: "echo", lean: false }) : undefined;
  // No key: offline mode, the relay's own echo model.
  const spyEnv: Record<string, string | undefined> = spy === undefined ? { GEMINI_API_KEY: undefined } : { GEMINI_API_KEY: "bench-key", GEMINI_LIVE_URL: await spy.start() };
  await using relay = await spawnRelay({ ...spyEnv, ...SET });
  console.log(`relay pid ${relay.pid} (offline), RSS at start ${mb(relay.rss())} MiB`);
  const speech = Buffer.concat([speechLike(1000), new Uint8Array(16000 * 0.4 * 2)]);
  let done = 0;
  const at: Record<number, number> = {};
  const t0 = performance.now();
  for (const cp of checkpoints.filter((c) => c <= calls)) {
    const failures = await offlineCalls(relay, speech, cp - done, concurrency, `HD_off${done}_`);
    done = cp;
    await idle(relay);
    const r = await watch(relay, 3000, `after ${cp} calls (${failures} failed, ${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    at[cp] = r.at(-1)!;
  }
  const first = at[checkpoints[0]!]!;
  for (const cp of checkpoints.slice(1)) if (at[cp] !== undefined) console.log(`after ${cp}: ${mb(at[cp])} MiB = ${(at[cp] / first).toFixed(3)}× the level after ${checkpoints[0]}`);
} else {
  console.error("usage: bun bench/memory.ts burst|offline [options]");
  process.exit(2);
}
