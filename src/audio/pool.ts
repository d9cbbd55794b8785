// Process-wide pool of fixed-size PCM slabs for the outbound playout queues.
// A call's queue borrows slabs while audio waits and hands them back when drained or flushed, so steady-state
// playout allocates nothing. The free list is an intrusive singly linked stack (the slab object carries `next`),
// which lets a whole queue be returned in O(1) by splicing its chain onto the stack.
// Growth is given back: slabs made beyond the initial ones are dropped once nothing needed them for a decay
// period (the peak in use over the last period is kept, so steady load stays allocation-free), and all of them at
// once when a call ends with no audio queued anywhere (Playout.dispose → trim()). A burst that grew the pool does
// not stay resident after its calls end.
// Dropping the reference is not enough for that: the memory would go back only at the next collection, and an
// idle relay allocates too little to trigger one (measured: 18 MB of dropped slabs still resident 8 s later). So a
// dropped slab's ArrayBuffer is detached (`transfer(0)`), which frees its bytes at once (docs/bun.md#memory-given-back).

/** 15360 B = 48/24/16 frames of 20 ms at 8/16/24 kHz S16LE (320/640/960 B): frame reads never straddle slabs. */
export const SLAB_BYTES = 15360;
/** Initial slabs of the shared pool (~1 MB); it grows on demand and counts each growth. */
export const SHARED_POOL_SLABS = 64;

export class Slab {
  /** Link used both by the pool's free stack and by a queue's chain; null when unlinked. */
  next: Slab | null = null;
  /** Made beyond the pool's initial slabs: may be dropped when no longer needed. */
  grown = false;
  // Frame views cached per frame size (usually one or two sizes per process), built once per slab lifetime.
  private viewSizes: number[] = [];
  private viewSets: Buffer[][] = [];

  constructor(readonly buf: Buffer) {}

  /**
   * Frees the bytes now rather than at the next collection, by detaching the slab's ArrayBuffer when it is the
   * slab's own (a grown slab's is; the initial slabs share one and are never released). The slab and its frame
   * views are empty afterwards and must not be used again.
   */
  release(): void {
    const ab = this.buf.buffer;
    if (ab instanceof ArrayBuffer && ab.byteLength === this.buf.byteLength) ab.transfer(0);
    this.viewSizes = [];
    this.viewSets = [];
  }

  /** Frame-aligned views of this slab for `frameBytes` (must divide the slab size); cached, so repeat calls allocate nothing. */
  frames(frameBytes: number): readonly Buffer[] {
    const sizes = this.viewSizes;
    for (let i = 0; i < sizes.length; i++) {
      if (sizes[i] === frameBytes) return this.viewSets[i]!;
    }
    if (frameBytes <= 0 || this.buf.length % frameBytes !== 0) {
      throw new RangeError(`frame size ${frameBytes} does not divide slab size ${this.buf.length}`);
    }
    const views: Buffer[] = [];
    for (let off = 0; off < this.buf.length; off += frameBytes) views.push(this.buf.subarray(off, off + frameBytes));
    sizes.push(frameBytes);
    this.viewSets.push(views);
    return views;
  }
}

export interface SlabPoolStats {
  slabBytes: number;
  /** Slabs ever created by this pool. */
  total: number;
  /** Slabs currently on the free stack. */
  free: number;
  /** Slabs created because the stack was empty (beyond the initial allocation), ever. */
  grown: number;
  /** Grown slabs dropped again (given back to the allocator), ever. */
  trimmed: number;
}

export interface SlabPoolOptions {
  /** Every this often, grown slabs beyond the period's peak use are dropped; 0 = only by trim(). Default 10 s. */
  decayMs?: number;
}

export const POOL_DECAY_MS = 10_000;

export class SlabPool {
  private freeHead: Slab | null = null;
  private freeCount = 0;
  private totalCount = 0;
  private grownCount = 0;
  private trimmedCount = 0;
  /** Most slabs in use at once since the last decay step. */
  private peakInUse = 0;
  private decayTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly decayMs: number;
  private readonly initialSlabs: number;

