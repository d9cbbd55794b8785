// Bounded playout, and memory given back, as an operator sees them: the relay runs as its own process
// (`bun src/main.ts`), ten real callers on loopback, the model (the spy, in this process) sends each call five
// minutes of audio in one burst, and RSS is read from outside (/proc VmRSS). Nothing forces a collection anywhere.
import { afterEach, expect, test } from "bun:test";
import { tone } from "../../src/gemini/offline/voice.ts";
import { StandinServer } from "../support/gemini-spy.ts";
import { burstCalls } from "../support/memory-scenarios.ts";
import { MiB, settledRss, spawnRelay } from "../support/relay-process.ts";
import { until } from "../support/wait.ts";

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

const mb = (b: number) => (b / MiB).toFixed(1);

test("10 calls bursting 5 min of audio each hold at most MAX_QUEUED_AUDIO_S each, and RSS comes back when they end", async () => {
  const maxQueuedS = 60;
  // One spy message per second of audio, sent back to back: the whole answer arrives in a second or two.
  const spy = new StandinServer({ mode: "tone", speechRms: 40000, burstMs: 1000, burstIntervalMs: 0 });
  const url = await spy.start();
  cleanup.push(() => spy.stop());
  const relay = await spawnRelay({
    GEMINI_API_KEY: "test-key",
    GEMINI_LIVE_URL: url,
    AGENT_GREETING: "",
    CALLER_SILENCE_TIMEOUT_S: "0",
    MAX_QUEUED_AUDIO_S: String(maxQueuedS),
  });
  cleanup.push(() => relay.stop());
  const ended = () => relay.out().split("\n").filter((l) => l.includes('"msg":"call ended"'));
  const fiveMinutes = tone(300_000, 440); // 24 kHz, 14.4 MB, shared by every call's spy session

  // Warm-up: one call taking a 20 s burst the same way, so code paths are compiled and the relay's buffers are
  // at the size such traffic needs before the baseline is read.
  await burstCalls(relay, spy, fiveMinutes.subarray(0, 20 * 48000), 1, "HD_warm");
  await until(() => ended().length === 1, "warm-up ended");
  await Bun.sleep(3000);
  const before = relay.rss();

  let held = 0;
  await burstCalls(relay, spy, fiveMinutes, 10, "HD_burst", async () => {
    // Held at the cap (plus a little: sockets, decode buffers, the allocator's slack), not whole: whole, the bursts
    // would be 10 × 9.6 MB at 16 kHz. Parsing them leaves garbage for a moment, so the reading settles first.
    const perCall = maxQueuedS * 16000 * 2;
    held = (await settledRss(relay, before + 10 * perCall + 16 * MiB, { fromMs: 0, toMs: 3000 })).rss - before;
    expect(held).toBeLessThanOrEqual(10 * perCall + 16 * MiB);
  });
  await until(() => ended().length === 11, "calls ended", 10000);

  // And it comes back once they end, with nothing forcing a collection: within 10 % or 10 MiB of the baseline.
  const bound = Math.max(before * 1.1, before + 10 * MiB);
  const after = await settledRss(relay, bound);
  console.log(`burst memory (RSS from outside): before ${mb(before)} MiB, held +${mb(held)}, ${(after.atMs / 1000).toFixed(1)} s after the calls ended ${mb(after.rss)} MiB (bound ${mb(bound)})`);
  expect(after.rss).toBeLessThanOrEqual(bound);

  // Each call took its whole burst in, kept at most MAX_QUEUED_AUDIO_S of it, and said so once.
  const lines = ended()
    .slice(1)
    .map((l) => JSON.parse(l) as { audio: { overflowTurns: number; maxQueuedMs: number; overflowBytes: number }; model: { audioMessages: number } });
  expect(lines.length).toBe(10);
  for (const l of lines) {
    expect(l.model.audioMessages).toBe(300);
    expect(l.audio.overflowTurns).toBe(1);
    expect(l.audio.maxQueuedMs).toBeLessThanOrEqual(maxQueuedS * 1000 + 400); // one resampler slice over, at most
    expect(l.audio.overflowBytes).toBeGreaterThan(200 * 24000 * 2); // most of the five minutes was dropped
  }
  expect(relay.out().split("\n").filter((l) => l.includes("MAX_QUEUED_AUDIO_S")).length).toBe(10);
}, 60000);
