import { describe, expect, test } from "bun:test";
import { FrameQueue } from "../../src/audio/frame-queue.ts";
import { SLAB_BYTES, SlabPool, sharedPool } from "../../src/audio/pool.ts";

/** Bytes whose value encodes their absolute position, so order and loss are checkable. */
function pattern(start: number, len: number): Buffer {
  const b = Buffer.allocUnsafe(len);
  for (let i = 0; i < len; i++) b[i] = (start + i) * 7 % 251;
  return b;
}

function drain(q: FrameQueue, expectedStart: number): number {
  let pos = expectedStart;
  for (let f = q.readFrame(); f !== null; f = q.readFrame()) {
    for (let i = 0; i < f.length; i++) {
      if (f[i] !== (pos + i) * 7 % 251) throw new Error(`byte ${pos + i} out of order`);
    }
    pos += f.length;
  }
  return pos;
}

describe("SlabPool", () => {
  test("acquireSlab/releaseSlab reuses slabs LIFO and only grows when empty", () => {
    const pool = new SlabPool(SLAB_BYTES, 2);
    expect(pool.stats()).toEqual({ slabBytes: SLAB_BYTES, total: 2, free: 2, grown: 0, trimmed: 0 });
    const a = pool.acquireSlab();
    const b = pool.acquireSlab();
    expect(a.buf.length).toBe(SLAB_BYTES);
    expect(a.buf.buffer === b.buf.buffer && a.buf.byteOffset !== b.buf.byteOffset).toBe(true); // one backing allocation
    const c = pool.acquireSlab(); // pool empty: grows instead of failing
    expect(pool.stats()).toEqual({ slabBytes: SLAB_BYTES, total: 3, free: 0, grown: 1, trimmed: 0 });
    pool.releaseSlab(b);
    expect(pool.acquireSlab()).toBe(b);
    pool.releaseSlab(a);
    pool.releaseSlab(b);
    pool.releaseSlab(c);
    expect(pool.stats().free).toBe(3);
  });

  test("the shared pool uses 15360-byte slabs (whole 20 ms frames at 8/16/24 kHz)", () => {
    expect(sharedPool.slabBytes).toBe(15360);
    for (const fb of [320, 640, 960]) expect(15360 % fb).toBe(0);
  });
});

describe("FrameQueue", () => {
  test("odd-sized writes across slab boundaries come out as whole frames, in order, none lost", () => {
    const pool = new SlabPool(SLAB_BYTES, 0);
    const q = new FrameQueue(pool, 640);
    let written = 0;
    for (const len of [1, 639, 7777, 15359, 2, 30001, 333]) {
      q.write(pattern(written, len), 0, len);
      written += len;
    }
    expect(q.queuedBytes).toBe(written);
    expect(q.slabs).toBe(Math.ceil(written / SLAB_BYTES));
    const read = drain(q, 0);
    expect(read).toBe(Math.floor(written / 640) * 640);
    expect(q.queuedBytes).toBe(written % 640); // the partial frame waits
    q.padToFrame();
    const last = q.readFrame()!;
    expect(last.subarray(written % 640).every((v) => v === 0)).toBe(true);
    expect(q.queuedBytes).toBe(0);
    expect(q.slabs).toBe(0); // drained queue holds nothing
    expect(pool.stats().free).toBe(pool.stats().total);
  });

  test("interleaved write/read keeps wrapping through slabs (a stream far longer than the pool)", () => {
    const pool = new SlabPool(SLAB_BYTES, 2);
    const q = new FrameQueue(pool, 960);
    let written = 0;
    let read = 0;
    for (let i = 0; i < 2000; i++) {
      const len = 700 + (i % 5) * 131; // never frame-aligned
      q.write(pattern(written, len), 0, len);
      written += len;
      read = drain(q, read);
    }
    expect(written - read).toBe(q.queuedBytes);
    expect(read).toBeGreaterThan(100 * SLAB_BYTES);
    expect(pool.stats().grown).toBe(0); // never needed more than the two slabs
  });

  test("a 30 s burst at 16 kHz fits and comes out complete and in order", () => {
    const pool = new SlabPool(SLAB_BYTES, 4);
    const q = new FrameQueue(pool, 640);
    const total = 30 * 16000 * 2; // 960 000 bytes, 1 500 frames
    const chunk = 9600; // Gemini-sized 200 ms chunks at 24 kHz, here already at 16 kHz
    for (let w = 0; w < total; w += chunk) q.write(pattern(w, chunk), 0, chunk);
    expect(q.queuedBytes).toBe(total);
    expect(pool.stats().grown).toBe(Math.ceil(total / SLAB_BYTES) - 4); // grew rather than dropping
    let frames = 0;
    let pos = 0;
    for (let f = q.readFrame(); f !== null; f = q.readFrame()) {
      if (f[0] !== (pos * 7) % 251 || f[639] !== ((pos + 639) * 7) % 251) throw new Error(`frame ${frames} wrong`);
      pos += 640;
      frames++;
    }
    expect(frames).toBe(1500);
    expect(pool.stats().free).toBe(pool.stats().total);
  });

  test("flush hands every slab back at once and the queue is reusable", () => {
    const pool = new SlabPool(SLAB_BYTES, 0);
    const q = new FrameQueue(pool, 640);
    q.write(pattern(0, 100000), 0, 100000);
    const held = q.slabs;
    expect(held).toBe(7);
    expect(pool.stats().free).toBe(0);
    q.readFrame();
    q.flush();
    expect(q.queuedBytes).toBe(0);
    expect(q.slabs).toBe(0);
    expect(q.readFrame()).toBeNull();
    expect(pool.stats()).toEqual({ slabBytes: SLAB_BYTES, total: held, free: held, grown: held, trimmed: 0 });
    q.write(pattern(0, 6400), 0, 6400);
    expect(drain(q, 0)).toBe(6400);
  });

  test("frames are cached views: the same slab yields the same frame objects after reuse", () => {
    const pool = new SlabPool(SLAB_BYTES, 1);
    const q = new FrameQueue(pool, 640);
    q.write(pattern(0, 1280), 0, 1280);
    const a = [q.readFrame(), q.readFrame()];
    q.write(pattern(0, 1280), 0, 1280);
    const b = [q.readFrame(), q.readFrame()];
    expect(b[0]).toBe(a[0]!);
    expect(b[1]).toBe(a[1]!);
  });

  test("1 000 turns of fill + flush on a warmed pool never grow it", () => {
    const pool = new SlabPool(SLAB_BYTES, 0);
    const queues = [new FrameQueue(pool, 640), new FrameQueue(pool, 320)];
    const src = pattern(0, 48000);
    const turn = (i: number) => {
      for (const q of queues) {
        q.write(src, 0, 20000 + (i % 7) * 4000); // 0.6–1.4 s of audio
        for (let k = 0; k < i % 13; k++) q.readFrame();
        q.flush();
      }
    };
    for (let i = 0; i < 20; i++) turn(i); // warm-up
    const warm = pool.stats();
    for (let i = 0; i < 1000; i++) turn(i);
    expect(pool.stats()).toEqual(warm);
    expect(warm.free).toBe(warm.total);
  });
});

