// One recording's file, written in the background: batches are queued and written in order by one async writer,
// so nothing on the audio path ever waits for the disk. After each batch the header is rewritten with the sizes
// written so far (a second small write), so a process that dies leaves a WAV that plays to its last batch.
// The first failure (a full or read-only disk, a disk so slow the queue passes its bound) stops this file for
// good: it is reported once, later batches are dropped, and what was written stays playable.
import { open, type FileHandle } from "node:fs/promises";
import { HEADER_BYTES, wavHeader, type WavFormat } from "./wav.ts";

export interface WavFileOptions {
  format: WavFormat;
  /** Queued bytes past which the disk is taken to be failing (the file stops rather than hold more in memory). */
  maxQueuedBytes: number;
  /** The first failure, once. */
  failed(err: unknown): void;
}

/** Opens `path` for a new recording, never over an existing file ("wx"). */
export function createFile(path: string): Promise<FileHandle> {
  return open(path, "wx");
}

export class WavFile {
  /** Set at the first failure: why this file stopped. */
  error: unknown = undefined;
  private fh: FileHandle | undefined;
  private readonly opened: Promise<boolean>;
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private pumping: Promise<void> | undefined;
  private dataBytes = 0;
  private readonly header = Buffer.alloc(HEADER_BYTES);
  private closed = false;

  /** `file`: the new, empty file (see createFile), or why there is none. */
  constructor(
    file: Promise<FileHandle>,
    private readonly o: WavFileOptions,
  ) {
    this.opened = this.open(file);
  }

  /** Audio written to the file so far (the data chunk), bytes. */
  get written(): number {
    return this.dataBytes;
  }

  /** Resolves true once the file is open with its header, false if it could not be. */
  get ready(): Promise<boolean> {
    return this.opened;
  }

  private async open(file: Promise<FileHandle>): Promise<boolean> {
    try {
      this.fh = await file;
      await this.writeAll(wavHeader(this.o.format, 0, this.header), 0);
      return true;
    } catch (err) {
      this.fail(err);
      return false;
    }
  }

  /** Queues a batch (the file takes the buffer). Never blocks; dropped once the file has failed. */
  append(batch: Buffer): void {
    if (this.error !== undefined || this.closed) return;
    if (this.queuedBytes + batch.length > this.o.maxQueuedBytes) {
      this.fail(new Error(`the disk fell behind: more than ${this.o.maxQueuedBytes} bytes of audio waiting to be written`));
      return;
    }
    this.queue.push(batch);
    this.queuedBytes += batch.length;
    this.pumping ??= this.pump();
  }

  private async pump(): Promise<void> {
    try {
      if (!(await this.opened)) return;
      while (this.queue.length > 0 && this.error === undefined) {
        const b = this.queue.shift()!;
        this.queuedBytes -= b.length;
        try {
          await this.writeAll(b, HEADER_BYTES + this.dataBytes);
          this.dataBytes += b.length;
          await this.writeAll(wavHeader(this.o.format, this.dataBytes, this.header), 0);
        } catch (err) {
          this.fail(err);
        }
      }
    } finally {
      this.pumping = undefined;
    }
  }

  private async writeAll(b: Buffer, position: number): Promise<void> {
    const fh = this.fh!;
    for (let off = 0; off < b.length; ) {
      const { bytesWritten } = await fh.write(b, off, b.length - off, position + off);
      if (bytesWritten <= 0) throw Object.assign(new Error("no space left on device (short write)"), { code: "ENOSPC" });
      off += bytesWritten;
    }
  }

  private fail(err: unknown): void {
    if (this.error !== undefined) return;
    this.error = err;
    this.queue = [];
    this.queuedBytes = 0;
    this.o.failed(err);
  }

  /** Writes what is queued (unless failed) and closes. Resolves with whether the file was opened. */
  async close(): Promise<boolean> {
    this.closed = true;
    const ok = await this.opened;
    while (this.pumping !== undefined) await this.pumping;
    if (this.fh !== undefined) await this.fh.close().catch(() => undefined);
    this.fh = undefined;
    return ok;
  }
}
