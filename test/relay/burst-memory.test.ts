// Bounded playout over real sockets: ten calls whose model sends five minutes of audio in one burst hold at most
// MAX_QUEUED_AUDIO_S of it each, and the memory comes back when they end. RSS is read after a full GC.
import { afterEach, expect, test } from "bun:test";
import { tone } from "../../src/gemini/offline/voice.ts";
import { Caller, startHarness, until, type Harness } from "./harness.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const MiB = 1024 * 1024;
/** RSS after a full GC. Freed memory goes back to the OS with a delay, so it collects twice, some time apart. */
async function rss(): Promise<number> {
  Bun.gc(true);
  await Bun.sleep(300);
  Bun.gc(true);
  return process.memoryUsage().rss;
}

test("10 calls bursting 5 min of audio each hold at most MAX_QUEUED_AUDIO_S each, and give it back at the end", async () => {
  const maxQueuedS = 60;
  // One spy message per second of audio, sent back to back: the whole answer arrives in a few seconds.
  h = await startHarness(
    { MAX_QUEUED_AUDIO_S: String(maxQueuedS), CALLER_SILENCE_TIMEOUT_S: "0" },
    { burstMs: 1000, burstIntervalMs: 0 },
  );
  const hh = h;
  const fiveMinutes = tone(300_000, 440); // 24 kHz, 14.4 MB, shared by every call's spy session

  // Warm-up: one call taking a 20 s burst the same way, so code paths are compiled and the sockets' and the
  // allocator's buffers are at the size such traffic needs before the baseline is read.
  const w = await new Caller(await hh.streamUrlFor("HD_warm")).open();
  await until(() => hh.standin.sessions[0]?.ready === true, "warm-up session ready");
  hh.standin.sessions[0]!.speak({ pcm24: fiveMinutes.subarray(0, 20 * 48000), transcript: "" });
  await until(() => (hh.calls.calls()[0]?.stats().model.audioMessages ?? 0) >= 20, "warm-up burst taken in");
  w.ws.close();
  await until(() => hh.calls.activeCalls === 0, "warm-up ended");

  const before = await rss();
  const callers: Caller[] = [];
  for (let i = 0; i < 10; i++) callers.push(await new Caller(await hh.streamUrlFor(`HD_burst${i}`)).open());
  await until(() => hh.calls.activeCalls === 10 && hh.standin.sessions.slice(1).every((s) => s.ready), "10 calls up");
  for (const s of hh.standin.sessions.slice(1)) s.speak({ pcm24: fiveMinutes, transcript: "" });
  // Taken in: every call's leg decoded all 300 audio messages.
  await until(() => hh.calls.calls().every((c) => (c.stats().model.audioMessages ?? 0) >= 300), "bursts taken in", 20000);

  const held = (await rss()) - before;
  const perCall = maxQueuedS * 16000 * 2; // queued at the 16 kHz playback rate
  for (const c of hh.calls.calls()) {
    const a = c.stats().audio;
    expect(a.overflowTurns).toBe(1);
    expect(a.queuedMs).toBeLessThanOrEqual(maxQueuedS * 1000 + 400); // one resampler slice over, at most
    expect(a.overflowBytes).toBeGreaterThan(200 * 24000 * 2); // most of the five minutes was dropped
  }
  // The bursts are held at the cap (plus a little: sockets, decode buffers, the allocator's slack), not whole
  // (whole, they would be 10 × 9.6 MB at 16 kHz).
  expect(held).toBeLessThanOrEqual(10 * perCall + 16 * MiB);
  // One warning per call for the overflowing turn.
  const warnings = hh.logs.filter((l) => l.includes("MAX_QUEUED_AUDIO_S"));
  expect(warnings.length).toBe(10);

  for (const c of callers) c.ws.close(1000);
  await until(() => hh.calls.activeCalls === 0, "calls ended");
  const after = await rss();
  expect(after).toBeLessThanOrEqual(before * 1.1);
}, 30000);
