// Caller frames carry a sequence marker in their samples so the stand-in can time each one.
// The marker is ten small samples (|x| <= 63) at the start of each 20 ms frame; the rest is silence.
// Small values keep the frame far below any energy VAD, so the bench alone decides when the model answers.

export const FRAME_SAMPLES = 320; // 20 ms at 16 kHz
export const FRAME_BYTES = FRAME_SAMPLES * 2;
const MAGIC = [41, -37, 29, -53] as const;
const MARKER_SAMPLES = 10;

function sixBits(v: number, shift: number): number {
  return (v >>> shift) & 63;
}

/** Writes the marker of frame `seq` of call `call` into the first 20 bytes of `out` (640 bytes, S16LE, the rest
 *  left as it is: callers keep one zeroed frame per call). call < 4096, seq < 262144. */
export function writeMarkedFrame(out: Uint8Array, call: number, seq: number): void {
  // All values are small, so each sample's high byte is 0x00 or 0xff.
  const put = (i: number, v: number) => {
    out[i * 2] = v & 0xff;
    out[i * 2 + 1] = v < 0 ? 0xff : 0;
  };
  for (let i = 0; i < 4; i++) put(i, MAGIC[i]!);
  const d0 = sixBits(call, 6), d1 = sixBits(call, 0), d2 = sixBits(seq, 12), d3 = sixBits(seq, 6), d4 = sixBits(seq, 0);
  put(4, d0);
  put(5, d1);
  put(6, d2);
  put(7, d3);
  put(8, d4);
  put(9, ((d0 + d1 + d2 + d3 + d4) * 7 + 13) & 63);
}

export interface Marker {
  call: number;
  seq: number;
}

/**
 * Reassembles one Live session's uplink as a byte stream (chunks may split samples and frames anywhere)
 * and reports each complete marker once. Markers are expected one frame apart, so after the first hit it
 * checks the expected position first and only scans when that fails.
 */
export class MarkerScanner {
  private buf = new Uint8Array(64 * 1024);
  private len = 0; // bytes held
  private pos = 0; // next sample-aligned byte offset to examine

  push(chunk: Uint8Array, onMarker: (m: Marker) => void): void {
    // Fast path (the usual case): nothing pending and whole frames, each starting with its marker: read them in
    // place, no copy.
    if (this.pos === this.len && chunk.length > 0 && chunk.length % FRAME_BYTES === 0) {
      const dv = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      let ok = true;
      for (let p = 0; p < chunk.length && ok; p += FRAME_BYTES) ok = this.decodeAt(dv, p) !== undefined;
      if (ok) {
        for (let p = 0; p < chunk.length; p += FRAME_BYTES) onMarker(this.decodeAt(dv, p)!);
        this.pos = this.len = 0;
        return;
      }
    }
    if (this.len + chunk.length > this.buf.length) this.compact(chunk.length);
    this.buf.set(chunk, this.len);
    this.len += chunk.length;
    const dv = new DataView(this.buf.buffer, 0, this.len);
    const need = MARKER_SAMPLES * 2;
    while (this.pos + need <= this.len) {
      const m = this.decodeAt(dv, this.pos);
      if (m) {
        onMarker(m);
        this.pos += FRAME_BYTES;
        // A frame not yet fully received: wait, the next marker cannot start before its end.
        continue;
      }
      this.pos += 2;
    }
  }

  private decodeAt(dv: DataView, p: number): Marker | undefined {
    for (let i = 0; i < 4; i++) if (dv.getInt16(p + i * 2, true) !== MAGIC[i]) return undefined;
    let sum = 0;
    const d: number[] = [];
    for (let i = 0; i < 5; i++) {
      const v = dv.getInt16(p + (4 + i) * 2, true);
      if (v < 0 || v > 63) return undefined;
      d.push(v);
      sum += v;
    }
    if (dv.getInt16(p + 18, true) !== ((sum * 7 + 13) & 63)) return undefined;
    return { call: (d[0]! << 6) | d[1]!, seq: (d[2]! << 12) | (d[3]! << 6) | d[4]! };
  }

  private compact(extra: number): void {
    // Keep from the examine position on; everything before it is already decoded or skipped.
    const start = Math.min(this.pos, this.len);
    const keep = this.len - start;
    const size = Math.max(this.buf.length, (keep + extra) * 2);
    const next = size === this.buf.length ? this.buf : new Uint8Array(size);
    next.set(this.buf.subarray(start, this.len), 0);
    this.buf = next;
    this.len = keep;
    this.pos -= start;
  }
}
