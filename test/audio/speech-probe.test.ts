import { describe, expect, test } from "bun:test";
import { END_SILENCE_MS, MIN_SPEECH_MS, PROBE_END, PROBE_NONE, PROBE_START, SpeechProbe } from "../../src/audio/speech-probe.ts";
import { tone, toBytes } from "../support/signal.ts";

/** Feeds `ms` of audio in 20 ms frames; returns [frame index, result] for every non-empty result. */
function feed(p: SpeechProbe, rate: number, ms: number, amp: number, from = 0): Array<[number, number]> {
  const frame = toBytes(tone(rate, 300, 0.02, amp));
  const out: Array<[number, number]> = [];
  for (let i = 0; i < ms / 20; i++) {
    const r = p.push(frame);
    if (r !== PROBE_NONE) out.push([from + i, r]);
  }
  return out;
}

describe("SpeechProbe", () => {
  for (const rate of [8000, 16000]) {
    test(`${rate} Hz: an utterance starts after ${MIN_SPEECH_MS} ms of voice and ends ${END_SILENCE_MS} ms after it`, () => {
      const p = new SpeechProbe(rate);
      expect(feed(p, rate, 1000, 30)).toEqual([]); // comfort noise
      expect(feed(p, rate, 600, 8000, 50)).toEqual([[50 + MIN_SPEECH_MS / 20 - 1, PROBE_START]]);
      expect(feed(p, rate, 1000, 30, 80)).toEqual([[80 + END_SILENCE_MS / 20 - 1, PROBE_END]]);
    });
  }

  test("clicks separated by pauses never make an utterance; a pause inside speech does not end it", () => {
    const p = new SpeechProbe(16000);
    for (let k = 0; k < 10; k++) {
      expect(feed(p, 16000, 100, 8000)).toEqual([]);
      expect(feed(p, 16000, 800, 30)).toEqual([]);
    }
    expect(feed(p, 16000, 300, 8000).map((x) => x[1])).toEqual([PROBE_START]);
    expect(feed(p, 16000, 400, 30)).toEqual([]); // a breath
    expect(feed(p, 16000, 300, 8000)).toEqual([]);
    expect(feed(p, 16000, 800, 30).map((x) => x[1])).toEqual([PROBE_END]);
  });

  test("coalesced frames count by their length", () => {
    const p = new SpeechProbe(16000);
    expect(p.push(toBytes(tone(16000, 300, 0.25, 8000)))).toBe(PROBE_START);
    expect(p.push(toBytes(tone(16000, 300, 1, 30)))).toBe(PROBE_END);
  });
});
