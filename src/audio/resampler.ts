// Stateful S16LE mono resampler: polyphase FIR (see fir.ts) for any rational ratio, byte-exact pass-through when
// the rates match. Input may be split anywhere, even mid-sample (the odd byte is carried), and chunked output is
// bit-identical to one-shot output because every output sample depends only on absolute input positions.
//
// The filtering runs in the shared WebAssembly kernel (fir-kernel.ts): a pass copies this resampler's history
// (the last K-1 input samples) and the new bytes into the kernel's memory, runs it, and copies the output to the
// target and the new history back. Each resampler keeps only those K-1 samples (62 bytes at 24 → 16 kHz).
//
// Output goes into a caller-supplied target (no allocation, no callback): process() returns the bytes written.
// Size the target with maxOutputBytes(inputBytes).

import { heap, kernelState, loadFilter, OUT, OUT_SAMPLES, runFir, X, X_SAMPLES, type LoadedFilter } from "./fir-kernel.ts";
import { polyphaseFilter, type PolyphaseFilter } from "./fir.ts";

export class Resampler {
  readonly passThrough: boolean;
  private readonly f: PolyphaseFilter | null;
  private readonly kernel: LoadedFilter | null;
  private readonly K: number;
  /** The last input samples (at most K-1), S16LE, oldest first. */
  private readonly hist: Buffer;
  private histSamples = 0;
  private base = 0; // where the next output's window starts, in samples from the start of hist
  private phase = 0; // polyphase branch of the next output
  private carry = -1; // pending low byte of a split sample, or -1
  /** New input bytes one kernel pass takes at most (bounded by the kernel's input and output areas). */
  private readonly passBytes: number;
  /** K-1 zero samples: what flush() feeds. */
  private readonly zeros: Buffer;

  constructor(
    readonly inRate: number,
    readonly outRate: number,
  ) {
    this.passThrough = inRate === outRate;
    this.f = this.passThrough ? null : polyphaseFilter(inRate, outRate);
    this.kernel = this.f === null ? null : loadFilter(this.f);
    this.K = this.f === null ? 1 : this.f.K;
    this.hist = Buffer.alloc((this.K - 1) * 2);
    this.zeros = Buffer.alloc((this.K - 1) * 2);
    const f = this.f;
    this.passBytes = f === null ? 0 : 2 * Math.min(X_SAMPLES, Math.floor(((OUT_SAMPLES - 2) * f.M) / f.L)) - 2 * this.K;
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
    if (len <= this.passBytes) return this.pass(input, target, offset) - offset;
    // Multi-second bursts: several passes (slicing allocates a view, so only here).
    let o = offset;
    for (let i = 0; i < len; i += this.passBytes) o = this.pass(input.subarray(i, Math.min(len, i + this.passBytes)), target, o);
    return o - offset;
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
    const o = this.pass(this.zeros, target, offset);
    this.reset();
    return o - offset;
  }

  /** Forgets all history (barge-in, new turn): the next input starts from silence. */
  reset(): void {
    this.carry = -1;
    this.phase = 0;
    this.hist.fill(0);
    this.histSamples = this.K - 1;
    this.base = 0;
  }

  /** One kernel pass over history + carried byte + input. Returns the new output offset. */
  private pass(input: Uint8Array, target: Uint8Array, o: number): number {
    const K = this.K;
    let p = X + this.hist.copy(heap, X, 0, this.histSamples * 2);
    if (this.carry >= 0) {
      heap[p++] = this.carry;
      this.carry = -1;
    }
    heap.set(input, p);
    p += input.length;
    const bytes = p - X;
    const n = bytes >> 1;
    if (bytes & 1) this.carry = heap[p - 1]!;
    let base = this.base;
    if (base < n - K + 1) {
      const made = runFir(this.kernel!, K, n, base, this.phase);
      base = kernelState[0]!;
      this.phase = kernelState[1]!;
      o += heap.copy(target, o, OUT, OUT + made * 2);
    }
    // Keep what the next windows still need: the samples from the next window's start on (at most K-1).
    const keepFrom = base < n ? base : n;
    this.histSamples = n - keepFrom;
    heap.copy(this.hist, 0, X + keepFrom * 2, X + n * 2);
    this.base = base - keepFrom;
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
