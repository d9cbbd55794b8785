// Stateful S16LE mono resampler: polyphase FIR (see fir.ts) for any rational ratio, byte-exact pass-through when
// the rates match. Input may be split anywhere, even mid-sample (the odd byte is carried), and chunked output is
// bit-identical to one-shot output because every output sample depends only on absolute input positions.
//
// Output goes into a caller-supplied target (no allocation, no callback): process() returns the bytes written.
// Size the target with maxOutputBytes(inputBytes).

import { polyphaseFilter, type PolyphaseFilter } from "./fir.ts";

// Input samples gathered before a filtering pass; bounds the per-instance history (8 B per sample: a float history
// avoids an int→double conversion per multiply-add, ~20 % faster than an Int16Array one). Small, so hundreds of
// calls' histories stay in cache; a 40 ms model chunk (960 samples) takes four passes, each as fast as one.
const HISTORY_SAMPLES = 256;

export class Resampler {
  readonly passThrough: boolean;
  private readonly f: PolyphaseFilter | null;
  private readonly K: number;
  private readonly hist: Float64Array;
  private histLen = 0; // valid samples in hist
  private pos = 0; // hist index of the newest input sample the next output uses
  private phase = 0; // polyphase branch of the next output
  private carry = -1; // pending low byte of a split sample, or -1

  constructor(
    readonly inRate: number,
    readonly outRate: number,
  ) {
    this.passThrough = inRate === outRate;
    this.f = this.passThrough ? null : polyphaseFilter(inRate, outRate);
    this.K = this.f === null ? 1 : this.f.K;
    this.hist = new Float64Array(this.f === null ? 0 : this.K - 1 + HISTORY_SAMPLES);
    this.reset();
  }

  /** Upper bound of bytes process() writes for `inputBytes` of input (whatever the carried state). */
  maxOutputBytes(inputBytes: number): number {
    const samples = Math.floor((inputBytes + 1) / 2);
    if (this.f === null) return samples * 2;
    return (Math.ceil((samples * this.f.L) / this.f.M) + 1) * 2;
  }

  /** Upper bound of bytes flush() writes. */
  maxFlushBytes(): number {
    return this.maxOutputBytes((this.K - 1) * 2);
  }

  /**
   * Consumes S16LE bytes (any length; an odd trailing byte is kept for the next call) and writes whole S16LE
   * output samples at target[offset…]. Returns the number of bytes written.
   */
  process(input: Uint8Array, target: Uint8Array, offset = 0): number {
    const len = input.length;
    if (target.length - offset < this.maxOutputBytes(len)) {
      throw new RangeError(`resampler target too small: ${target.length - offset} < ${this.maxOutputBytes(len)}`);
    }
    if (this.f === null) return this.copyThrough(input, target, offset);
    let o = offset;
    let i = 0;
    const hist = this.hist;
    const cap = hist.length;
    if (this.carry >= 0 && len > 0) {
      hist[this.histLen++] = (this.carry | (input[0]! << 8)) << 16 >> 16;
      this.carry = -1;
      i = 1;
      if (this.histLen === cap) o = this.run(target, o);
    }
    while (i + 1 < len) {
      // Fill history up to capacity, then filter and slide.
      let h = this.histLen;
      const stop = Math.min(cap, h + ((len - i) >> 1));
      while (h < stop) {
        hist[h++] = (input[i]! | (input[i + 1]! << 8)) << 16 >> 16;
        i += 2;
      }
      this.histLen = h;
      if (h === cap) o = this.run(target, o);
    }
    if (i < len) this.carry = input[i]!;
    return this.run(target, o) - offset;
  }

  /**
   * Pushes the filter's remaining tail out (as if K-1 zero samples followed), then resets. Use at a natural end
   * of audio (turn end) so the last few milliseconds are not stranded in the history. A carried odd byte is dropped.
   */
  flush(target: Uint8Array, offset = 0): number {
    if (this.f === null) {
      this.reset();
      return 0;
    }
    this.carry = -1;
    let o = offset;
    for (let z = 0; z < this.K - 1; z++) {
      this.hist[this.histLen++] = 0;
      if (this.histLen === this.hist.length) o = this.run(target, o);
    }
    o = this.run(target, o);
    this.reset();
    return o - offset;
  }

  /** Forgets all history (barge-in, new turn): the next input starts from silence. */
  reset(): void {
    this.carry = -1;
    this.phase = 0;
    if (this.f === null) return;
    this.hist.fill(0, 0, this.K - 1);
    this.histLen = this.K - 1;
    this.pos = this.K - 1;
  }

  /** Emits every output whose input window is complete, then slides the history down. Returns the new offset. */
  private run(target: Uint8Array, o: number): number {
    const f = this.f!;
    const K = f.K;
    const c = f.coeffs;
    const nextPhase = f.nextPhase;
    const advance = f.advance;
    const hist = this.hist;
    const histLen = this.histLen;
    let pos = this.pos;
    let phase = this.phase;
    while (pos < histLen) {
      const base = pos - K + 1;
      const cb = phase * K;
      // Four independent accumulators let the JIT overlap the multiply-adds.
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      let j = 0;
      for (; j + 3 < K; j += 4) {
        a0 += c[cb + j]! * hist[base + j]!;
        a1 += c[cb + j + 1]! * hist[base + j + 1]!;
        a2 += c[cb + j + 2]! * hist[base + j + 2]!;
        a3 += c[cb + j + 3]! * hist[base + j + 3]!;
      }
      for (; j < K; j++) a0 += c[cb + j]! * hist[base + j]!;
      // Math.round and the clamp in one: shift into [0, 65535], clamp, truncate (floor for non-negatives), shift back.
      let v = a0 + a1 + (a2 + a3) + 32768.5;
      if (v < 0) v = 0;
      else if (v > 65535) v = 65535;
      const s = (v | 0) - 32768;
      target[o] = s;
      target[o + 1] = s >> 8;
      o += 2;
      pos += advance[phase]!;
      phase = nextPhase[phase]!;
    }
    // Keep the K-1 samples before `pos` (the next output's window minus its newest sample).
    const keepFrom = pos - K + 1;
    if (keepFrom > 0) {
      hist.copyWithin(0, keepFrom, histLen);
      this.histLen = histLen - keepFrom;
      pos -= keepFrom;
    }
    this.pos = pos;
    this.phase = phase;
    return o;
  }

  private copyThrough(input: Uint8Array, target: Uint8Array, offset: number): number {
    let o = offset;
    let i = 0;
    const len = input.length;
    if (this.carry >= 0 && len > 0) {
      target[o++] = this.carry;
      target[o++] = input[0]!;
      this.carry = -1;
      i = 1;
    }
    const whole = (len - i) & ~1;
    target.set(i === 0 && whole === len ? input : input.subarray(i, i + whole), o);
    o += whole;
    if (i + whole < len) this.carry = input[i + whole]!;
    return o - offset;
  }
}
