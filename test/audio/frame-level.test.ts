// The one scan of a caller frame that the uplink detectors share: real S16LE bytes, known figures.
import { describe, expect, test } from "bun:test";
import { measureFrame } from "../../src/audio/frame-level.ts";
import { SpeechEndDetector } from "../../src/audio/speech-end.ts";
import { PROBE_END, PROBE_START, SpeechProbe } from "../../src/audio/speech-probe.ts";
import { tone, toBytes } from "../support/signal.ts";

function pcm(samples: number[]): Uint8Array {
  const b = Buffer.alloc(samples.length * 2);
  samples.forEach((s, i) => b.writeInt16LE(s, i * 2));
  return b;
}

describe("measureFrame", () => {
  test("reads every 4th sample: its energy and peak (negative full scale included), and counts whole samples", () => {
    // Samples 0, 4 and 8 are read; the loud ones in between are not.
    const f = measureFrame(pcm([3, 30000, 30000, 30000, -4, 30000, 30000, 30000, -32768, 1]));
    expect(f.taken).toBe(3);
    expect(f.sumSquares).toBe(9 + 16 + 32768 * 32768);
    expect(f.peak).toBe(32768);
    expect(f.samples).toBe(10);
  });

  test("an odd trailing byte and an empty frame read nothing past whole samples", () => {
    const odd = new Uint8Array([0x10, 0x00, 0xff]);
    const f = measureFrame(odd);
    expect([f.taken, f.sumSquares, f.peak, f.samples]).toEqual([1, 256, 16, 1]);
    const empty = measureFrame(new Uint8Array(0));
    expect([empty.taken, empty.sumSquares, empty.peak, empty.samples]).toEqual([0, 0, 0, 0]);
  });

  test("a tone's RMS from every 4th sample is within 2 % of the full-frame RMS", () => {
    for (const rate of [8000, 16000]) {
      const samples = tone(rate, 300, 0.02, 8000);
      const full = Math.sqrt(Array.from(samples).reduce((a, s) => a + s * s, 0) / samples.length);
      const f = measureFrame(toBytes(samples));
      expect(Math.abs(Math.sqrt(f.sumSquares / f.taken) / full - 1)).toBeLessThan(0.02);
    }
  });

  test("the detectors reading one scan decide as they do on the bytes", () => {
    const loud = toBytes(tone(16000, 300, 0.02, 8000));
    const [a, b] = [new SpeechProbe(16000), new SpeechProbe(16000)];
    const [da, db] = [new SpeechEndDetector(16000), new SpeechEndDetector(16000)];
    const ra: number[] = [];
    const rb: number[] = [];
    // a and da scan the bytes themselves; b and db read one shared scan.
    const feed = (frame: Uint8Array, frames: number) => {
      for (let i = 0; i < frames; i++) {
        ra.push(a.push(frame));
        da.process(frame);
        const f = measureFrame(frame);
        rb.push(b.observe(f));
        db.observe(f);
      }
    };
    feed(loud, 12);
    feed(new Uint8Array(640), 40);
    expect(ra).toContain(PROBE_START);
    expect(ra).toContain(PROBE_END);
    expect(rb).toEqual(ra);
    expect(db.silentMs).toBe(da.silentMs);
    expect(da.takeSpeechEnd()).toBeGreaterThan(0);
    expect(db.takeSpeechEnd()).toBeGreaterThan(0);
  });
});
