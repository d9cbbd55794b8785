import { afterEach, describe, expect, test } from "bun:test";
import { Pacer, realClock } from "../../src/audio/pacer.ts";
import { Playout, type PlayoutSink } from "../../src/audio/playout.ts";
import { SLAB_BYTES, SlabPool } from "../../src/audio/pool.ts";
import { FakeClock } from "../support/fake-clock.ts";
import { fromBytes, tone, toBytes, zeroCrossFreq } from "../support/signal.ts";

/** Records what was sent (copied, as ws.send does) and how often cork was used; send results are scriptable. */
class TestSink implements PlayoutSink {
  frames: Uint8Array[] = [];
  objects: Uint8Array[] = [];
  corks = 0;
  nextResults: number[] = [];
  sendAudio(frame: Uint8Array): number {
    const r = this.nextResults.shift() ?? frame.length;
    this.objects.push(frame);
    if (r !== 0) this.frames.push(new Uint8Array(frame));
    return r;
  }
  cork(fn: () => void): void {
    this.corks++;
    fn();
  }
  take(): number {
    const n = this.frames.length;
    this.frames = [];
    return n;
  }
}

/** 16 kHz frames whose first sample is the frame's sequence number, so order is visible. */
function numberedFrames(first: number, count: number): Uint8Array {
  const b = Buffer.alloc(count * 640);
  for (let i = 0; i < count; i++) b.writeInt16LE(first + i, i * 640);
  return b;
}
const seq = (f: Uint8Array) => Buffer.from(f.buffer, f.byteOffset, f.length).readInt16LE(0);
const silent = (f: Uint8Array) => f.every((v) => v === 0);

let pacers: Pacer[] = [];
afterEach(() => {
  for (const p of pacers) p.stop();
  pacers = [];
});

/** The grid model on its own: frames leave on ticks only (firstAudioAtOnce is tested separately). */
function setup(opts: { leadMs?: number; tailMs?: number; pool?: SlabPool; attach?: boolean; atOnce?: boolean; frameMs?: number; phases?: number } = {}) {
  const clock = new FakeClock();
  const pacer = new Pacer({ clock, phases: opts.phases ?? 1 });
  pacers.push(pacer);
  const pool = opts.pool ?? new SlabPool(SLAB_BYTES, 8);
  const p = new Playout({
    outRate: 16000,
    leadMs: opts.leadMs ?? 160,
    tailMs: opts.tailMs ?? 200,
    pool,
    firstAudioAtOnce: opts.atOnce ?? false,
    frameMs: opts.frameMs ?? 20,
  });
  const sink = new TestSink();
  if (opts.attach !== false) p.attach(sink);
  p.join(pacer);
  return { clock, pacer, pool, p, sink };
}

