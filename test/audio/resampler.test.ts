import { describe, expect, test } from "bun:test";
import { Resampler } from "../../src/audio/resampler.ts";
import { Uplink } from "../../src/audio/uplink.ts";
import { oneShot } from "./one-shot.ts";
import { concat, db, fromBytes, goertzelAmp, prng, risingCrossings, rms, tone, toBytes, zeroCrossFreq } from "../support/signal.ts";

/** A one-shot resample (one-shot.ts), fed in random-sized chunks instead (odd sizes included, so samples get split across calls). */
function chunked(inRate: number, outRate: number, x: Int16Array, seed: number, maxChunk = 997): Int16Array {
  const r = new Resampler(inRate, outRate);
  const bytes = toBytes(x);
  const rnd = prng(seed);
  const parts: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; ) {
    const len = Math.min(bytes.length - i, 1 + Math.floor(rnd() * maxChunk));
    const out = new Uint8Array(r.maxOutputBytes(len));
    const n = r.process(bytes.subarray(i, i + len), out, 0);
    parts.push(out.slice(0, n));
    i += len;
  }
  const tail = new Uint8Array(r.maxFlushBytes());
  parts.push(tail.slice(0, r.flush(tail, 0)));
  return fromBytes(concat(parts));
}

const settle = (rate: number) => Math.round(rate * 0.02); // skip 20 ms at each end: filter settling

describe("Resampler 24 kHz → 16 kHz", () => {
  test("1 kHz tone keeps its frequency within 0.1 % and its duration within one frame", () => {
    // 100 ms silence, 500 ms tone, 100 ms silence.
    const x = new Int16Array(24000 * 0.7);
    x.set(tone(24000, 1000, 0.5), 2400);
    const y = oneShot(24000, 16000, x);
    const s = settle(16000);
    const f = zeroCrossFreq(y, 16000, 1600 + s, 1600 + 8000 - s);
    expect(Math.abs(f - 1000) / 1000).toBeLessThan(0.001);
    // Duration: total length is exactly 2/3 of the input plus the short filter tail (< one 20 ms frame)…
    expect(y.length).toBeGreaterThanOrEqual((x.length * 2) / 3);
    expect(y.length - (x.length * 2) / 3).toBeLessThan(320);
    // …and the tone itself (first to last rising crossing, + one period) spans 500 ms within one frame.
    const t = risingCrossings(y);
    const span = (t[t.length - 1]! - t[0]! + 16) / 16000;
    expect(Math.abs(span - 0.5)).toBeLessThan(0.02);
  });

  test("10 kHz tone (would alias to 6 kHz) is attenuated by at least 50 dB", () => {
    const x = tone(24000, 10000, 1);
    const y = oneShot(24000, 16000, x);
    const s = settle(16000);
    const att = db(rms(y, s, 16000 - s) / rms(x));
    expect(att).toBeLessThan(-50);
    // Nothing at the alias frequency either (rms of the rounded output may be 0 → -Infinity, still fine).
    expect(db(goertzelAmp(y, 16000, 6000, s, 16000 - s) / 10000)).toBeLessThan(-50);
  });

  test("3 kHz tone passes within 1 dB", () => {
    const x = tone(24000, 3000, 1);
    const y = oneShot(24000, 16000, x);
    const s = settle(16000);
    const gain = db(rms(y, s, 16000 - s) / rms(x));
    expect(Math.abs(gain)).toBeLessThan(1);
    expect(Math.abs(zeroCrossFreq(y, 16000, s, 16000 - s) - 3000)).toBeLessThan(3);
  });

  test("chunked input split at random odd byte counts equals the one-shot output exactly", () => {
    const x = concat([toBytes(tone(24000, 1000, 0.3)), toBytes(tone(24000, 2500, 0.3, 20000))]);
    const xs = fromBytes(x);
    const whole = oneShot(24000, 16000, xs);
    for (const seed of [1, 2, 3]) {
      const parts = chunked(24000, 16000, xs, seed);
      expect(parts.length).toBe(whole.length);
      expect(Buffer.from(parts.buffer).equals(Buffer.from(whole.buffer))).toBe(true);
    }
    // Splitting into 1-byte pieces is the extreme case of the odd-byte carry.
    const tiny = chunked(24000, 16000, xs.subarray(0, 2400), 9, 1);
    expect(Array.from(tiny)).toEqual(Array.from(oneShot(24000, 16000, xs.subarray(0, 2400))));
  });

  test("no step between chunks larger than the signal's own sample-to-sample change", () => {
    const x = tone(24000, 1000, 0.5);
    const y = chunked(24000, 16000, x, 42, 480);
    const s = settle(16000);
    let maxStep = 0;
    for (let i = s + 1; i < y.length - s; i++) maxStep = Math.max(maxStep, Math.abs(y[i]! - y[i - 1]!));
    // A 1 kHz sine of amplitude A sampled at 16 kHz changes by at most 2·A·sin(π·1000/16000) per sample.
    expect(maxStep).toBeLessThanOrEqual(Math.ceil(2 * 10000 * Math.sin(Math.PI / 16)) + 2);
  });

  test("reset() forgets history: output after reset equals a fresh resampler's", () => {
    const r = new Resampler(24000, 16000);
    const out = new Uint8Array(8192);
    r.process(toBytes(tone(24000, 1000, 0.05, 30000)), out, 0);
    r.process(new Uint8Array([7]), out, 0); // leave an odd byte carried
    r.reset();
    const x = toBytes(tone(24000, 440, 0.05));
    const n1 = r.process(x, out, 0);
    const a = out.slice(0, n1);
    const fresh = new Resampler(24000, 16000);
    const n2 = fresh.process(x, out, 0);
    expect(n1).toBe(n2);
    expect(Buffer.from(a).equals(Buffer.from(out.subarray(0, n2)))).toBe(true);
  });

  test("rejects a target that could overflow", () => {
    const r = new Resampler(24000, 16000);
    expect(() => r.process(new Uint8Array(960), new Uint8Array(100), 0)).toThrow(RangeError);
  });
});

