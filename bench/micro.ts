// Micro-benchmarks for the audio hot path (mitata). `bun bench/micro.ts` prints ns/op; bench/run.ts imports runMicro().
// Figures are for comparison within one run only: the machine is a noisy shared VM.

import { bench, do_not_optimize, run } from "mitata";
import { BeepDetector } from "../src/audio/beep.ts";
import { measureFrame } from "../src/audio/frame-level.ts";
import { FrameQueue } from "../src/audio/frame-queue.ts";
import { OutboundLine } from "../src/call/outbound-line.ts";
import { Playout, type PlayoutSink } from "../src/audio/playout.ts";
import { SLAB_BYTES, SlabPool } from "../src/audio/pool.ts";
import { Resampler } from "../src/audio/resampler.ts";
import { Uplink } from "../src/audio/uplink.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { Recordings } from "../src/recordings/index.ts";
import { Tape, type TapeOut } from "../src/recordings/tape.ts";

function toneBytes(rate: number, ms: number, freq = 440): Buffer {
  const n = (rate * ms) / 1000;
  const b = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) b.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * freq * i) / rate)), i * 2);
  return b;
}

const RS_OUT_SAMPLES = 640; // one 40 ms chunk at 24 kHz → 640 samples at 16 kHz

export async function runMicro(): Promise<Record<string, number>> {
  // Resampler: one 40 ms chunk of 24 kHz model audio, steady state (state carried between iterations).
  const rs = new Resampler(24000, 16000);
  const chunk24 = toneBytes(24000, 40);
  const rsOut = Buffer.alloc(rs.maxOutputBytes(chunk24.length));
  bench("resample 24→16 kHz, 40 ms chunk", () => do_not_optimize(rs.process(chunk24, rsOut, 0)));

  const rs8 = new Resampler(24000, 8000);
  const rs8Out = Buffer.alloc(rs8.maxOutputBytes(chunk24.length));
  bench("resample 24→8 kHz, 40 ms chunk", () => do_not_optimize(rs8.process(chunk24, rs8Out, 0)));

  const up = new Uplink(8000, 16000);
  const frame8 = toneBytes(8000, 20);
  bench("uplink 8→16 kHz, 20 ms frame", () => do_not_optimize(up.process(frame8)));

  // Base64 of one 20 ms 16 kHz frame (640 B).
  const frame16 = toneBytes(16000, 20);
  const frame16u8 = new Uint8Array(frame16);
  bench("base64 20 ms frame: Buffer.toString('base64')", () => do_not_optimize(frame16.toString("base64")));
  bench("base64 20 ms frame: u8.toBase64()", () => do_not_optimize(frame16u8.toBase64()));

  // Uplink JSON: the template literal alone is a lazy rope (meaningless ~ns), so include the UTF-8 encode the
  // socket would do, into a reused buffer.
  const enc = new TextEncoder();
  const jsonOut = new Uint8Array(2048);
  bench("uplink JSON: template literal + toBase64 + encodeInto", () => {
    const s = `{"realtimeInput":{"audio":{"mimeType":"audio/pcm;rate=16000","data":"${frame16u8.toBase64()}"}}}`;
    do_not_optimize(enc.encodeInto(s, jsonOut).written);
  });
  bench("uplink JSON: JSON.stringify + encodeInto (for comparison)", () => {
    const s = JSON.stringify({ realtimeInput: { audio: { mimeType: "audio/pcm;rate=16000", data: frame16u8.toBase64() } } });
    do_not_optimize(enc.encodeInto(s, jsonOut).written);
  });

  // Playout buffer: steady-state write of one frame and read of one frame.
  const pool = new SlabPool(SLAB_BYTES, 16);
  const q = new FrameQueue(pool, 640);
  q.write(frame16, 0, 640); // keep one frame queued so the slab is not released every iteration
  bench("frame queue: write 640 B + read 1 frame", () => {
    q.write(frame16, 0, 640);
    do_not_optimize(q.readFrame());
  });
  const second = toneBytes(16000, 1000);
  bench("frame queue: write 1 s (32 000 B) + read all 50 frames", () => {
    q.write(second, 0, second.length);
    for (let i = 0; i < 50; i++) do_not_optimize(q.readFrame());
  });
  bench("frame queue: write 1 s (32 000 B) + flush", () => {
    q.write(second, 0, second.length);
    q.flush();
  });
  const q30 = new FrameQueue(pool, 640);
  const thirty = toneBytes(16000, 30000);
  bench("frame queue: write 30 s (960 000 B) + flush", () => {
    q30.write(thirty, 0, thirty.length);
    q30.flush();
  });

  // A whole Playout: 200 ms Gemini chunk in (resample + enqueue), then ten 20 ms pacing ticks out.
  const sink: PlayoutSink = { sendAudio: (f) => f.length, cork: (fn) => fn() };
  const p = new Playout({ outRate: 16000, leadMs: 160, tailMs: 200, pool });
  p.attach(sink);
  const gem200 = toneBytes(24000, 200);
  bench("playout: push 200 ms @24 kHz + 10 pacing ticks", () => {
    p.pushModelAudio(gem200, 24000);
    for (let i = 0; i < 10; i++) p.pace(20);
  });

  // Recording (RECORD_CALLS): the per-frame work of a recorded call, batching included (the interleave into a
  // batch every 300 ms, spread over the frames); the file writes themselves are asynchronous, off the call's path.
  // A call that does not record pays none of this: it has no tape.
  // Batches go into one reused array, as into the disk writer's round buffer.
  const discard = (): TapeOut => ({ words: new Int32Array(16000) /* the largest batch at 16 kHz */, reserve: () => 0 });
  const tapeCaller = new Tape({ rate: 16000, agentRate: 16000, start: 0, aheadMs: 222, out: discard() });
  let tc = 0;
  bench("recording: caller frame (20 ms @16 kHz)", () => {
    tc += 20;
    tapeCaller.caller(frame16, tc);
  });
  const tapeAgent = new Tape({ rate: 16000, agentRate: 16000, start: 0, aheadMs: 222, out: discard() });
  const agent60 = toneBytes(16000, 60);
  let ta = 0;
  bench("recording: agent frame (60 ms @16 kHz)", () => {
    ta += 60;
    tapeAgent.agent(agent60, 120, ta);
  });
  const tapeAgent24 = new Tape({ rate: 16000, agentRate: 24000, start: 0, aheadMs: 222, out: discard() });
  const agent60at24 = toneBytes(24000, 60);
  let ta24 = 0;
  bench("recording: agent frame (60 ms @24 kHz, resampled to 16 kHz)", () => {
    ta24 += 60;
    tapeAgent24.agent(agent60at24, 120, ta24);
  });
  // Outbound calls only (until the greeting, and with voicemail leave_message until the message starts, 45 s at
  // most): what a caller frame costs besides the scan every call makes (measureFrame, for comparison).
  const level = { ...measureFrame(frame16u8) };
  bench("caller frame scan (every call): measureFrame, 20 ms @16 kHz", () => do_not_optimize(measureFrame(frame16u8)));
  const beep = new BeepDetector(16000);
  bench("beep detector: 20 ms frame @16 kHz (outbound, voicemail leave_message)", () => beep.observe(frame16u8, level));
  const line = new OutboundLine({ rate: 16000, greeting: "", greetAfterMs: 1500, voicemail: { action: "leave_message", message: "m" }, greet: () => {}, leaveMessage: () => {} });
  line.awaitBeep(); // waiting for the beep: the detector never stops (a tone frame sounds forever here)
  bench("outbound line while waiting for the beep: 20 ms frame @16 kHz", () => line.observe(frame16u8, level));

  const res = await run({ format: "quiet" });
  const out: Record<string, number> = {};
  for (const t of res.benchmarks) {
    const r = t.runs[0];
    if (r?.stats) out[r.name] = round(r.stats.avg);
  }
  out["recording: CPU µs per recorded call-second, file writes included"] = await recordingCpu();
  const perChunk = out["resample 24→16 kHz, 40 ms chunk"];
  if (perChunk !== undefined) out["resample 24→16 kHz, per output sample"] = round(perChunk / RS_OUT_SAMPLES);
  const perChunk8 = out["resample 24→8 kHz, 40 ms chunk"];
  if (perChunk8 !== undefined) out["resample 24→8 kHz, per output sample"] = round(perChunk8 / (RS_OUT_SAMPLES / 2));
  return out;
}

