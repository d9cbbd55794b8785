// The answering machine's beep: a steady tone of 300 ms or more, at 8 and 16 kHz, in frames of any size; not
// speech-like noise, not a short tone, not a tone that glides in pitch or swells in loudness.
import { describe, expect, test } from "bun:test";
import { BEEP_MIN_MS, BeepDetector, zeroCrossings } from "../../src/audio/beep.ts";
import { measureFrame } from "../../src/audio/frame-level.ts";

type Gen = (t: number) => number;

const tone = (hz: number, amp = 8000): Gen => (t) => amp * Math.sin(2 * Math.PI * hz * t);
const silence: Gen = () => (Math.random() - 0.5) * 20;
let seed = 1;
const noise: Gen = (t) => {
  seed = (seed * 1103515245 + 12345) >>> 0;
  return (((seed >>> 8) & 0xffff) / 32768 - 1) * 9000 * (0.55 + 0.45 * Math.sin(2 * Math.PI * 4 * t));
};

/** Feeds `parts` ([generator, ms]) in frames of `frameMs`; returns the detector. */
function feed(rate: number, parts: Array<[Gen, number]>, frameMs = 20): BeepDetector {
  const d = new BeepDetector(rate);
  let t = 0;
  const n = Math.round((rate * frameMs) / 1000);
  for (const [g, ms] of parts) {
    const end = t + ms / 1000;
    while (t < end - 1e-9) {
      const b = new Uint8Array(n * 2);
      const v = new DataView(b.buffer);
      for (let i = 0; i < n; i++) v.setInt16(i * 2, Math.max(-32768, Math.min(32767, Math.round(g(t + i / rate)))), true);
      t += n / rate;
      d.observe(b, measureFrame(b));
    }
  }
  return d;
}

describe("BeepDetector", () => {
  test("zero crossings: a 1 kHz tone crosses twice per period", () => {
    const b = new Uint8Array(320 * 2);
    const v = new DataView(b.buffer);
    for (let i = 0; i < 320; i++) v.setInt16(i * 2, Math.round(8000 * Math.sin(2 * Math.PI * 1000 * (i + 0.5) / 16000)), true);
    expect(zeroCrossings(b)).toBe(39);
  });

  for (const rate of [8000, 16000]) {
    test(`${rate / 1000} kHz: a 1 kHz beep of 500 ms after a greeting is heard, and when it ended`, () => {
      const d = feed(rate, [[noise, 2000], [silence, 300], [tone(1000), 500], [silence, 400]]);
      expect(d.lastEndMs).toBeGreaterThanOrEqual(2800);
      expect(d.lastEndMs).toBeLessThanOrEqual(2860);
      expect(d.sounding).toBe(false);
    });
  }

  test("beeps from 400 Hz to 2.5 kHz, in 20 or 60 ms frames", () => {
    for (const hz of [400, 850, 1400, 2500]) for (const f of [20, 60]) expect(feed(16000, [[tone(hz), 600], [silence, 100]], f).lastEndMs).toBeGreaterThan(0);
  });

  test("while the tone goes on it is sounding, and it has not ended", () => {
    const d = feed(16000, [[tone(1000), BEEP_MIN_MS + 100]]);
    expect(d.sounding).toBe(true);
    expect(d.lastEndMs).toBe(-1);
  });

  test("not a beep: speech-like noise, silence, a 200 ms tone, a glide, a swell, a quiet tone, a 100 Hz hum", () => {
    const glide: Gen = (t) => 8000 * Math.sin(2 * Math.PI * (300 * t + 700 * t * t)); // 300 Hz → 1.7 kHz in 1 s
    const swell: Gen = (t) => (1000 + 15000 * (t % 0.15) / 0.15) * Math.sin(2 * Math.PI * 1000 * t);
    for (const parts of [
      [[noise, 5000]],
      [[silence, 2000]],
      [[tone(1000), 200], [silence, 300]],
      [[glide, 1000], [silence, 200]],
      [[swell, 1000], [silence, 200]],
      [[tone(1000, 300), 800], [silence, 200]],
      [[tone(100), 800], [silence, 200]],
    ] as Array<Array<[Gen, number]>>) {
      expect(feed(16000, parts).lastEndMs).toBe(-1);
    }
  });
});