describe("SlabPool gives growth back", () => {
  test("trim drops free grown slabs only: never an initial one, never one a queue holds", () => {
    const pool = new SlabPool(SLAB_BYTES, 4, { decayMs: 0 });
    const q = new FrameQueue(pool, 640);
    q.write(pattern(0, 10 * SLAB_BYTES), 0, 10 * SLAB_BYTES); // 10 slabs: 4 initial + 6 grown
    expect(pool.stats()).toMatchObject({ total: 10, free: 0, grown: 6 });
    expect(pool.trim()).toBe(0); // all borrowed
    for (let i = 0; i < 5 * (SLAB_BYTES / 640); i++) q.readFrame(); // the first 5 slabs back: the 4 initial, 1 grown
    expect(pool.stats().free).toBe(5);
    pool.trim();
    expect(pool.stats()).toMatchObject({ total: 9, free: 4, trimmed: 1 }); // the free grown one went; the borrowed 5 stay
    expect(drain(q, 5 * SLAB_BYTES)).toBe(10 * SLAB_BYTES); // the queue's audio is intact
    pool.trim();
    expect(pool.stats()).toMatchObject({ total: 4, free: 4, trimmed: 6 }); // back to the initial slabs
    // The initial backing allocation survives and is reused.
    q.write(pattern(0, 4 * SLAB_BYTES), 0, 4 * SLAB_BYTES);
    expect(pool.stats().grown).toBe(6);
  });

  test("a trimmed slab's bytes are freed at once (its ArrayBuffer detached), not left for a collection", () => {
    const pool = new SlabPool(SLAB_BYTES, 2, { decayMs: 0 });
    const slabs = Array.from({ length: 6 }, () => pool.acquireSlab()); // 2 initial + 4 grown
    const bufs = slabs.map((s) => s.buf);
    for (const s of slabs) pool.releaseSlab(s);
    expect(pool.trim()).toBe(4);
    // Nothing but a collection could free a dropped reference; a detached buffer has given its memory back already.
    expect(bufs.filter((b) => (b.buffer as ArrayBuffer).detached).length).toBe(4);
    expect(bufs.filter((b) => b.byteLength === SLAB_BYTES).length).toBe(2); // the initial ones, untouched
    // The pool still works: the initial slabs serve, and growing again makes new slabs.
    const q = new FrameQueue(pool, 640);
    q.write(pattern(0, 3 * SLAB_BYTES), 0, 3 * SLAB_BYTES);
    expect(drain(q, 0)).toBe(3 * SLAB_BYTES);
    expect(pool.stats()).toMatchObject({ total: 3, grown: 5 });
  });

  test("decay keeps what the last period needed at its peak, and drops the rest a period later", () => {
    const pool = new SlabPool(SLAB_BYTES, 0, { decayMs: 0 });
    const q = new FrameQueue(pool, 640);
    const fill = (slabs: number) => {
      q.write(pattern(0, slabs * SLAB_BYTES), 0, slabs * SLAB_BYTES);
      q.flush();
    };
    fill(20); // a burst: 20 slabs
    fill(8);
    pool.decay(); // the period's peak was 20: nothing goes
    expect(pool.stats().total).toBe(20);
    fill(8);
    pool.decay(); // this period needed 8
    expect(pool.stats().total).toBe(8);
    // Steady load at that level: no growth and no drop across periods.
    for (let period = 0; period < 5; period++) {
      for (let i = 0; i < 50; i++) fill(1 + (i % 8));
      pool.decay();
    }
    expect(pool.stats()).toMatchObject({ total: 8, grown: 20, trimmed: 12 });
  });

  test("the pool schedules its own decay while it holds grown slabs", async () => {
    const pool = new SlabPool(SLAB_BYTES, 1, { decayMs: 30 });
    const q = new FrameQueue(pool, 640);
    q.write(pattern(0, 6 * SLAB_BYTES), 0, 6 * SLAB_BYTES);
    q.flush();
    const t0 = Date.now();
    while (pool.stats().total > 1 && Date.now() - t0 < 5000) await Bun.sleep(10);
    expect(pool.stats()).toMatchObject({ total: 1, trimmed: 5 });
  });
});
