// A recorded Call end to end on a fake clock: real playout and pacer, a media server that plays what it is sent
// the way the far-buffer model says (killAudio drops what has not played), and a real WAV file. The caller's
// microphone "hears" every agent marker at the moment the media server plays it, so in a correct recording the
// two lanes have each marker at the same place; the long test measures how far apart they are after 15 minutes.
import { afterAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { HEADER_BYTES } from "../../src/recordings/wav.ts";
import { until } from "../support/wait.ts";
import { MARK, marked, onsets, readRecording, recordedCall, recordingsIn, scratchDir } from "./support.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function dir(label: string): string {
  const d = scratchDir(label);
  dirs.push(d);
  return d;
}

const RATE = 16000;
const STEP_MS = 20;
const FRAME_BYTES = (RATE / 1000) * STEP_MS * 2;

interface Script {
  minutes: number;
  /** Turn starts every this many seconds. */
  turnEveryS: number;
  /** Every n-th turn is cut by a barge-in 1 s in (0 = never). */
  bargeEvery: number;
  playbackRate?: number;
}

/**
 * Drives a recorded call: caller frames every 20 ms (silence, plus a burst wherever the media server played an agent
 * marker during that frame), agent turns of 3 s with markers at 0.5, 1.1 and 2.5 s. Some caller frames come late
 * in bursts (network jitter), and once the stream stops for a second (frames lost).
 */
async function drive(s: Script) {
  const d = dir("long");
  // The fake clock runs the call far faster than real time: the disk may fall behind by the whole call here.
  const { recordings } = recordingsIn(d, {}, { maxBehindS: 3600 });
  const c = recordedCall({ recordings, settings: { playbackRate: (s.playbackRate ?? RATE) as 8000 | 16000 | 24000 } });
  const { call, clock, leg, media } = c;
  const t0 = clock.now();
  const steps = (s.minutes * 60_000) / STEP_MS;
  const turnEvery = (s.turnEveryS * 1000) / STEP_MS;
  let heardUpTo = 0; // markers of the media server already put into caller frames
  const held: Buffer[] = [];
  let turns = 0;
  let cutAt = -1;
  for (let k = 1; k <= steps; k++) {
    // Agent turns start 5 s into each period; every bargeEvery-th is interrupted at 1 s.
    if (k % turnEvery === 250) {
      turns++;
      leg.play(marked(3000, [500, 1100, 2500], c.settings.playbackRate));
      if (s.bargeEvery > 0 && turns % s.bargeEvery === 0) cutAt = k + 50;
      else leg.turnComplete();
    }
    if (k === cutAt) {
      leg.interrupted();
      leg.turnComplete();
    }
    clock.advance(STEP_MS);
    const now = clock.now();
    // The caller frame that ends now: a burst wherever an agent marker played in [now - 20, now).
    const frame = Buffer.alloc(FRAME_BYTES);
    const heard = media.heardMarkers();
    for (; heardUpTo < heard.length && heard[heardUpTo]! < now; heardUpTo++) {
      const at = Math.round(((heard[heardUpTo]! - (now - STEP_MS)) * RATE) / 1000);
      for (let i = 0; i < 32 && at + i < FRAME_BYTES / 2; i++) frame.writeInt16LE(MARK, (at + i) * 2);
    }
    const inPeriod = k % 500;
    // Once, at 7 min: a second of the stream lost (between turns).
    if (k >= 21000 && k < 21050) continue;
    // Every 10 s: three frames held up and delivered with the fourth.
    if (inPeriod >= 400 && inPeriod < 403) {
      held.push(frame);
      continue;
    }
    for (const h of held.splice(0)) call.onAudio(h);
    call.onAudio(frame);
    if (k % 250 === 0) await Bun.sleep(1); // let the writes go out
  }
  const heardMarkers = media.heardMarkers();
  call.onClose(1000, "");
  await until(() => c.reports().some((r) => r.status !== "recording"), "the recording is closed", 30_000);
  const final = c.reports().at(-1)!;
  return { final, heardMarkers, turns, t0, clock, lines: c.lines, c };
}