describe("Pacer + Playout on a fake clock", () => {
  test("sends the 160 ms lead at once (8 × 640 B), then exactly one frame per tick", () => {
    const { clock, p, sink } = setup();
    p.pushModelAudio(numberedFrames(0, 50), 16000);
    clock.advance(20);
    expect(sink.frames.length).toBe(8);
    expect(sink.frames.every((f) => f.length === 640)).toBe(true);
    expect(sink.corks).toBe(1); // several frames to one socket in one tick → corked
    expect(p.farBufferMs).toBe(160);
    sink.take();
    for (let i = 0; i < 10; i++) {
      clock.advance(20);
      expect(sink.take()).toBe(1);
    }
    expect(p.farBufferMs).toBe(160);
    expect(p.stats().framesOut).toBe(18);
  });

  test("jittery ticks (±0.7 ms) still send exactly one frame each and never exceed the lead", () => {
    const { clock, p, sink } = setup();
    p.pushModelAudio(numberedFrames(0, 200), 16000);
    clock.advance(20);
    expect(sink.take()).toBe(8);
    const jitter = [0.7, 0, 0.3, 0.7, 0.1, 0.6, 0, 0.2];
    let maxFar = 0;
    for (let i = 0; i < 100; i++) {
      clock.fireNextLate(jitter[i % jitter.length]!);
      expect(sink.take()).toBe(1);
      maxFar = Math.max(maxFar, p.farBufferMs);
    }
    expect(maxFar).toBeLessThanOrEqual(160);
    expect(p.stats().underruns).toBe(0);
  });

  test("the pacer re-arms on an absolute grid with ceil'd delays", () => {
    const { clock } = setup();
    clock.advance(20);
    clock.fireNextLate(7); // fires at +7 ms
    clock.advance(100);
    // 20 (first), then 20 after an on-time tick, then 13 after the 7 ms-late one, then back to 20s.
    expect(clock.requested.slice(0, 4)).toEqual([20, 20, 13, 20]);
  });

  test("catch-up: a tick 60 ms late sends the due frame plus 3 catch-up frames; a 60 ms gap sends 3", () => {
    const { clock, p, sink } = setup();
    p.pushModelAudio(numberedFrames(0, 100), 16000);
    clock.advance(20);
    clock.advance(20);
    sink.take();
    clock.fireNextLate(60); // due 20 ms after the previous tick, fired 80 ms after it
    expect(sink.take()).toBe(4);
    expect(p.farBufferMs).toBe(160);
    // Missed grid points are skipped, not replayed: the next tick is at most one period away.
    const before = clock.now();
    clock.fireNextLate(0);
    expect(clock.now() - before).toBeLessThanOrEqual(20);
    expect(sink.take()).toBe(1);
    // A tick whose gap to the previous one is 60 ms (40 ms late) owes 3 frames.
    sink.take();
    clock.fireNextLate(40);
    expect(sink.take()).toBe(3);
    expect(p.stats().underruns).toBe(0);
    expect(p.stats().framesOut).toBe(8 + 1 + 4 + 1 + 3);
  });

  test("frames come out in order across the whole stream, then the tail, and nothing after", () => {
    const { clock, p, sink } = setup({ tailMs: 200 });
    p.pushModelAudio(numberedFrames(1, 30), 16000);
    p.onGenerationComplete();
    p.onTurnComplete(); // second end-of-turn signal: no second tail
    clock.advance(20 * 60);
    expect(sink.frames.length).toBe(30 + 10);
    for (let i = 0; i < 30; i++) expect(seq(sink.frames[i]!)).toBe(i + 1);
    expect(sink.frames.slice(30).every(silent)).toBe(true);
    expect(p.stats().underruns).toBe(0); // the turn had ended: draining is not an underrun
  });

  test("tail silence: a partial frame is padded and 200 ms of silence appended once per turn", () => {
    const { clock, p, sink } = setup({ tailMs: 200 });
    const audio = Buffer.alloc(640 * 3 + 100, 0x11);
    p.pushModelAudio(audio, 16000);
    expect(p.queuedMs()).toBeCloseTo((640 * 3 + 100) / 32, 6);
    p.onGenerationComplete();
    expect(p.queuedMs()).toBe(80 + 200);
    p.onGenerationComplete();
    p.onTurnComplete();
    expect(p.queuedMs()).toBe(280);
    clock.advance(20 * 30);
    expect(sink.frames.length).toBe(14);
    const f4 = sink.frames[3]!;
    expect(f4.subarray(0, 100).every((v) => v === 0x11)).toBe(true);
    expect(f4.subarray(100).every((v) => v === 0)).toBe(true);
    // turnComplete without generationComplete also appends the tail (once).
    p.pushModelAudio(Buffer.alloc(640, 0x22), 16000);
    p.onTurnComplete();
    p.onTurnComplete();
    expect(p.queuedMs()).toBe(20 + 200);
  });

  test("no sends when nothing is queued, and none without a sink (audio waits for attach)", () => {
    const { clock, p, sink } = setup({ attach: false });
    clock.advance(200);
    expect(sink.frames.length).toBe(0);
    p.pushModelAudio(numberedFrames(0, 20), 16000);
    clock.advance(200);
    expect(sink.objects.length).toBe(0);
    expect(p.queuedMs()).toBe(400);
    const late = new TestSink();
    p.attach(late);
    clock.advance(20);
    expect(late.frames.length).toBe(8);
    expect(seq(late.frames[0]!)).toBe(0);
  });

  test("a playout that is not speaking costs no sends even with a partial frame queued", () => {
    const { clock, p, sink } = setup();
    p.pushModelAudio(Buffer.alloc(300), 16000);
    clock.advance(100);
    expect(sink.objects.length).toBe(0);
  });

  test("backpressure: -1 stops sends to that call until onDrain; 0 counts a lost frame", () => {
    const { clock, p, sink } = setup();
    p.pushModelAudio(numberedFrames(0, 100), 16000);
    sink.nextResults = [640, 640, -1];
    clock.advance(20);
    expect(sink.objects.length).toBe(3); // stopped right after the -1 (that frame was still queued by the socket)
    clock.advance(100);
    expect(sink.objects.length).toBe(3);
    expect(p.stats().backpressureStalls).toBe(1);
    p.onDrain();
    clock.advance(20);
    // 120 ms passed since the 60 ms it had: far buffer ran dry, so the full lead is rebuilt.
    expect(sink.objects.length).toBe(3 + 8);
    sink.nextResults = [0];
    clock.advance(20);
    const s = p.stats();
    expect(s.framesLost).toBe(1);
    expect(s.lostMs).toBe(20);
    expect(s.framesOut).toBe(3 + 8);
    expect(s.bytesOut).toBe(11 * 640);
    // Frames after the lost one keep their order (the lost frame is gone, not re-sent).
    const seqs = sink.frames.map(seq);
    expect(seqs).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    clock.advance(20);
    expect(seq(sink.frames[sink.frames.length - 1]!)).toBeGreaterThan(11);
  });

  test("a lost frame counts its own duration in lostMs (60 ms frames)", () => {
    const { clock, p, sink } = setup({ frameMs: 60 });
    p.pushModelAudio(numberedFrames(0, 30), 16000);
    sink.nextResults = [0];
    clock.advance(20);
    expect(p.stats().framesLost).toBe(1);
    expect(p.stats().lostMs).toBe(60);
  });

  test("underrun counted when the far buffer runs dry mid-turn, not after the turn ended", () => {
    const { clock, p, sink } = setup();
    p.pushModelAudio(numberedFrames(0, 4), 16000); // 80 ms: less than the lead
    clock.advance(20); // sends 4 → far 80
    clock.advance(100); // drains to 0 with the turn still open
    expect(p.stats().underruns).toBe(1);
    clock.advance(100); // still dry: one episode, one count
    expect(p.stats().underruns).toBe(1);
    p.pushModelAudio(numberedFrames(4, 2), 16000);
    p.onGenerationComplete();
    clock.advance(400);
    expect(p.stats().underruns).toBe(1);
    expect(sink.frames.length).toBe(4 + 2 + 10);
  });

  test("interrupt flushes synchronously, discards the rest of the turn, but not the next turn", () => {
    const { clock, p, sink, pool } = setup();
    p.pushModelAudio(numberedFrames(0, 200), 16000);
    clock.advance(60);
    expect(sink.take()).toBe(10);
    expect(p.farBufferMs).toBeLessThanOrEqual(160); // the stale audio the caller can still hear
    p.onInterrupted();
    // Same event-loop turn: queue empty, slabs back in the pool, far buffer reset.
    expect(p.queuedMs()).toBe(0);
    expect(pool.stats().free).toBe(pool.stats().total);
    expect(p.farBufferMs).toBe(0);
    p.pushModelAudio(numberedFrames(1000, 10), 16000); // late audio of the interrupted turn
    clock.advance(100);
    expect(sink.take()).toBe(0);
    p.onTurnComplete(); // ends the interrupted turn; no tail for discarded audio
    expect(p.queuedMs()).toBe(0);
    p.pushModelAudio(numberedFrames(2000, 10), 16000); // the next answer
    clock.advance(20);
    expect(sink.frames.map(seq)).toEqual([2000, 2001, 2002, 2003, 2004, 2005, 2006, 2007]);
    const s = p.stats();
    expect(s.flushes).toBe(1);
    expect(s.discardedBytes).toBe(6400);
    expect(s.turns).toBe(2);
  });

  test("interrupt with no open turn flushes but does not discard the next answer", () => {
    const { clock, p, sink } = setup();
    p.pushModelAudio(numberedFrames(0, 50), 16000);
    p.onGenerationComplete();
    p.onTurnComplete(); // Gemini is done; playback of the finished turn continues
    clock.advance(40);
    sink.take();
    p.onInterrupted(); // caller talks over the playback
    expect(p.queuedMs()).toBe(0);
    p.pushModelAudio(numberedFrames(500, 10), 16000); // the answer to what the caller said
    clock.advance(20);
    expect(sink.frames.map(seq)).toEqual([500, 501, 502, 503, 504, 505, 506, 507]);
    expect(p.stats().discardedBytes).toBe(0);
  });

  test("steady-state sends reuse the same frame view objects across turns (no per-frame allocation)", () => {
    const pool = new SlabPool(SLAB_BYTES, 2);
    const { clock, p, sink } = setup({ pool, tailMs: 0 });
    const turn = () => {
      sink.objects = [];
      p.pushModelAudio(numberedFrames(0, 24), 16000);
      p.onTurnComplete();
      clock.advance(20 * 30);
      return sink.objects.slice();
    };
    const a = turn();
    const b = turn();
    expect(a.length).toBe(24);
    expect(b.length).toBe(24);
    for (let i = 0; i < 24; i++) expect(b[i]).toBe(a[i]!);
    expect(pool.stats().grown).toBe(0);
  });

  test("24 kHz model audio is resampled to 16 kHz frames: a 1 kHz tone stays 1 kHz", () => {
    const { clock, p, sink } = setup({ tailMs: 0 });
    const x = toBytes(tone(24000, 1000, 1));
    for (let i = 0; i < x.length; i += 11520) p.pushModelAudio(x.subarray(i, i + 11520), 24000);
    p.onTurnComplete();
    clock.advance(20 * 60);
    expect(sink.frames.length).toBe(51); // 1 s = 50 frames, + the filter tail padded to a frame
    const y = fromBytes(Buffer.concat(sink.frames));
    expect(Math.abs(zeroCrossFreq(y, 16000, 320, 16000 - 320) - 1000)).toBeLessThan(1);
  });

  test("a 30 s burst from Gemini is held in full and played out in order at real time", () => {
    const pool = new SlabPool(SLAB_BYTES, 4);
    const { clock, p, sink } = setup({ pool, tailMs: 0 });
    for (let i = 0; i < 1500; i += 15) p.pushModelAudio(numberedFrames(i, 15), 16000);
    p.onTurnComplete();
    expect(p.queuedMs()).toBe(30000);
    expect(p.stats().maxQueuedMs).toBe(30000);
    expect(pool.stats().grown).toBeGreaterThan(0);
    clock.advance(20 * 100);
    expect(sink.frames.length).toBe(8 + 99); // lead, then one per tick: paced, not dumped
    clock.advance(30000);
    expect(sink.frames.length).toBe(1500);
    for (let i = 0; i < 1500; i++) if (seq(sink.frames[i]!) !== i) throw new Error(`frame ${i} out of order`);
    expect(pool.stats().free).toBe(pool.stats().total);
  });

  test("1 000 turns with interrupts on one call never grow a warmed pool", () => {
    const pool = new SlabPool(SLAB_BYTES, 0);
    const { clock, p } = setup({ pool });
    const chunk = toBytes(tone(24000, 440, 0.24));
    for (let i = 0; i < 1020; i++) {
      if (i === 20) expect(pool.stats().grown).toBeGreaterThan(0);
      const warm = pool.stats().grown;
      for (let k = 0; k < 5; k++) p.pushModelAudio(chunk, 24000);
      clock.advance(20 * (i % 4));
      if (i % 2 === 0) p.onInterrupted();
      p.onTurnComplete();
      clock.advance(20 * 80);
      if (i >= 20) expect(pool.stats().grown).toBe(warm);
    }
    expect(pool.stats().free).toBe(pool.stats().total);
  });

  test("dispose returns slabs, unregisters from the pacer and stops its timer; idempotent", () => {
    const { clock, pacer, p, pool } = setup();
    p.pushModelAudio(numberedFrames(0, 100), 16000);
    expect(pool.stats().free).toBeLessThan(pool.stats().total);
    p.dispose();
    p.dispose();
    expect(pool.stats().free).toBe(pool.stats().total);
    expect(pacer.size).toBe(0);
    expect(pacer.running).toBe(false);
    expect(clock.pending).toBe(0);
    p.pushModelAudio(numberedFrames(0, 10), 16000);
    expect(p.queuedMs()).toBe(0);
  });
});

