// A coarse "did the caller just say something?" for the model stall detector: the one sign of caller speech that
// does not come from the model itself (a dead model sends no transcript). Not a VAD for the conversation: Gemini
// does that. It takes the peak of the call's one scan of the frame (frame-level.ts) and counts loud and quiet
// time; that is the only per-frame work it adds.

import { measureFrame, type FrameLevel } from "./frame-level.ts";

/** Peak above this (about −24 dBFS) counts as voice; Sautikit's silence frames are low-level noise far below it. */
export const SPEECH_PEAK = 2000;
/** Loud time that makes an utterance (shorter bursts are clicks). */
export const MIN_SPEECH_MS = 200;
/** Quiet time that ends an utterance. */
export const END_SILENCE_MS = 700;

export type ProbeResult = 0 | 1 | 2;
export const PROBE_NONE: ProbeResult = 0;
export const PROBE_START: ProbeResult = 1;
export const PROBE_END: ProbeResult = 2;

export class SpeechProbe {
  private readonly msPerSample: number;
  private loudMs = 0;
  private quietMs = 0;
  private inSpeech = false;

  constructor(rate: number) {
    this.msPerSample = 1000 / rate;
  }

  /** Feeds whole S16LE samples; says when an utterance starts (PROBE_START) or has ended (PROBE_END). */
  push(pcm: Uint8Array): ProbeResult {
    return this.observe(measureFrame(pcm));
  }

  /** The same, from a scan the caller already made. */
  observe(f: FrameLevel): ProbeResult {
    const ms = f.samples * this.msPerSample;
    if (f.peak >= SPEECH_PEAK) {
      this.quietMs = 0;
      this.loudMs += ms;
      if (!this.inSpeech && this.loudMs >= MIN_SPEECH_MS) {
        this.inSpeech = true;
        return PROBE_START;
      }
      return PROBE_NONE;
    }
    this.quietMs += ms;
    if (this.inSpeech) {
      if (this.quietMs < END_SILENCE_MS) return PROBE_NONE;
      this.inSpeech = false;
      this.loudMs = 0;
      return PROBE_END;
    }
    // Short bursts separated by real pauses do not add up to an utterance.
    if (this.quietMs >= END_SILENCE_MS) this.loudMs = 0;
    return PROBE_NONE;
  }
}
