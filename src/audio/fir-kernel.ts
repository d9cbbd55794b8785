// The resampler's SIMD kernel (fir-kernel.wat): one WebAssembly instance per process, shared by every Resampler.
// JavaScript's scalar loop cost ~18 ns per output sample at 32 taps; the kernel multiplies 8 Q15 taps at a time
// (i32x4.dot_i16x8_s) and costs about a quarter of that (bench/micro.ts).
//
// Its memory is fixed (never grown, so views of it stay valid) and laid out as:
//   [0, 8)                 state: the kernel's final base and phase
//   [TABLES, X)            each filter's taps and branch tables, loaded once per (inRate, outRate) design
//   [X, OUT)               one pass's input: a resampler's history, then its new samples
//   [OUT, end)             one pass's output
// A pass runs synchronously from copy-in to copy-out, so every resampler can use the same input and output areas.
import { FIR_KERNEL_WASM } from "./fir-kernel.bytes.ts";
import type { PolyphaseFilter } from "./fir.ts";

interface KernelExports {
  memory: WebAssembly.Memory;
  fir(x: number, limit: number, base: number, phase: number, out: number, taps: number, stride: number, next: number, adv: number, state: number): number;
}

const exports = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(FIR_KERNEL_WASM, "base64")), {}).exports as unknown as KernelExports;

/** Bytes of the kernel's memory. */
export const heap = Buffer.from(exports.memory.buffer);
const STATE = 0;
/** [base, phase] after the last runFir. */
export const kernelState: Readonly<Int32Array> = new Int32Array(exports.memory.buffer, STATE, 2);
const TABLES = 64;
export const X = 64 * 1024;
export const OUT = 128 * 1024;
/** Input samples of one pass at most (history included); the rest of X is slack for reads past the last window. */
export const X_SAMPLES = (OUT - X - 64) / 2;
/** Output samples of one pass at most. */
export const OUT_SAMPLES = (heap.length - OUT) / 2;

/** Where a filter's tables sit in the kernel's memory. */
export interface LoadedFilter {
  taps: number;
  next: number;
  adv: number;
  stride: number;
}

const loaded = new Map<PolyphaseFilter, LoadedFilter>();
let tablesEnd = TABLES;

function place(bytes: Uint8Array): number {
  const at = (tablesEnd + 15) & ~15;
  if (at + bytes.length > X) throw new RangeError("resampler kernel: no room for another filter's tables");
  heap.set(bytes, at);
  tablesEnd = at + bytes.length;
  return at;
}

const bytesOf = (a: Int16Array | Int32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Copies a filter's tables into the kernel's memory (once per design). */
export function loadFilter(f: PolyphaseFilter): LoadedFilter {
  let l = loaded.get(f);
  if (l === undefined) {
    l = { taps: place(bytesOf(f.taps)), next: place(bytesOf(f.nextPhase)), adv: place(bytesOf(f.advance)), stride: f.stride };
    loaded.set(f, l);
  }
  return l;
}

/**
 * Runs the filter over the `samples` input samples at X: every output whose window (stride samples from `base`)
 * starts before samples − K + 1 goes to OUT. Returns how many; the next window's base and branch are in
 * `kernelState` afterwards.
 */
export function runFir(f: LoadedFilter, K: number, samples: number, base: number, phase: number): number {
  return exports.fir(X, samples - K + 1, base, phase, OUT, f.taps, f.stride, f.next, f.adv, STATE);
}