describe("Pacer lifecycle", () => {
  test("idle pacer holds no timer; add starts it, removing the last stops it", () => {
    const clock = new FakeClock();
    const pacer = new Pacer({ clock });
    pacers.push(pacer);
    expect(clock.pending).toBe(0);
    const p = new Playout({ outRate: 8000, leadMs: 160, tailMs: 200, pool: new SlabPool() });
    p.join(pacer);
    expect(pacer.running).toBe(true);
    expect(clock.pending).toBe(1);
    clock.advance(100);
    expect(pacer.ticks).toBe(5);
    p.leave();
    expect(clock.pending).toBe(0);
    clock.advance(100);
    expect(pacer.ticks).toBe(5);
  });

  test("8 kHz calls get 320-byte frames", () => {
    const clock = new FakeClock();
    const pacer = new Pacer({ clock });
    pacers.push(pacer);
    const p = new Playout({ outRate: 8000, leadMs: 160, tailMs: 0, pool: new SlabPool(), firstAudioAtOnce: false });
    const sink = new TestSink();
    p.attach(sink);
    p.join(pacer);
    p.pushModelAudio(toBytes(tone(24000, 1000, 0.5)), 24000);
    clock.advance(20);
    expect(sink.frames.length).toBe(8);
    expect(sink.frames.every((f) => f.length === 320)).toBe(true);
  });

  test("the real clock can start and stop (no timing asserted)", () => {
    const pacer = new Pacer({ clock: realClock });
    pacers.push(pacer);
    const p = new Playout({ outRate: 16000, leadMs: 160, tailMs: 200, pool: new SlabPool() });
    p.join(pacer);
    expect(pacer.running).toBe(true);
    pacer.stop();
    expect(pacer.running).toBe(false);
    expect(p.paced).toBe(false);
  });
});