describe("a recorded call", () => {
  test("15 minutes: both lanes keep each marker together to within a frame (measured at the end), barged-in audio is not in it, the silence between turns is", async () => {
    const { final, heardMarkers, turns } = await drive({ minutes: 15, turnEveryS: 10, bargeEvery: 3 });
    expect(final.error).toBeNull();
    expect(final.status).toBe("ready");
    const w = readRecording(final.location!);
    expect(w.rate).toBe(RATE);
    expect(w.channels).toBe(2);
    expect(w.size).toBe(HEADER_BYTES + w.dataBytes);
    expect(final.bytes).toBe(w.size);
    // The whole call, silence included.
    expect(Math.abs(final.durationMs - 15 * 60_000)).toBeLessThan(100);
    expect(Math.abs(w.dataBytes / 4 / RATE - 15 * 60)).toBeLessThan(0.1);

    const agent = onsets(w.right);
    const caller = onsets(w.left);
    // Cut turns lose their 1.1 s marker (sent, still in the far buffer at the cut) and their 2.5 s one.
    const cut = Math.floor(turns / 3);
    expect(heardMarkers.length).toBe(turns * 3 - cut * 2);
    expect(agent.length).toBe(heardMarkers.length);
    expect(caller.length).toBe(heardMarkers.length);
    const offsets = agent.map((a, i) => a - caller[i]!);
    const worst = Math.max(...offsets.map(Math.abs));
    const last = offsets.at(-1)!;
    process.stderr.write(`recording alignment after 15 min: last marker ${last} samples apart, worst ${worst} samples (one 20 ms frame = ${RATE / 50})\n`);
    // Within one frame (20 ms); the model and the clock agree exactly here, so it is in fact within a sample.
    expect(Math.abs(last)).toBeLessThanOrEqual(RATE / 50);
    expect(worst).toBeLessThanOrEqual(RATE / 50);
    expect(worst).toBeLessThanOrEqual(1);
    // The last marker sits where it played: about 15 min minus the last turn's 0.5 s.
    expect(agent.at(-1)! / RATE).toBeGreaterThan(14 * 60);
  }, 120_000);

  test("a 24 kHz playback is resampled into the 16 kHz recording and stays aligned", async () => {
    const { final } = await drive({ minutes: 1, turnEveryS: 10, bargeEvery: 2, playbackRate: 24000 });
    const w = readRecording(final.location!);
    const agent = onsets(w.right);
    const caller = onsets(w.left);
    expect(agent.length).toBe(caller.length);
    expect(agent.length).toBeGreaterThan(6);
    // The resampling filter delays by a few samples.
    for (let i = 0; i < agent.length; i++) expect(Math.abs(agent[i]! - caller[i]!)).toBeLessThan(32);
  }, 60_000);

  test("with a media server that ignores killAudio (SEND_KILL_AUDIO=false) what it kept playing after a barge-in stays in the recording", async () => {
    const d = dir("nokill");
    const { recordings } = recordingsIn(d);
    const c = recordedCall({ recordings, honoursKill: false });
    for (let k = 1; k <= 50; k++) {
      c.clock.advance(20);
      c.call.onAudio(Buffer.alloc(FRAME_BYTES));
    }
    c.leg.play(marked(1000, [100], RATE));
    c.clock.advance(20);
    c.call.onAudio(Buffer.alloc(FRAME_BYTES));
    c.leg.interrupted(); // the marker at 100 ms was sent (lead 160 ms) but had not played
    for (let k = 1; k <= 50; k++) {
      c.clock.advance(20);
      c.call.onAudio(Buffer.alloc(FRAME_BYTES));
    }
    c.call.onClose(1000, "");
    await until(() => c.reports().some((r) => r.status === "ready"), "closed");
    const w = readRecording(c.reports().at(-1)!.location!);
    expect(c.media.heardMarkers()).toHaveLength(1);
    expect(onsets(w.right)).toHaveLength(1);
  });

  test("a call whose agent does not record opens no recording and writes nothing; record: true does", async () => {
    const d = dir("off");
    const { recordings } = recordingsIn(d);
    let opened = 0;
    const factory = recordings.factory;
    const counting = Object.assign(Object.create(recordings), {
      factory: (r: Parameters<typeof factory>[0]) => {
        opened++;
        return factory(r);
      },
    });
    const off = recordedCall({ recordings: counting, agent: { record: false } });
    const missing = recordedCall({ recordings: counting, agent: { record: undefined } });
    for (const c of [off, missing]) {
      for (let k = 1; k <= 20; k++) {
        c.clock.advance(20);
        c.call.onAudio(Buffer.alloc(FRAME_BYTES));
      }
      c.call.onClose(1000, "");
    }
    expect(opened).toBe(0);
    expect(off.reports()).toEqual([]);
    expect(recordings.active).toBe(0);
    const on = recordedCall({ recordings: counting, callId: "rec-on" });
    expect(opened).toBe(1);
    on.call.onClose(1000, "");
    await until(() => on.reports().some((r) => r.status === "ready"), "closed");
    const { readdirSync } = await import("node:fs");
    expect(readdirSync(d)).toEqual(["rec-on.wav"]);
  });
});
