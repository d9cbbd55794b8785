// The softphone worklets' signal processing, outside the browser: the resampler is continuous across render
// quanta, keeps speech-band tones and removes what would alias, and the jitter buffer primes, plays, runs dry
// and flushes as the page relies on.
import { describe, expect, test } from "bun:test";
import { JitterBuffer, peakS16, StreamResampler } from "../../src/console/web/dsp.ts";

function sine(rate: number, hz: number, n: number, amp = 0.5): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = amp * Math.sin((2 * Math.PI * hz * i) / rate);
  return x;
}

/** Runs `x` through a resampler in blocks of `block` samples, as the audio thread does. */
function inBlocks(rs: StreamResampler, x: Float32Array, block: number): Float32Array {
  const out: number[] = [];
  const buf = new Float32Array(rs.maxOut(block));
  for (let i = 0; i < x.length; i += block) {
    const n = rs.process(x.subarray(i, Math.min(x.length, i + block)), buf);
    for (let k = 0; k < n; k++) out.push(buf[k]!);
  }
  return Float32Array.from(out);
}

function rms(x: Float32Array, from = 0): number {
  let s = 0;
  for (let i = from; i < x.length; i++) s += x[i]! * x[i]!;
  return Math.sqrt(s / (x.length - from));
}

describe("StreamResampler", () => {
  test("48 kHz → 16 kHz: one output sample per three input samples, however the input is cut into blocks", () => {
    const x = sine(48000, 440, 48000);
    const a = inBlocks(new StreamResampler(48000, 16000), x, 128);
    const b = inBlocks(new StreamResampler(48000, 16000), x, 48000);
    const c = inBlocks(new StreamResampler(48000, 16000), x, 37);
    expect(Math.abs(a.length - 16000)).toBeLessThanOrEqual(1);
    expect(b.length).toBe(a.length);
    expect(c.length).toBe(a.length);
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!), Math.abs(a[i]! - c[i]!));
    expect(worst).toBeLessThan(1e-5);
  });

  test("44.1 kHz → 16 kHz keeps the rate over a minute (fractional position carried, no drift)", () => {
    const rs = new StreamResampler(44100, 16000);
    const buf = new Float32Array(rs.maxOut(128));
    const block = new Float32Array(128);
    let out = 0;
    const blocks = (44100 * 60) / 128;
    for (let i = 0; i < Math.floor(blocks); i++) out += rs.process(block, buf);
    expect(Math.abs(out - Math.floor(blocks) * 128 * (16000 / 44100))).toBeLessThanOrEqual(2);
  });

  test("a speech-band tone passes at its level; a tone above the new Nyquist is removed instead of aliased", () => {
    const keep = inBlocks(new StreamResampler(48000, 16000), sine(48000, 1000, 24000), 128);
    expect(rms(keep, 800)).toBeGreaterThan(0.5 / Math.SQRT2 * 0.95);
    expect(rms(keep, 800)).toBeLessThan(0.5 / Math.SQRT2 * 1.05);
    // 12 kHz would fold to 4 kHz at 16 kHz sampling.
    const alias = inBlocks(new StreamResampler(48000, 16000), sine(48000, 12000, 24000), 128);
    expect(rms(alias, 800)).toBeLessThan(0.5 / Math.SQRT2 / 30); // < -30 dB
  });

  test("16 kHz → 48 kHz reproduces the waveform with its images filtered out", () => {
    const rate = 16000;
    const x = sine(rate, 500, 16000);
    const y = inBlocks(new StreamResampler(16000, 48000), x, 320);
    expect(Math.abs(y.length - 48000)).toBeLessThanOrEqual(3);
    expect(rms(y, 2400)).toBeGreaterThan(0.5 / Math.SQRT2 * 0.95);
    // Compare with the ideal 48 kHz sine, allowing for the filter's group delay by best alignment.
    const ideal = sine(48000, 500, y.length);
    let best = Infinity;
    for (let lag = 0; lag < 40; lag++) {
      let err = 0;
      for (let i = 4800; i < y.length - 100; i++) err += (y[i]! - ideal[i - lag]!) ** 2;
      best = Math.min(best, Math.sqrt(err / (y.length - 4900)));
    }
    expect(best).toBeLessThan(0.02);
  });

  test("reset() starts a new stream: same input, same output", () => {
    const rs = new StreamResampler(48000, 16000);
    const x = sine(48000, 300, 4800);
    const a = inBlocks(rs, x, 128);
    rs.reset();
    const b = inBlocks(rs, x, 128);
    expect(Array.from(b)).toEqual(Array.from(a));
  });
});

