// Bounded playout over real sockets: ten calls whose model sends five minutes of audio in one burst hold at most
// MAX_QUEUED_AUDIO_S of it each, and the memory comes back when they end. RSS is read after a full GC, in a
// process of its own (burst-memory.scenario.ts), so no other test's garbage is in the figures.
import { expect, test } from "bun:test";

const MiB = 1024 * 1024;

test("10 calls bursting 5 min of audio each hold at most MAX_QUEUED_AUDIO_S each, and give it back at the end", async () => {
  const p = Bun.spawn([process.execPath, `${import.meta.dir}/burst-memory.scenario.ts`], { stdout: "pipe", stderr: "pipe", env: process.env });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`scenario failed (${code}): ${err.slice(-2000)}`);
  const r = JSON.parse(out.trim().split("\n").at(-1)!) as {
    maxQueuedS: number;
    before: number;
    held: number;
    after: number;
    warnings: number;
    audio: Array<{ overflowTurns: number; queuedMs: number; overflowBytes: number }>;
  };
  expect(r.audio.length).toBe(10);
  for (const a of r.audio) {
    expect(a.overflowTurns).toBe(1);
    expect(a.queuedMs).toBeLessThanOrEqual(r.maxQueuedS * 1000 + 400); // one resampler slice over, at most
    expect(a.overflowBytes).toBeGreaterThan(200 * 24000 * 2); // most of the five minutes was dropped
  }
  // The bursts are held at the cap (plus a little: sockets, decode buffers, the allocator's slack), not whole
  // (whole, they would be 10 × 9.6 MB at 16 kHz).
  const perCall = r.maxQueuedS * 16000 * 2; // queued at the 16 kHz playback rate
  expect(r.held).toBeLessThanOrEqual(10 * perCall + 16 * MiB);
  // One warning per call for the overflowing turn.
  expect(r.warnings).toBe(10);
  // And it comes back once they end.
  expect(r.after).toBeLessThanOrEqual(r.before * 1.1);
}, 60000);
