// When did the caller stop talking? A plain energy detector on the caller's audio as it enters, for one metric:
// the response time a caller feels (end of their speech → first agent frame sent). The model does its own
// turn detection; this only timestamps. Per frame it compares the energy of the call's one scan of the frame
// (frame-level.ts) with a threshold, and reads performance.now() only on loud frames.

import { measureFrame, type FrameLevel } from "./frame-level.ts";

/** RMS (16-bit full scale 32767) above which a frame counts as speech: about −36 dBFS, above line noise. */
export const SPEECH_RMS = 500;
/** Loud audio an utterance needs, so clicks and pops are not speech. */
export const MIN_SPEECH_MS = 100;
/** Silence that separates two utterances (a shorter pause is part of the same one). */
export const UTTERANCE_GAP_MS = 300;

export class SpeechEndDetector {
  private readonly meanSquare: number;
  private readonly msPerSample: number;
  private loudMs = 0; // loud audio in the current utterance
  private quietMs = 0; // quiet audio since the last loud frame
  private lastLoudAt = -1; // performance.now() when the last loud frame arrived

  constructor(rate: number, rms = SPEECH_RMS) {
    this.meanSquare = rms * rms;
    this.msPerSample = 1000 / rate;
  }

  /** One frame of caller audio, S16LE mono at the call's rate. */
  process(pcm: Uint8Array): void {
    this.observe(measureFrame(pcm));
  }

  /** The same, from a scan the caller already made. */
  observe(f: FrameLevel): void {
    if (f.taken === 0) return;
    if (f.sumSquares > this.meanSquare * f.taken) {
      if (this.quietMs >= UTTERANCE_GAP_MS) this.loudMs = 0;
      this.loudMs += f.samples * this.msPerSample;
      this.quietMs = 0;
      this.lastLoudAt = performance.now();
    } else {
      this.quietMs += f.samples * this.msPerSample;
    }
  }

  /**
   * performance.now() at the end of the caller's latest utterance, once they are quiet again, or -1 (no speech
   * since the last answer, or still talking). Consumed: the next answer needs new speech.
   */
  takeSpeechEnd(): number {
    if (this.loudMs < MIN_SPEECH_MS || this.quietMs === 0) return -1;
    this.loudMs = 0;
    return this.lastLoudAt;
  }

  /** Quiet audio since the caller's last loud frame, ms. */
  get silentMs(): number {
    return this.quietMs;
  }
}