describe("first audio at once, frame size, phases", () => {
  test("a starved playout sends the lead when audio arrives, not at the next tick; then one frame per tick", () => {
    const { clock, p, sink } = setup({ atOnce: true });
    clock.advance(7); // mid-period
    p.pushModelAudio(numberedFrames(0, 50), 16000);
    expect(sink.take()).toBe(8); // same event-loop turn
    expect(p.farBufferMs).toBe(160);
    let maxFar = 0;
    let sent = 0;
    for (let i = 0; i < 20; i++) {
      clock.advance(20);
      const n = sink.take();
      expect(n).toBeLessThanOrEqual(1); // back on the grid: one frame per tick at most
      sent += n;
      maxFar = Math.max(maxFar, p.farBufferMs);
    }
    expect(sent).toBeGreaterThanOrEqual(19); // real time: 400 ms of ticks after the lead
    expect(maxFar).toBeLessThanOrEqual(160 + 20); // never ahead by more than one frame
    expect(p.stats().underruns).toBe(0);
  });

  test("after a barge-in the next answer's first chunk goes out at once too", () => {
    const { clock, p, sink } = setup({ atOnce: true });
    p.pushModelAudio(numberedFrames(0, 50), 16000);
    clock.advance(100);
    p.onInterrupted();
    p.onTurnComplete();
    sink.take();
    clock.advance(3);
    p.pushModelAudio(numberedFrames(100, 20), 16000);
    const out = sink.frames.splice(0);
    expect(out.length).toBeGreaterThan(0);
    expect(seq(out[0]!)).toBe(100);
  });

  test("40 ms frames: 1280-byte frames, the lead in 4 frames, then one frame every other tick", () => {
    const { clock, p, sink } = setup({ frameMs: 40 });
    p.pushModelAudio(numberedFrames(0, 60), 16000);
    clock.advance(20);
    expect(sink.frames.every((f) => f.length === 1280)).toBe(true);
    expect(sink.take()).toBe(4);
    let sent = 0;
    for (let i = 0; i < 20; i++) {
      clock.advance(20);
      sent += sink.take();
      expect(p.farBufferMs).toBeLessThanOrEqual(160);
    }
    expect(sent).toBe(10); // 400 ms of audio in 400 ms
  });

  test("60 ms frames at 24 kHz get their own pool (2880 B does not divide the shared slab)", () => {
    const p = new Playout({ outRate: 24000, leadMs: 160, tailMs: 0, frameMs: 60 });
    expect(p.frameBytes).toBe(2880);
    p.pushModelAudio(Buffer.alloc(24000 * 2), 24000);
    expect(p.queuedMs()).toBeCloseTo(1000, 0);
    p.dispose();
  });

  test("4 phases: each tick paces a quarter of the calls, every call still gets one frame per 20 ms", () => {
    const clock = new FakeClock();
    const pacer = new Pacer({ clock, phases: 4 });
    pacers.push(pacer);
    const sinks: TestSink[] = [];
    for (let i = 0; i < 8; i++) {
      const p = new Playout({ outRate: 16000, leadMs: 160, tailMs: 0, pool: new SlabPool(), firstAudioAtOnce: false });
      const s = new TestSink();
      p.attach(s);
      p.join(pacer);
      p.pushModelAudio(numberedFrames(0, 100), 16000);
      sinks.push(s);
    }
    clock.advance(20); // every phase has had its first tick: the lead went out everywhere
    for (const s of sinks) expect(s.take()).toBe(8);
    const perTick: number[] = [];
    for (let t = 0; t < 16; t++) {
      clock.advance(5);
      perTick.push(sinks.reduce((n, s) => n + s.take(), 0));
    }
    expect(perTick.every((n) => n === 2)).toBe(true); // 8 calls over 4 sub-ticks
    // A sub-tick 12 ms late serves the phases it skipped: nobody owes a frame afterwards.
    clock.fireNextLate(12);
    clock.advance(20);
    const owed = sinks.map((s) => s.take());
    expect(owed.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(8);
    expect(owed.every((n) => n >= 1 && n <= 2)).toBe(true);
  });
});

describe("idle playouts leave the tick", () => {
  test("only calls with audio to play are paced; a drained call wakes itself with its next answer", () => {
    const clock = new FakeClock();
    const pacer = new Pacer({ clock, phases: 4 });
    pacers.push(pacer);
    const calls = Array.from({ length: 8 }, () => {
      const p = new Playout({ outRate: 16000, leadMs: 160, tailMs: 40, pool: new SlabPool(), firstAudioAtOnce: true });
      const s = new TestSink();
      p.attach(s);
      p.join(pacer);
      return { p, s };
    });
    clock.advance(40); // nothing queued anywhere: every playout goes idle on its first tick
    expect(pacer.size).toBe(8);
    expect(pacer.awake).toBe(0);
    const [a, b] = calls as [(typeof calls)[0], (typeof calls)[0]];
    a.p.pushModelAudio(numberedFrames(0, 25), 16000); // 500 ms
    b.p.pushModelAudio(numberedFrames(0, 10), 16000);
    expect(pacer.awake).toBe(2);
    expect(a.s.take()).toBe(8); // the lead goes out at once, as before
    // Still paced one frame per 20 ms while asleep calls cost nothing.
    const got: number[] = [];
    for (let t = 0; t < 5; t++) {
      clock.advance(20);
      got.push(a.s.take());
    }
    expect(got).toEqual([1, 1, 1, 1, 1]);
    a.p.onTurnComplete();
    b.p.onTurnComplete();
    clock.advance(2000); // the rest, the tail, and the far buffer's 160 ms all played
    expect(a.s.frames.length + 8 + 5).toBe(25 + 2); // 25 frames of audio + 2 of tail in all
    expect(a.p.drained).toBe(true);
    expect(pacer.awake).toBe(0);
    // A drain waiter keeps nobody awake once drained, and a new answer wakes the call.
    let drained = false;
    void a.p.whenDrained().then(() => (drained = true));
    a.p.pushModelAudio(numberedFrames(100, 3), 16000);
    expect(pacer.awake).toBe(1);
    expect(seq(a.s.frames[a.s.frames.length - 3]!)).toBe(100); // first audio at once, on waking
    a.p.onTurnComplete();
    clock.advance(1000);
    expect(pacer.awake).toBe(0);
    expect(a.p.stats().underrunMs).toBe(0);
    // stop() lets go of every playout, the idle ones too.
    pacer.stop();
    expect(calls.every(({ p }) => !p.paced)).toBe(true);
    return Promise.resolve().then(() => expect(drained).toBe(true));
  });
});

describe("bounded playout (MAX_QUEUED_AUDIO_S)", () => {
  function capped(maxQueuedMs: number) {
    const clock = new FakeClock();
    const pool = new SlabPool(SLAB_BYTES, 0, { decayMs: 0 });
    const pacer = new Pacer({ clock });
    pacers.push(pacer);
    const p = new Playout({ outRate: 16000, leadMs: 160, tailMs: 200, maxQueuedMs, pool, firstAudioAtOnce: false });
    const overflows: Array<[number, number]> = [];
    p.listen({ turnAudible: () => {}, overflow: (turn, ms) => overflows.push([turn, ms]) });
    const sink = new TestSink();
    p.attach(sink);
    p.join(pacer);
    return { clock, pool, pacer, p, sink, overflows };
  }

  test("a 5-minute burst queues the cap, drops the rest of the turn once, and plays the rest in order", () => {
    const { clock, p, sink, overflows } = capped(2000);
    for (let i = 0; i < 15000; i += 50) p.pushModelAudio(numberedFrames(i, 50), 16000); // 300 s in 1 s chunks
    expect(p.queuedMs()).toBe(2000); // 1 s chunks land exactly on the cap
    expect(overflows).toEqual([[1, 2000]]); // told once for the turn
    const s = p.stats();
    expect(s.overflowTurns).toBe(1);
    expect(s.overflowBytes).toBe(298 * 32000);
    p.onTurnComplete();
    clock.advance(20 * 200);
    // The first 2 s, whole and in order, then the 200 ms tail of silence, and nothing of the dropped rest.
    expect(sink.frames.length).toBe(100 + 10);
    for (let i = 0; i < 100; i++) if (seq(sink.frames[i]!) !== i) throw new Error(`frame ${i} out of order`);
    expect(sink.frames.slice(100).every(silent)).toBe(true);
    // The next turn is heard again.
    p.pushModelAudio(numberedFrames(7, 10), 16000);
    clock.advance(20 * 20);
    expect(sink.frames.some((f) => seq(f) === 7)).toBe(true);
    expect(p.stats().overflowTurns).toBe(1);
  });

  test("a chunk larger than the room overshoots by at most one resampler slice; a barge-in clears the overflow", () => {
    const { p, overflows } = capped(1000);
    p.pushModelAudio(numberedFrames(0, 40), 16000); // 800 ms
    p.pushModelAudio(numberedFrames(40, 100), 16000); // 2 s more in one chunk: cut within it
    expect(p.queuedMs()).toBeGreaterThanOrEqual(1000);
    expect(p.queuedMs()).toBeLessThan(1000 + 16384 / 32);
    expect(overflows.length).toBe(1);
    p.onInterrupted();
    p.onTurnComplete();
    p.pushModelAudio(numberedFrames(0, 10), 16000);
    expect(p.queuedMs()).toBe(200);
  });

  test("a call ending with no audio queued anywhere makes the pool give back what bursts grew; not while others hold some", () => {
    const { p, pool } = capped(60000);
    const other = new Playout({ outRate: 16000, leadMs: 160, tailMs: 0, pool });
    for (let i = 0; i < 3000; i += 50) p.pushModelAudio(numberedFrames(i, 50), 16000); // 60 s
    other.pushModelAudio(numberedFrames(0, 10), 16000);
    const grown = pool.stats().total;
    expect(grown).toBe(Math.ceil((60 * 32000) / SLAB_BYTES) + 1);
    p.dispose(); // the other call still holds audio: keep (the decay period will trim later)
    expect(pool.stats().total).toBe(grown);
    other.dispose();
    expect(pool.stats()).toMatchObject({ total: 0, trimmed: grown });
  });
});