/**
 * The whole cost of recording, both threads: 200 recorded calls, 10 s each of caller frames every 20 ms and an
 * agent speaking a third of the time, fed as fast as the loop goes; then every file is closed. Process CPU (user
 * + system, every thread) over the call-seconds recorded, in µs. Real files, in a throwaway directory.
 */
async function recordingCpu(calls = 200, seconds = 10): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "sauti-micro-rec-"));
  const log = pino({ level: "silent" });
  const recordings = new Recordings({ settings: { recordByDefault: true, notice: "", dir, s3: undefined }, callRate: 16000, log, maxBehindS: 3600 });
  let now = 0;
  const clock = { now: () => now };
  const done: Promise<void>[] = [];
  const frame = toneBytes(16000, 20);
  const agent = toneBytes(16000, 60);
  const c0 = process.cpuUsage();
  const taps = Array.from({ length: calls }, (_, i) => {
    let closed!: () => void;
    done.push(new Promise<void>((r) => (closed = r)));
    return recordings.factory({ callId: `micro-${i}`, callRate: 16000, playbackRate: 16000, aheadMs: 222, clock, log, report: (r) => r.status !== "recording" && closed() });
  });
  for (let step = 1; step <= seconds * 50; step++) {
    now = step * 20;
    const speaking = step % 150 < 50;
    for (const t of taps) {
      t.caller(frame);
      if (speaking && step % 3 === 0) t.agent(agent, 120);
    }
    if (step % 10 === 0) await Bun.sleep(1);
  }
  for (const t of taps) t.finish();
  await Promise.all(done);
  const c = process.cpuUsage(c0);
  await recordings.stop();
  rmSync(dir, { recursive: true, force: true });
  return round((c.user + c.system) / (calls * seconds));
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

if (import.meta.main) {
  const figures = await runMicro();
  const width = Math.max(...Object.keys(figures).map((k) => k.length));
  for (const [k, v] of Object.entries(figures)) console.log(`${k.padEnd(width)}  ${v.toFixed(2).padStart(12)} ${k.includes("µs per") ? "µs" : "ns/op"}`);
}
