// The canonical 44-byte WAV header (RIFF, "fmt " PCM, "data") for 16-bit PCM, and reading one back. A recording's
// header is rewritten after every batch with the sizes written so far, so the file is a complete WAV at every
// batch boundary: a process that dies leaves one that plays up to its last batch in any player.

export const HEADER_BYTES = 44;

export interface WavFormat {
  rate: number;
  channels: number;
}

/** The header for `dataBytes` of 16-bit PCM in `f`. */
export function wavHeader(f: WavFormat, dataBytes: number, into: Buffer = Buffer.alloc(HEADER_BYTES)): Buffer {
  const blockAlign = f.channels * 2;
  into.write("RIFF", 0, "latin1");
  into.writeUInt32LE(36 + dataBytes, 4);
  into.write("WAVE", 8, "latin1");
  into.write("fmt ", 12, "latin1");
  into.writeUInt32LE(16, 16);
  into.writeUInt16LE(1, 20); // PCM
  into.writeUInt16LE(f.channels, 22);
  into.writeUInt32LE(f.rate, 24);
  into.writeUInt32LE(f.rate * blockAlign, 28);
  into.writeUInt16LE(blockAlign, 32);
  into.writeUInt16LE(16, 34);
  into.write("data", 36, "latin1");
  into.writeUInt32LE(dataBytes, 40);
  return into;
}

export interface WavInfo extends WavFormat {
  /** What the header says the data chunk holds. */
  dataBytes: number;
}

/** Reads a header this module wrote; undefined when `b` is not one. */
export function readWavHeader(b: Uint8Array): WavInfo | undefined {
  if (b.length < HEADER_BYTES) return undefined;
  const buf = Buffer.from(b.buffer, b.byteOffset, HEADER_BYTES);
  if (buf.toString("latin1", 0, 4) !== "RIFF" || buf.toString("latin1", 8, 16) !== "WAVEfmt " || buf.toString("latin1", 36, 40) !== "data") return undefined;
  if (buf.readUInt16LE(20) !== 1 || buf.readUInt16LE(34) !== 16) return undefined;
  return { rate: buf.readUInt32LE(24), channels: buf.readUInt16LE(22), dataBytes: buf.readUInt32LE(40) };
}
