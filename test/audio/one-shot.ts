// One-shot resample of a whole signal, including the filter tail: what the resampler tests compare against.
import { Resampler } from "../../src/audio/resampler.ts";
import { fromBytes, toBytes } from "../support/signal.ts";

export function oneShot(inRate: number, outRate: number, x: Int16Array): Int16Array {
  const r = new Resampler(inRate, outRate);
  const bytes = toBytes(x);
  const out = new Uint8Array(r.maxOutputBytes(bytes.length) + r.maxFlushBytes());
  let n = r.process(bytes, out, 0);
  n += r.flush(out, n);
  return fromBytes(out.subarray(0, n));
}
