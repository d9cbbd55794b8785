import { describe, expect, test } from "bun:test";
import { FIR_KERNEL_WASM } from "../../src/audio/fir-kernel.bytes.ts";
import { polyphaseFilter } from "../../src/audio/fir.ts";
import { prng } from "../support/signal.ts";
import { oneShot } from "./one-shot.ts";
import { compileWat } from "../support/wat.ts";

/** The textbook polyphase FIR in float64 with the unquantised taps: what the Q15 SIMD kernel approximates. */
function reference(inRate: number, outRate: number, x: Int16Array): Int16Array {
  const f = polyphaseFilter(inRate, outRate);
  const { K, coeffs, nextPhase, advance } = f;
  const padded = new Float64Array(K - 1 + x.length + K - 1); // silence before, and the flush's K-1 zeros after
  padded.set(x, K - 1);
  const out: number[] = [];
  for (let base = 0, phase = 0; base + K <= padded.length; ) {
    let acc = 0;
    for (let j = 0; j < K; j++) acc += coeffs[phase * K + j]! * padded[base + j]!;
    out.push(Math.max(-32768, Math.min(32767, Math.round(acc))));
    base += advance[phase]!;
    phase = nextPhase[phase]!;
  }
  return Int16Array.from(out);
}

describe("resampler kernel (WebAssembly SIMD)", () => {
  test("the embedded module is what fir-kernel.wat compiles to (run `bun run wasm` after editing it)", async () => {
    const built = Buffer.from(await compileWat()).toString("base64");
    expect(FIR_KERNEL_WASM).toBe(built);
  });

  for (const [inRate, outRate] of [
    [24000, 16000],
    [24000, 8000],
    [8000, 16000],
    [16000, 24000],
    [16000, 8000],
  ] as const) {
    test(`${inRate} → ${outRate} Hz: every sample within the Q15 taps' error bound of the float64 reference, full scale included`, () => {
      const rnd = prng(inRate + outRate);
      const n = inRate; // one second
      const x = new Int16Array(n);
      for (let i = 0; i < n; i++) {
        // Noise and tones, then a full-scale square wave whose ringing must saturate, not wrap around.
        x[i] = i < n / 2
          ? Math.round(6000 * Math.sin(i * 0.05) + 4000 * Math.sin(i * 1.3) + (rnd() - 0.5) * 12000)
          : ((i >> 6) & 1) === 0 ? 32767 : -32768;
      }
      const got = oneShot(inRate, outRate, x);
      const want = reference(inRate, outRate, x);
      expect(got.length).toBe(want.length);
      let worst = 0;
      let clipped = 0;
      for (let i = 0; i < want.length; i++) {
        worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
        if (want[i] === 32767 || want[i] === -32768) clipped++;
      }
      // Quantising the taps to Q15 moves an output by at most Σ|tap error| · 32768 (full-scale input), plus the
      // one LSB rounding may flip: a couple of LSB, about −84 dB, far below the filter's own 60 dB.
      const f = polyphaseFilter(inRate, outRate);
      let bound = 0;
      for (let p = 0; p < f.L; p++) {
        let e = 0;
        for (let j = 0; j < f.K; j++) e += Math.abs(f.taps[p * f.stride + j]! / 32768 - f.coeffs[p * f.K + j]!) * 32768;
        bound = Math.max(bound, e);
      }
      expect(worst).toBeLessThanOrEqual(Math.ceil(bound) + 1);
      expect(worst).toBeLessThanOrEqual(4);
      expect(clipped).toBeGreaterThan(0); // the square wave did reach the rails
    });
  }
});
