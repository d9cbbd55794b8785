// Caller audio → the model leg's input rate. Same rate: nothing to do (the same view comes back); otherwise a
// stateful Resampler (one per call, continuous across frames), e.g. 8 → 16 kHz for Gemini.

import { Resampler } from "./resampler.ts";

export class Uplink {
  private readonly rs: Resampler | null;
  private out: Buffer;
  // The view handed out last time; frames are usually one constant size, so it is reused rather than re-sliced.
  private view: Buffer;

  constructor(
    readonly callRate: number,
    readonly modelRate: number,
  ) {
    this.rs = callRate === modelRate ? null : new Resampler(callRate, modelRate);
    this.out = Buffer.allocUnsafeSlow(this.rs === null ? 0 : this.rs.maxOutputBytes(2048));
    this.view = this.out.subarray(0, 0);
  }

  /**
   * Returns S16LE bytes at the model's rate. With no conversion this is `pcm` itself; otherwise a view of an
   * internal buffer that stays valid only until the next process() call — encode or copy it before then.
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
}
