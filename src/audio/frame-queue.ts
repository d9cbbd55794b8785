// Per-call FIFO of outbound PCM, stored in pooled slabs and read out as whole fixed-size frames.
// Reads are frame-aligned and the slab size is a multiple of the frame size, so every frame handed out is a
// cached view of one slab (no copy, no allocation). An empty queue holds no slab, so idle calls cost ~nothing.

import { type Slab, type SlabPool } from "./pool.ts";

export class FrameQueue {
  private head: Slab | null = null;
  private tail: Slab | null = null;
  private slabCount = 0;
  private headViews: readonly Buffer[] = [];
  private readIdx = 0; // frame index inside head
  private writePos = 0; // byte offset inside tail
  private bytes = 0;
  private readonly slabBytes: number;
  private readonly framesPerSlab: number;

  constructor(
    private readonly pool: SlabPool,
    readonly frameBytes: number,
  ) {
    this.slabBytes = pool.slabBytes;
    if (frameBytes <= 0 || this.slabBytes % frameBytes !== 0) {
      throw new RangeError(`frame size ${frameBytes} must divide the pool's slab size ${this.slabBytes}`);
    }
    this.framesPerSlab = this.slabBytes / frameBytes;
  }

  /** Bytes waiting (may include a partial last frame). */
  get queuedBytes(): number {
    return this.bytes;
  }

  /** Slabs currently held. */
  get slabs(): number {
    return this.slabCount;
  }

  /** Copies src[start, end) to the end of the queue. */
  write(src: Buffer, start: number, end: number): void {
    while (start < end) {
      const n = Math.min(end - start, this.room());
      src.copy(this.tail!.buf, this.writePos, start, start + n);
      this.writePos += n;
      this.bytes += n;
      start += n;
    }
  }

  /** Appends `count` zero bytes. */
  writeSilence(count: number): void {
    while (count > 0) {
      const n = Math.min(count, this.room());
      this.tail!.buf.fill(0, this.writePos, this.writePos + n);
      this.writePos += n;
      this.bytes += n;
      count -= n;
    }
  }

  /** Pads a trailing partial frame with silence so everything queued can be read. */
  padToFrame(): void {
    const partial = this.bytes % this.frameBytes;
    if (partial !== 0) this.writeSilence(this.frameBytes - partial);
  }

  /**
   * Next whole frame, or null when less than a frame is queued. The returned view is owned by the queue's slab:
   * use it synchronously (ws.send copies) — the slab may be recycled once the frame has been consumed.
   */
  readFrame(): Buffer | null {
    if (this.bytes < this.frameBytes) return null;
    const frame = this.headViews[this.readIdx]!;
    this.readIdx++;
    this.bytes -= this.frameBytes;
    if (this.bytes === 0) {
      // Fully drained: head === tail here; give the slab back so an idle call holds nothing.
      this.pool.releaseSlab(this.head!);
      this.head = this.tail = null;
      this.slabCount = 0;
      this.readIdx = 0;
      this.writePos = 0;
    } else if (this.readIdx === this.framesPerSlab) {
      const done = this.head!;
      this.head = done.next;
      done.next = null;
      this.pool.releaseSlab(done);
      this.slabCount--;
      this.headViews = this.head!.frames(this.frameBytes);
      this.readIdx = 0;
    }
    return frame;
  }

  /** Drops everything queued in O(1): the slab chain goes back to the pool in one splice. */
  flush(): void {
    if (this.head !== null) this.pool.releaseChain(this.head, this.tail!, this.slabCount);
    this.head = this.tail = null;
    this.slabCount = 0;
    this.readIdx = 0;
    this.writePos = 0;
    this.bytes = 0;
  }

  /** Free bytes in the tail slab, acquiring a new tail first when there is none or it is full. */
  private room(): number {
    if (this.tail === null) {
      const s = this.pool.acquireSlab();
      this.head = this.tail = s;
      this.headViews = s.frames(this.frameBytes);
      this.slabCount = 1;
      this.readIdx = 0;
      this.writePos = 0;
    } else if (this.writePos === this.slabBytes) {
      const s = this.pool.acquireSlab();
      this.tail.next = s;
      this.tail = s;
      this.slabCount++;
      this.writePos = 0;
    }
    return this.slabBytes - this.writePos;
  }
}
