// The caller's speech-end detector (response-time metric): real tone and silence frames at call rates.
import { describe, expect, test } from "bun:test";
import { MIN_SPEECH_MS, SpeechEndDetector, UTTERANCE_GAP_MS } from "../../src/audio/speech-end.ts";
import { tone, toBytes } from "../support/signal.ts";

const frame = (rate: number, amp: number) => toBytes(tone(rate, 300, 0.02, amp));
const silence = (rate: number) => new Uint8Array((rate / 50) * 2);

describe("SpeechEndDetector", () => {
  for (const rate of [8000, 16000]) {
    test(`${rate} Hz: an utterance then silence gives the time of its last loud frame, once`, async () => {
      const d = new SpeechEndDetector(rate);
      for (let i = 0; i < 9; i++) d.process(frame(rate, 8000));
      const t1 = performance.now();
      d.process(frame(rate, 8000));
      const t2 = performance.now();
      await Bun.sleep(30);
      d.process(silence(rate));
      const end = d.takeSpeechEnd();
      // Stamped when the last loud frame arrived, not when the silence did.
      expect(end).toBeGreaterThanOrEqual(t1);
      expect(end).toBeLessThanOrEqual(t2);
      expect(d.takeSpeechEnd()).toBe(-1); // consumed
    });
  }

  test("still talking, too short, or too quiet: no speech end", () => {
    const d = new SpeechEndDetector(16000);
    for (let i = 0; i < 10; i++) d.process(frame(16000, 8000));
    expect(d.takeSpeechEnd()).toBe(-1); // the last frame was loud
    const click = new SpeechEndDetector(16000);
    for (let i = 0; i < MIN_SPEECH_MS / 20 - 1; i++) click.process(frame(16000, 8000));
    click.process(silence(16000));
    expect(click.takeSpeechEnd()).toBe(-1);
    const hum = new SpeechEndDetector(16000);
    for (let i = 0; i < 50; i++) hum.process(frame(16000, 300)); // RMS ≈ 212, under the threshold
    hum.process(silence(16000));
    expect(hum.takeSpeechEnd()).toBe(-1);
  });

  test("short blips separated by more than the utterance gap do not add up to speech", () => {
    const d = new SpeechEndDetector(16000);
    const blip = MIN_SPEECH_MS / 20 - 1;
    for (let k = 0; k < 3; k++) {
      for (let i = 0; i < blip; i++) d.process(frame(16000, 8000));
      for (let i = 0; i <= UTTERANCE_GAP_MS / 20; i++) d.process(silence(16000));
    }
    expect(d.takeSpeechEnd()).toBe(-1);
    // Within one utterance, a short pause does not split it.
    for (let i = 0; i < blip; i++) d.process(frame(16000, 8000));
    d.process(silence(16000));
    for (let i = 0; i < blip; i++) d.process(frame(16000, 8000));
    d.process(silence(16000));
    expect(d.takeSpeechEnd()).toBeGreaterThan(0);
    expect(d.silentMs).toBe(20);
  });

  test("odd byte counts and empty frames are harmless", () => {
    const d = new SpeechEndDetector(16000);
    d.process(new Uint8Array(0));
    d.process(new Uint8Array(3));
    expect(d.takeSpeechEnd()).toBe(-1);
  });
});
