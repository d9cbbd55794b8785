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

/** Writes frame `seq` of call `call` into `out` (640 bytes, S16LE). call < 4096, seq < 262144. */
export function writeMarkedFrame(out: Uint8Array, call: number, seq: number): void {
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  out.fill(0);
  const data = [sixBits(call, 6), sixBits(call, 0), sixBits(seq, 12), sixBits(seq, 6), sixBits(seq, 0)];
  let sum = 0;
  for (let i = 0; i < 4; i++) dv.setInt16(i * 2, MAGIC[i]!, true);
  for (let i = 0; i < 5; i++) {
    dv.setInt16((4 + i) * 2, data[i]!, true);
    sum += data[i]!;
  }
  dv.setInt16(9 * 2, (sum * 7 + 13) & 63, true);
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
