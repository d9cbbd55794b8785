// The tape on its own: where caller and agent audio land on the timeline, what a barge-in erases, how a paused or
// jittery caller stream is placed, and that audio leaves in batches, never frame by frame.
import { describe, expect, test } from "bun:test";
import { BATCH_MS, HOLD_MS, Tape, type TapeOut } from "../../src/recordings/tape.ts";

const RATE = 16000;
const S = RATE / 1000; // samples per ms

/** An output that gathers each batch in a buffer of its own (the tape fills it right after reserving it). */
function gather(batches: Buffer[]): TapeOut {
  let words = new Int32Array(0);
  return {
    get words() {
      return words;
    },
    reserve(frames) {
      words = new Int32Array(frames);
      batches.push(Buffer.from(words.buffer));
      return 0;
    },
  };
}

/** A tape whose batches are gathered; `left()`/`right()` are the lanes emitted so far. */
function tape(o: { agentRate?: number; start?: number } = {}) {
  const batches: Buffer[] = [];
  const t = new Tape({ rate: RATE, agentRate: o.agentRate ?? RATE, start: o.start ?? 0, aheadMs: 222, out: gather(batches) });
  const lane = (ch: 0 | 1): Int16Array => {
    const all = Buffer.concat(batches);
    const pcm = new Int16Array(all.buffer, all.byteOffset, all.length / 2);
    const out = new Int16Array(pcm.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = pcm[2 * i + ch]!;
    return out;
  };
  return { t, batches, left: () => lane(0), right: () => lane(1) };
}

/** `ms` of a constant value, S16LE. */
function level(ms: number, v: number, rate = RATE): Buffer {
  const n = (rate * ms) / 1000;
  const b = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) b.writeInt16LE(v, i * 2);
  return b;
}

/** Index of the first sample at or after `from` whose magnitude is at least `min`; -1 if none. */
function onset(x: Int16Array, from = 0, min = 1): number {
  for (let i = from; i < x.length; i++) if (Math.abs(x[i]!) >= min) return i;
  return -1;
}

