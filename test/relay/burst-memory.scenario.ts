// The burst-memory scenario, run in a process of its own by burst-memory.test.ts: RSS is a whole-process figure,
// and in the test runner's process every other test file's garbage would be in it. Prints one JSON line.
import { tone } from "../../src/gemini/offline/voice.ts";
import { Caller, startHarness, until } from "./harness.ts";

/** RSS after a full GC. Freed memory goes back to the OS with a delay, so it collects twice, some time apart. */
async function rss(): Promise<number> {
  Bun.gc(true);
  await Bun.sleep(300);
  Bun.gc(true);
  return process.memoryUsage().rss;
}

const maxQueuedS = 60;
// One spy message per second of audio, sent back to back: the whole answer arrives in a few seconds.
const hh = await startHarness({ MAX_QUEUED_AUDIO_S: String(maxQueuedS), CALLER_SILENCE_TIMEOUT_S: "0" }, { burstMs: 1000, burstIntervalMs: 0 });
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
const audio = hh.calls.calls().map((c) => c.stats().audio);
const warnings = hh.logs.filter((l) => l.includes("MAX_QUEUED_AUDIO_S")).length;

for (const c of callers) c.ws.close(1000);
await until(() => hh.calls.activeCalls === 0, "calls ended");
await Bun.sleep(200);
const after = await rss();
await hh.stop();
console.log(JSON.stringify({ maxQueuedS, before, held, after, warnings, audio }));
process.exit(0);