describe("JitterBuffer", () => {
  const RATE = 48000;
  const block = () => new Float32Array(128);
  const ones = (n: number) => new Float32Array(n).fill(1);

  test("waits for the target before it plays, then plays in order", () => {
    const jb = new JitterBuffer(RATE, 80, 2000);
    jb.push(ones(RATE * 0.04)); // 40 ms: below the 80 ms target
    const out = block();
    jb.pull(out);
    expect(out.every((v) => v === 0)).toBe(true);
    expect(jb.bufferedMs).toBeCloseTo(40, 5);
    jb.push(ones(RATE * 0.04));
    jb.pull(out);
    expect(out.every((v) => v === 1)).toBe(true);
    expect(jb.bufferedMs).toBeCloseTo(80 - (128 / RATE) * 1000, 5);
  });

  test("a short sound alone still plays once it has waited the target", () => {
    const jb = new JitterBuffer(RATE, 80, 2000);
    jb.push(ones(256));
    const out = block();
    let heard = 0;
    for (let i = 0; i < 40; i++) {
      jb.pull(out);
      heard += out.filter((v) => v === 1).length;
    }
    expect(heard).toBe(256);
    expect(jb.underruns).toBe(1);
  });

  test("running dry mid-block pads with silence and primes again", () => {
    const jb = new JitterBuffer(RATE, 10, 2000);
    jb.push(ones(480 + 64)); // 10 ms + 64 samples
    const out = block();
    for (let i = 0; i < 4; i++) jb.pull(out);
    jb.pull(out);
    expect(out.slice(0, 32).every((v) => v === 1)).toBe(true);
    expect(out.slice(32).every((v) => v === 0)).toBe(true);
    expect(jb.underruns).toBe(1);
    jb.push(ones(100));
    jb.pull(out);
    expect(out.every((v) => v === 0)).toBe(true); // priming again
  });

  test("flush drops everything at once and reports how much", () => {
    const jb = new JitterBuffer(RATE, 80, 2000);
    jb.push(ones(RATE * 0.3));
    const out = block();
    jb.pull(out);
    expect(jb.flush()).toBeCloseTo(300 - (128 / RATE) * 1000, 5);
    expect(jb.bufferedMs).toBe(0);
    jb.push(ones(RATE * 0.05));
    jb.pull(out);
    expect(out.every((v) => v === 0)).toBe(true); // primes from scratch after a flush
  });

  test("overflow drops the oldest audio and counts it", () => {
    const jb = new JitterBuffer(RATE, 80, 200);
    const a = new Float32Array(RATE * 0.15).fill(0.25);
    const b = new Float32Array(RATE * 0.15).fill(0.5);
    jb.push(a);
    jb.push(b);
    expect(jb.bufferedMs).toBeCloseTo(200, 5);
    expect(jb.overflowed).toBe(RATE * 0.1);
    const out = new Float32Array(RATE * 0.05);
    jb.pull(out);
    expect(out.every((v) => v === 0.25)).toBe(true);
    jb.pull(out);
    jb.pull(out);
    expect(out.every((v) => v === 0.5)).toBe(true);
  });
});

test("peakS16", () => {
  expect(peakS16(new Int16Array([0, 100, -16384, 200]))).toBe(0.5);
  expect(peakS16(new Int16Array(0))).toBe(0);
});
