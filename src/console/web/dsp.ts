// Signal processing for the softphone's AudioWorklets, kept free of browser APIs so `bun test` can check it.
// The worklet scope cannot import modules from the page's bundle, so worklet.ts passes these classes into it as
// source text: each class must use nothing from outside its own body.

/**
 * Streaming sample-rate converter, stateful across blocks (the fractional read position and the filter memory
 * carry over, so 128-sample render quanta join without clicks). Linear interpolation, with a 6th-order
 * Butterworth low-pass (three biquads) at 0.42 × the lower rate: before interpolation when going down, so the
 * 16 kHz stream does not alias what the microphone heard above 8 kHz; after it when going up, to take out the
 * images linear interpolation leaves.
 */
export class StreamResampler {
  readonly inRate: number;
  readonly outRate: number;
  private readonly step: number;
  /** Position of the next output sample in input samples, relative to the current block (-1 = `prev`). */
  private t = 0;
  private prev = 0;
  /** Biquad coefficients [b0, b1, b2, a1, a2] per section, and state [z1, z2] per section (transposed form II). */
  private readonly coef: number[][];
  private readonly z: Float64Array;
  private scratch: Float32Array;

  constructor(inRate: number, outRate: number) {
    this.inRate = inRate;
    this.outRate = outRate;
    this.step = inRate / outRate;
    this.coef = [];
    if (inRate !== outRate) {
      const fs = Math.max(inRate, outRate);
      const fc = 0.42 * Math.min(inRate, outRate);
      // Pole-pair Qs of a 6th-order Butterworth low-pass.
      for (const q of [0.5176, 0.7071, 1.9319]) {
        const w = (2 * Math.PI * fc) / fs;
        const alpha = Math.sin(w) / (2 * q);
        const cos = Math.cos(w);
        const a0 = 1 + alpha;
        this.coef.push([(1 - cos) / 2 / a0, (1 - cos) / a0, (1 - cos) / 2 / a0, (-2 * cos) / a0, (1 - alpha) / a0]);
      }
    }
    this.z = new Float64Array(this.coef.length * 2);
    this.scratch = new Float32Array(0);
  }

  /** Upper bound of the samples process() writes for `n` input samples. */
  maxOut(n: number): number {
    return Math.ceil((n * this.outRate) / this.inRate) + 2;
  }

  /** Converts `input` into `out` (at least maxOut(input.length) long); returns how many samples were written. */
  process(input: Float32Array, out: Float32Array): number {
    const n = input.length;
    if (n === 0) return 0;
    if (this.inRate === this.outRate) {
      out.set(input);
      return n;
    }
    const down = this.outRate < this.inRate;
    let x = input;
    if (down) {
      if (this.scratch.length < n) this.scratch = new Float32Array(n);
      x = this.scratch.subarray(0, n);
      x.set(input);
      this.filter(x);
    }
    let k = 0;
    let t = this.t;
    const step = this.step;
    const prev = this.prev;
    while (t < n - 1) {
      const i = Math.floor(t);
      const f = t - i;
      const a = i < 0 ? prev : x[i]!;
      const b = x[i + 1]!;
      out[k++] = a + (b - a) * f;
      t += step;
    }
    this.t = t - n;
    this.prev = x[n - 1]!;
    if (!down) this.filter(out.subarray(0, k));
    return k;
  }

  /** Forgets the stream so far (after a flush, the next audio is a new stream). */
  reset(): void {
    this.t = 0;
    this.prev = 0;
    this.z.fill(0);
  }

  private filter(x: Float32Array): void {
    const z = this.z;
    for (let s = 0; s < this.coef.length; s++) {
      const [b0, b1, b2, a1, a2] = this.coef[s]!;
      let z1 = z[2 * s]!;
      let z2 = z[2 * s + 1]!;
      for (let i = 0; i < x.length; i++) {
        const v = x[i]!;
        const y = b0! * v + z1;
        z1 = b1! * v - a1! * y + z2;
        z2 = b2! * v - a2! * y;
        x[i] = y;
      }
      z[2 * s] = z1;
      z[2 * s + 1] = z2;
    }
  }
}

/**
 * The playback side's jitter buffer: a ring of samples at the output rate. It waits until `targetMs` is queued
 * (or the first sample has waited that long) before it plays, plays until it runs dry, then waits again, so
 * network jitter below the target never reaches the speaker as gaps. flush() empties it at once (killAudio).
 */
export class JitterBuffer {
  readonly rate: number;
  private readonly ring: Float32Array;
  private readonly target: number;
  private read = 0;
  private size = 0;
  private playing = false;
  /** Output samples spent waiting while priming with something queued. */
  private waited = 0;
  underruns = 0;
  /** Samples dropped because the ring was full (the oldest go). */
  overflowed = 0;
  playedSamples = 0;

  constructor(rate: number, targetMs: number, capacityMs: number) {
    this.rate = rate;
    this.target = Math.round((rate * targetMs) / 1000);
    this.ring = new Float32Array(Math.max(this.target * 2, Math.round((rate * capacityMs) / 1000)));
  }

  get bufferedMs(): number {
    return (this.size / this.rate) * 1000;
  }

  push(x: Float32Array, n = x.length): void {
    const cap = this.ring.length;
    let src = 0;
    if (n > cap) {
      this.overflowed += n - cap;
      src = n - cap;
      n = cap;
    }
    const over = this.size + n - cap;
    if (over > 0) {
      this.read = (this.read + over) % cap;
      this.size -= over;
      this.overflowed += over;
    }
    let w = (this.read + this.size) % cap;
    for (let i = 0; i < n; i++) {
      this.ring[w] = x[src + i]!;
      w = w + 1 === cap ? 0 : w + 1;
    }
    this.size += n;
  }

  /** Fills `out` with the next samples, or silence while priming or dry. */
  pull(out: Float32Array): void {
    const n = out.length;
    if (!this.playing) {
      if (this.size > 0) this.waited += n;
      if (this.size >= this.target || (this.size > 0 && this.waited >= this.target)) {
        this.playing = true;
        this.waited = 0;
      } else {
        out.fill(0);
        return;
      }
    }
    const cap = this.ring.length;
    const take = Math.min(n, this.size);
    let r = this.read;
    for (let i = 0; i < take; i++) {
      out[i] = this.ring[r]!;
      r = r + 1 === cap ? 0 : r + 1;
    }
    this.read = r;
    this.size -= take;
    this.playedSamples += take;
    if (take < n) {
      out.fill(0, take);
      this.playing = false;
      this.underruns++;
    }
  }

  /** Drops everything queued; returns how many ms that was. */
  flush(): number {
    const ms = this.bufferedMs;
    this.read = 0;
    this.size = 0;
    this.playing = false;
    this.waited = 0;
    return ms;
  }
}

/** Peak magnitude of S16 samples, 0..1. */
export function peakS16(pcm: Int16Array): number {
  let p = 0;
  for (let i = 0; i < pcm.length; i++) {
    const v = pcm[i]!;
    const a = v < 0 ? -v : v;
    if (a > p) p = a;
  }
  return p / 32768;
}