  constructor(
    readonly slabBytes: number = SLAB_BYTES,
    initialSlabs = 0,
    opts: SlabPoolOptions = {},
  ) {
    this.initialSlabs = initialSlabs;
    this.decayMs = opts.decayMs ?? POOL_DECAY_MS;
    if (!Number.isInteger(slabBytes) || slabBytes <= 0 || slabBytes % 2 !== 0) {
      throw new RangeError(`slabBytes must be a positive even integer, got ${slabBytes}`);
    }
    if (initialSlabs > 0) {
      // One backing allocation for the initial slabs keeps them contiguous and cheap to create.
      const backing = Buffer.allocUnsafeSlow(slabBytes * initialSlabs);
      for (let i = 0; i < initialSlabs; i++) {
        this.pushFree(this.track(new Slab(backing.subarray(i * slabBytes, (i + 1) * slabBytes))));
      }
    }
  }

  /** Pops a slab (contents undefined); grows the pool when empty rather than failing. */
  acquireSlab(): Slab {
    let s = this.freeHead;
    if (s !== null) {
      this.freeHead = s.next;
      s.next = null;
      this.freeCount--;
    } else {
      this.grownCount++;
      s = this.track(new Slab(Buffer.allocUnsafeSlow(this.slabBytes)));
      s.grown = true;
      this.scheduleDecay();
    }
    const inUse = this.totalCount - this.freeCount;
    if (inUse > this.peakInUse) this.peakInUse = inUse;
    return s;
  }

  releaseSlab(slab: Slab): void {
    this.pushFree(slab);
  }

  /** Returns a linked chain head→…→tail of `count` slabs in O(1). The caller must not touch them afterwards. */
  releaseChain(head: Slab, tail: Slab, count: number): void {
    tail.next = this.freeHead;
    this.freeHead = head;
    this.freeCount += count;
  }

  /** Slabs currently borrowed by queues. */
  get inUse(): number {
    return this.totalCount - this.freeCount;
  }

  /**
   * Drops free grown slabs until the pool holds at most `keep` slabs (never fewer than its initial ones, never a
   * borrowed one). Walks the free stack: it runs once per decay period or when the last call ends, not per frame.
   */
  trim(keep = 0): number {
    const target = Math.max(keep, this.initialSlabs);
    let dropped = 0;
    let prev: Slab | null = null;
    let s = this.freeHead;
    while (s !== null && this.totalCount > target) {
      const next: Slab | null = s.next;
      if (s.grown) {
        if (prev === null) this.freeHead = next;
        else prev.next = next;
        s.next = null;
        s.release();
        this.freeCount--;
        this.totalCount--;
        dropped++;
      } else {
        prev = s;
      }
      s = next;
    }
    this.trimmedCount += dropped;
    return dropped;
  }

  /** One decay step (the pool's timer runs it; tests may): keep what the last period needed at its peak, drop the rest. */
  decay(): void {
    this.trim(this.peakInUse);
    this.peakInUse = this.inUse;
  }

  stats(): SlabPoolStats {
    return { slabBytes: this.slabBytes, total: this.totalCount, free: this.freeCount, grown: this.grownCount, trimmed: this.trimmedCount };
  }

  private scheduleDecay(): void {
    if (this.decayTimer !== undefined || this.decayMs <= 0) return;
    this.decayTimer = setTimeout(() => {
      this.decayTimer = undefined;
      this.decay();
      if (this.totalCount > this.initialSlabs) this.scheduleDecay();
    }, this.decayMs);
    this.decayTimer.unref(); // the pool alone must not keep a process alive
  }

  private track(s: Slab): Slab {
    this.totalCount++;
    return s;
  }

  private pushFree(s: Slab): void {
    s.next = this.freeHead;
    this.freeHead = s;
    this.freeCount++;
  }
}

export const sharedPool: SlabPool = new SlabPool(SLAB_BYTES, SHARED_POOL_SLABS);

const poolsByFrame = new Map<number, SlabPool>();

/**
 * The process-wide pool whose slabs hold whole frames of `frameBytes`: the shared 15360-byte pool for every 20 ms
 * and 40 ms frame size, and one more pool per size that does not divide it (e.g. 60 ms at 24 kHz = 2880 B).
 */
export function sharedPoolFor(frameBytes: number): SlabPool {
  if (SLAB_BYTES % frameBytes === 0) return sharedPool;
  let p = poolsByFrame.get(frameBytes);
  if (p === undefined) {
    p = new SlabPool(Math.ceil(SLAB_BYTES / frameBytes) * frameBytes, 0);
    poolsByFrame.set(frameBytes, p);
  }
  return p;
}