describe("Resampler other ratios", () => {
  test("24 kHz → 8 kHz: 1 kHz keeps frequency, 5 kHz (above 4 kHz Nyquist) is attenuated ≥ 50 dB", () => {
    const s = settle(8000);
    const y1 = oneShot(24000, 8000, tone(24000, 1000, 1));
    expect(Math.abs(zeroCrossFreq(y1, 8000, s, 8000 - s) - 1000)).toBeLessThan(1);
    expect(Math.abs(db(rms(y1, s, 8000 - s) / rms(tone(24000, 1000, 1))))).toBeLessThan(1);
    const x5 = tone(24000, 5000, 1);
    const y5 = oneShot(24000, 8000, x5);
    expect(db((rms(y5, s, 8000 - s) + 1e-9) / rms(x5))).toBeLessThan(-50);
  });

  test("8 kHz → 16 kHz: 1 kHz keeps frequency and level; its 7 kHz image is ≥ 50 dB down", () => {
    const x = tone(8000, 1000, 1);
    const y = oneShot(8000, 16000, x);
    const s = settle(16000);
    expect(y.length).toBe(16000 + Math.floor((y.length - 16000) / 2) * 2); // 2 outputs per input (+ tail)
    expect(Math.abs(zeroCrossFreq(y, 16000, s, 16000 - s) - 1000)).toBeLessThan(1);
    const a1 = goertzelAmp(y, 16000, 1000, s, 16000 - s);
    expect(Math.abs(db(a1 / 10000))).toBeLessThan(1);
    expect(db(goertzelAmp(y, 16000, 7000, s, 16000 - s) / a1)).toBeLessThan(-50);
  });

  test("16 kHz → 8 kHz: 3 kHz passes within 1 dB, 6 kHz attenuated ≥ 50 dB", () => {
    const s = settle(8000);
    const x3 = tone(16000, 3000, 1);
    expect(Math.abs(db(rms(oneShot(16000, 8000, x3), s, 8000 - s) / rms(x3)))).toBeLessThan(1);
    const x6 = tone(16000, 6000, 1);
    expect(db((rms(oneShot(16000, 8000, x6), s, 8000 - s) + 1e-9) / rms(x6))).toBeLessThan(-50);
  });

  test("equal rates pass bytes through unchanged, carrying an odd byte", () => {
    const r = new Resampler(16000, 16000);
    const x = toBytes(tone(16000, 1000, 0.01));
    const out = new Uint8Array(x.length + 2);
    let n = r.process(x.subarray(0, 101), out, 0);
    expect(n).toBe(100);
    n += r.process(x.subarray(101), out, n);
    expect(n).toBe(x.length);
    expect(Buffer.from(out.subarray(0, n)).equals(Buffer.from(x))).toBe(true);
  });
});

describe("Uplink", () => {
  test("16 kHz calls get the very same view back", () => {
    const u = new Uplink(16000, 16000);
    const pcm = new Uint8Array(640);
    expect(u.process(pcm)).toBe(pcm);
  });

  test("8 kHz calls are upsampled to 16 kHz, continuous across frames, reusing one output view", () => {
    const u = new Uplink(8000, 16000);
    const x = toBytes(tone(8000, 1000, 1));
    const parts: Uint8Array[] = [];
    let first: Uint8Array | null = null;
    for (let i = 0; i < x.length; i += 320) {
      const out = u.process(x.subarray(i, i + 320));
      expect(out.length).toBe(640); // 20 ms at 16 kHz
      first ??= out;
      expect(out).toBe(first); // same view object every frame: no per-frame allocation
      parts.push(new Uint8Array(out)); // copy: Buffer.slice() would be a view
    }
    const y = fromBytes(concat(parts));
    const s = settle(16000);
    expect(Math.abs(zeroCrossFreq(y, 16000, s, y.length - s) - 1000)).toBeLessThan(1);
    // Chunked through the uplink equals the one-shot resample (minus the flushed tail).
    const whole = oneShot(8000, 16000, fromBytes(x)).subarray(0, y.length);
    expect(Array.from(y)).toEqual(Array.from(whole));
  });
});
