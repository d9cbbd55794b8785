// Caller audio held while no Live socket may be written (handshake, rotation, reconnect).
// Bounded so a stalled handshake cannot grow memory; the oldest audio goes first because the newest is what the
// model needs to hear when the socket comes back. Drops are counted, never silent.

export const DEFAULT_QUEUE_BYTES = 64000; // 2 s of 16 kHz S16LE mono

export class AudioQueue {
  private chunks: Uint8Array[] = [];
  private head = 0;
  private bytes = 0;
  droppedChunks = 0;
  droppedBytes = 0;

  constructor(readonly maxBytes = DEFAULT_QUEUE_BYTES) {}

  get byteLength(): number {
    return this.bytes;
  }

  get length(): number {
    return this.chunks.length - this.head;
  }

  /** Copies `pcm` (the caller may reuse its buffer after return). */
  push(pcm: Uint8Array): void {
    if (pcm.byteLength === 0) return;
    // A real copy: `pcm` is often a Buffer, whose slice() is a view of the same memory.
    const copy = new Uint8Array(pcm);
    this.chunks.push(copy);
    this.bytes += copy.byteLength;
    while (this.bytes > this.maxBytes && this.head < this.chunks.length) {
      const old = this.chunks[this.head];
      this.chunks[this.head] = EMPTY;
      this.head++;
      if (old === undefined) break;
      this.bytes -= old.byteLength;
      this.droppedChunks++;
      this.droppedBytes += old.byteLength;
    }
    if (this.head > 1024 && this.head * 2 > this.chunks.length) this.compact();
  }

  /** Removes and returns every queued chunk, oldest first. */
  drain(): Uint8Array[] {
    const out = this.chunks.slice(this.head);
    this.chunks = [];
    this.head = 0;
    this.bytes = 0;
    return out;
  }

  clear(): void {
    this.drain();
  }

  private compact(): void {
    this.chunks = this.chunks.slice(this.head);
    this.head = 0;
  }
}

const EMPTY = new Uint8Array(0);
