// Anti-alias / anti-image low-pass for rational resampling: Kaiser-windowed sinc, split into L polyphase branches.
// Designed once per (inRate, outRate) pair and shared by every resampler of that pair.
//
// Sized for telephony, not hi-fi: the call leg ends in a phone codec (G.711 at 8 kHz, or a 16 kHz wideband one),
// whose own quantisation noise sits around −40 dB, so 60 dB of alias rejection is inaudible, and a passband flat to
// 6 kHz (at 16 kHz) keeps everything a wideband codec carries. Taps cost CPU on every sample of model audio: this
// spec needs 32 taps per output for 24 → 16 kHz where 70 dB with a 0.8–1.05 transition needed 53.

/** Stopband attenuation the Kaiser window is designed for. */
export const STOPBAND_DB = 60;
/** Passband edge and stopband edge as fractions of the lower of the two Nyquist rates. */
export const PASS_EDGE = 0.75;
export const STOP_EDGE = 1.1;

export interface PolyphaseFilter {
  inRate: number;
  outRate: number;
  /** Interpolation factor (upsample by L) … */
  L: number;
  /** … then decimation factor (keep every M-th). */
  M: number;
  /** Taps per branch. */
  K: number;
  /**
   * coeffs[p*K + j] multiplies input x[n - (K-1) + j] for branch p (taps reversed so the inner loop walks both
   * arrays forwards). Includes the gain L so each branch has unit DC gain on average.
   */
  coeffs: Float64Array;
  /** The same taps in Q15 for the SIMD kernel: taps[p*stride + j] = round(coeffs[p*K + j] · 2^15), each branch
   *  zero-padded to `stride` (K rounded up to a multiple of 8, one SIMD multiply-add). */
  taps: Int16Array;
  stride: number;
  /** For output branch p: the next branch, and how many input samples to advance. */
  nextPhase: Int32Array;
  advance: Int32Array;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Zeroth-order modified Bessel function of the first kind (series; converges fast for the betas used here). */
export function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 64; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

/** Kaiser's empirical beta for a given stopband attenuation in dB. */
export function kaiserBeta(attenDb: number): number {
  if (attenDb > 50) return 0.1102 * (attenDb - 8.7);
  if (attenDb >= 21) return 0.5842 * (attenDb - 21) ** 0.4 + 0.07886 * (attenDb - 21);
  return 0;
}

const cache = new Map<string, PolyphaseFilter>();

export function polyphaseFilter(inRate: number, outRate: number): PolyphaseFilter {
  const key = `${inRate}>${outRate}`;
  let f = cache.get(key);
  if (f === undefined) {
    f = design(inRate, outRate);
    cache.set(key, f);
  }
  return f;
}

function design(inRate: number, outRate: number): PolyphaseFilter {
  if (!Number.isInteger(inRate) || !Number.isInteger(outRate) || inRate <= 0 || outRate <= 0) {
    throw new RangeError(`bad rates ${inRate} -> ${outRate}`);
  }
  const g = gcd(inRate, outRate);
  const L = outRate / g;
  const M = inRate / g;
  const fi = inRate * L; // rate the prototype filter runs at
  const nyq = Math.min(inRate, outRate) / 2;
  const fPass = PASS_EDGE * nyq;
  const fStop = STOP_EDGE * nyq;
  const fc = (fPass + fStop) / 2;
  const dw = (2 * Math.PI * (fStop - fPass)) / fi;
  let n = Math.ceil((STOPBAND_DB - 7.95) / (2.285 * dw)) + 1;
  n = Math.ceil(n / L) * L; // whole branches
  const K = n / L;
  const beta = kaiserBeta(STOPBAND_DB);
  const i0b = besselI0(beta);
  const mid = (n - 1) / 2;
  const h = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const t = i - mid;
    const x = (2 * fc) / fi;
    const sinc = t === 0 ? x : Math.sin(Math.PI * x * t) / (Math.PI * t);
    const r = t / mid;
    const w = besselI0(beta * Math.sqrt(Math.max(0, 1 - r * r))) / i0b;
    h[i] = sinc * w;
    sum += h[i]!;
  }
  const gain = L / sum;
  // Branch p holds h[p], h[p+L], h[p+2L], …: tap k weighs x[n-k]; store reversed for a forward inner loop.
  const coeffs = new Float64Array(n);
  for (let p = 0; p < L; p++) {
    for (let k = 0; k < K; k++) coeffs[p * K + (K - 1 - k)] = h[p + k * L]! * gain;
  }
  const nextPhase = new Int32Array(L);
  const advance = new Int32Array(L);
  for (let p = 0; p < L; p++) {
    const q = p + M;
    nextPhase[p] = q % L;
    advance[p] = Math.floor(q / L);
  }
  // Q15: every tap of these designs is below 1 (the largest is about min(in, out) / in · 0.93), so none saturates.
  const stride = Math.ceil(K / 8) * 8;
  const taps = new Int16Array(L * stride);
  for (let p = 0; p < L; p++) {
    for (let j = 0; j < K; j++) {
      const q = Math.round(coeffs[p * K + j]! * 32768);
      if (q > 32767 || q < -32768) throw new RangeError(`tap ${coeffs[p * K + j]} does not fit Q15 (${inRate} -> ${outRate})`);
      taps[p * stride + j] = q;
    }
  }
  return { inRate, outRate, L, M, K, coeffs, taps, stride, nextPhase, advance };
}