describe("tape", () => {
  test("caller frames follow each other, each ending where it arrived; everything comes out at the end", () => {
    const { t, left, right } = tape();
    for (let k = 1; k <= 100; k++) t.caller(level(20, k), k * 20);
    t.end(2000);
    const l = left();
    expect(l.length).toBe(2000 * S);
    // Frame k covers [(k-1)·20, k·20) ms exactly.
    for (const k of [1, 2, 50, 100]) {
      expect(l[(k - 1) * 20 * S]).toBe(k);
      expect(l[k * 20 * S - 1]).toBe(k);
    }
    expect(onset(right())).toBe(-1);
  });

  test("agent frames land at send time plus the far-buffer estimate: a burst sent at once plays one after another", () => {
    const { t, left, right } = tape();
    for (let k = 1; k <= 20; k++) t.caller(level(20, 1), k * 20);
    // At 400 ms three 60 ms frames go out at once (the lead), far 0, 60, 120; then one per 60 ms, far back at 120.
    t.agent(level(60, 100), 0, 400);
    t.agent(level(60, 200), 60, 400);
    t.agent(level(60, 300), 120, 400);
    t.agent(level(60, 400), 120, 460);
    for (let k = 21; k <= 50; k++) t.caller(level(20, 1), k * 20);
    t.end(1000);
    const r = right();
    expect(onset(r)).toBe(400 * S);
    expect(r[400 * S]).toBe(100);
    expect(r[460 * S]).toBe(200);
    expect(r[520 * S]).toBe(300);
    expect(r[580 * S]).toBe(400);
    expect(r[640 * S - 1]).toBe(400);
    expect(r[640 * S]).toBe(0);
    expect(left().length).toBe(1000 * S);
  });

  test("a barge-in erases what was sent but had not played; what played stays", () => {
    const { t, right } = tape();
    for (let k = 1; k <= 10; k++) t.caller(level(20, 1), k * 20);
    t.agent(level(60, 100), 0, 200);
    t.agent(level(60, 200), 60, 200);
    t.agent(level(60, 300), 120, 200);
    t.cut(230); // 30 ms of the first frame played
    for (let k = 11; k <= 40; k++) t.caller(level(20, 1), k * 20);
    t.end(800);
    const r = right();
    expect(r[200 * S]).toBe(100);
    expect(r[230 * S - 1]).toBe(100);
    expect(onset(r, 230 * S)).toBe(-1);
  });

  test("the agent speaking at the end of the call: only what played by the end is kept", () => {
    const { t, right } = tape();
    for (let k = 1; k <= 10; k++) t.caller(level(20, 1), k * 20);
    t.agent(level(60, 100), 0, 200);
    t.agent(level(60, 200), 60, 200);
    t.end(240);
    const r = right();
    expect(r.length).toBe(240 * S);
    expect(r[239 * S]).toBe(100);
  });

  test("a late caller frame (jitter within the hold) still follows its predecessor; a pause longer than that leaves silence", () => {
    const { t, left } = tape();
    for (let k = 1; k <= 10; k++) t.caller(level(20, k), k * 20);
    // Frames 11-13 held up in the network, delivered with 14 at 280 ms (60 ms late): no gap.
    for (let k = 11; k <= 14; k++) t.caller(level(20, k), 280);
    for (let k = 15; k <= 20; k++) t.caller(level(20, k), k * 20);
    // The stream stops for 1 s (frames 21-70 never sent), then goes on.
    for (let k = 71; k <= 100; k++) t.caller(level(20, k), k * 20);
    t.end(2000);
    const l = left();
    for (const k of [11, 13, 14, 20]) expect(l[(k - 1) * 20 * S + 5]).toBe(k);
    // Silence where the stream paused, and frame 71 at its own time again.
    expect(l[21 * 20 * S]).toBe(0);
    expect(l[69 * 20 * S]).toBe(0);
    expect(l[70 * 20 * S + 5]).toBe(71);
    expect(l.length).toBe(2000 * S);
  });

  test("a caller stream ahead of the clock moves the timeline to it (the first frames came late, the rest on time)", () => {
    const { t, left, right } = tape();
    // The stream starts at 200 ms: frame k covers [200 + 20(k-1), 200 + 20k). Frames 1-3 are held up and arrive
    // together at 300 ms; from frame 4 on each arrives as it ends.
    for (let k = 1; k <= 3; k++) t.caller(level(20, k), 300);
    for (let k = 4; k <= 10; k++) t.caller(level(20, k), 200 + k * 20);
    // An agent frame sent to an empty buffer at 400 ms plays at 400 ms, beside caller frame 11 ([400, 420)).
    t.agent(level(20, 500), 0, 400);
    for (let k = 11; k <= 40; k++) t.caller(level(20, k), 200 + k * 20);
    t.end(1000);
    const l = left();
    const agentAt = onset(right());
    expect(l[agentAt]).toBe(11);
    expect(l[agentAt + 20 * S - 1]).toBe(11);
    expect(l[agentAt - 1]).toBe(10);
    // The first frame had been 80 ms late: the timeline moved by that much.
    expect(t.shiftedSamples).toBe(80 * S);
  });

  test("an agent at 24 kHz is resampled to the call's rate", () => {
    const { t, right } = tape({ agentRate: 24000 });
    for (let k = 1; k <= 10; k++) t.caller(level(20, 1), k * 20);
    t.agent(level(60, 10000, 24000), 0, 200);
    t.agent(level(60, 10000, 24000), 60, 200);
    for (let k = 11; k <= 30; k++) t.caller(level(20, 1), k * 20);
    t.end(600);
    const r = right();
    // About 120 ms at 16 kHz, from 200 ms (the filter's delay is a few samples).
    let n = 0;
    for (const v of r) if (Math.abs(v) > 5000) n++;
    expect(Math.abs(n - 120 * S)).toBeLessThan(40);
    expect(Math.abs(onset(r, 0, 5000) - 200 * S)).toBeLessThan(40);
  });

  test("audio leaves in batches of about BATCH_MS, HOLD_MS behind the clock, never frame by frame", () => {
    const { t, batches } = tape();
    for (let k = 1; k <= 500; k++) t.caller(level(20, 1), k * 20); // 10 s
    const n = batches.length;
    expect(n).toBeGreaterThanOrEqual(Math.floor((10_000 - HOLD_MS) / BATCH_MS) - 1);
    expect(n).toBeLessThanOrEqual(Math.ceil(10_000 / BATCH_MS));
    for (const b of batches) expect(b.length / 4).toBeGreaterThanOrEqual(BATCH_MS * S);
    const out = batches.reduce((a, b) => a + b.length / 4, 0);
    expect(out).toBeLessThanOrEqual((10_000 - HOLD_MS) * S);
    expect(out).toBeGreaterThan((10_000 - HOLD_MS - BATCH_MS - 20) * S);
  });

  test("odd chunk lengths and batch edges: every sample lands in its lane unchanged", () => {
    const { t, left, right } = tape();
    const n = 333; // odd: batches start and end on odd positions
    const expectLeft: number[] = [];
    const expectRight = new Map<number, number>();
    for (let k = 0; k < 60; k++) {
      const c = Buffer.alloc(n * 2);
      for (let i = 0; i < n; i++) {
        const v = ((k * n + i) % 30000) - 15000;
        c.writeInt16LE(v, i * 2);
        expectLeft.push(v);
      }
      const now = ((k + 1) * n) / S;
      t.caller(c, now);
      const a = Buffer.alloc(111 * 2);
      for (let i = 0; i < 111; i++) {
        const v = -((k * 111 + i) % 20000) - 1;
        a.writeInt16LE(v, i * 2);
        expectRight.set((k + 1) * n + i, v);
      }
      t.agent(a, 0, now);
    }
    t.end((61 * n) / S);
    const l = left();
    const r = right();
    expect(Array.from(l.subarray(0, expectLeft.length))).toEqual(expectLeft);
    let wrong = 0;
    for (let i = 0; i < r.length; i++) if (r[i] !== (expectRight.get(i) ?? 0)) wrong++;
    expect(wrong).toBe(0);
  });

  test("a long silence after a pause is written in pieces, not one huge buffer", () => {
    const { t, batches } = tape();
    t.caller(level(20, 1), 20);
    t.caller(level(20, 1), 60_020); // a minute later
    t.end(60_020);
    expect(Math.max(...batches.map((b) => b.length))).toBeLessThanOrEqual(1000 * S * 4);
    expect(batches.reduce((a, b) => a + b.length / 4, 0)).toBe(60_020 * S);
  });
});
