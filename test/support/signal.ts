// Test signal helpers: tone generation, S16LE packing, and robust frequency / level measurement.

export function tone(rate: number, freq: number, seconds: number, amp = 10000): Int16Array {
  const n = Math.round(rate * seconds);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.round(amp * Math.sin((2 * Math.PI * freq * i) / rate));
  return out;
}

export function toBytes(s: Int16Array): Uint8Array {
  return new Uint8Array(s.buffer.slice(s.byteOffset, s.byteOffset + s.byteLength));
}

export function fromBytes(b: Uint8Array): Int16Array {
  const copy = new Uint8Array(b); // a real copy even for a Buffer (whose slice() is a view)
  return new Int16Array(copy.buffer, 0, copy.length >> 1);
}

export function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function rms(s: Int16Array, from = 0, to = s.length): number {
  let acc = 0;
  for (let i = from; i < to; i++) acc += s[i]! * s[i]!;
  return Math.sqrt(acc / Math.max(1, to - from));
}

export function db(ratio: number): number {
  return 20 * Math.log10(ratio);
}

/** Times (in samples, linearly interpolated) of rising zero crossings in [from, to). */
export function risingCrossings(s: Int16Array, from = 0, to = s.length): number[] {
  const t: number[] = [];
  for (let i = Math.max(1, from); i < to; i++) {
    const a = s[i - 1]!;
    const b = s[i]!;
    if (a < 0 && b >= 0) t.push(i - 1 + -a / (b - a));
  }
  return t;
}

/** Frequency from rising zero crossings over the whole span: (crossings − 1) periods between first and last. */
export function zeroCrossFreq(s: Int16Array, rate: number, from = 0, to = s.length): number {
  const t = risingCrossings(s, from, to);
  if (t.length < 2) return 0;
  return ((t.length - 1) * rate) / (t[t.length - 1]! - t[0]!);
}

/** Goertzel magnitude (RMS-normalised amplitude) of `freq` over s[from, to). */
export function goertzelAmp(s: Int16Array, rate: number, freq: number, from = 0, to = s.length): number {
  const w = (2 * Math.PI * freq) / rate;
  const c = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  for (let i = from; i < to; i++) {
    const s0 = s[i]! + c * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const power = s1 * s1 + s2 * s2 - c * s1 * s2;
  return (2 * Math.sqrt(Math.max(0, power))) / (to - from);
}

/** Deterministic PRNG (mulberry32) so "random" chunkings are reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 16 kHz S16LE sine of `ms` at amplitude `amp` (loud enough to be speech for the Live spy's detector). */
export function loud16k(ms: number, hz = 300, amp = 12000): Uint8Array {
  return toBytes(tone(16000, hz, ms / 1000, amp));
}
