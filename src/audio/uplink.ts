// Caller audio → 16 kHz S16LE for Gemini. A 16 kHz call needs nothing (the same view comes back);
// an 8 kHz call is upsampled 8 → 16 kHz with a stateful Resampler (one per call, continuous across frames).

import { Resampler } from "./resampler.ts";

export const GEMINI_INPUT_RATE = 16000;

export class Uplink {
  private readonly rs: Resampler | null;
  private out: Buffer;
  // The view handed out last time; frames are usually one constant size, so it is reused rather than re-sliced.
  private view: Buffer;

  constructor(readonly callRate: 8000 | 16000) {
    this.rs = callRate === GEMINI_INPUT_RATE ? null : new Resampler(callRate, GEMINI_INPUT_RATE);
    this.out = Buffer.allocUnsafeSlow(this.rs === null ? 0 : this.rs.maxOutputBytes(2048));
    this.view = this.out.subarray(0, 0);
  }

  /**
   * Returns 16 kHz S16LE bytes. With no conversion this is `pcm` itself; otherwise a view of an internal buffer
   * that stays valid only until the next process()/reset() call — encode or copy it before then.
   */
  process(pcm: Uint8Array): Uint8Array {
    const rs = this.rs;
    if (rs === null) return pcm;
    const need = rs.maxOutputBytes(pcm.length);
    if (need > this.out.length) {
      this.out = Buffer.allocUnsafeSlow(Math.max(need, this.out.length * 2));
      this.view = this.out.subarray(0, 0);
    }
    const n = rs.process(pcm, this.out, 0);
    if (this.view.length !== n) this.view = this.out.subarray(0, n);
    return this.view;
  }

  /** Drops filter history (e.g. after a gap in the caller stream). */
  reset(): void {
    this.rs?.reset();
  }
}
