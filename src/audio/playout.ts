// One call's outbound audio: Gemini PCM → resampler → pooled frame queue → paced out to the media server.
//
// Pacing model (driven by the Pacer's ticks via pace()): farBufferMs estimates the audio sitting in the media
// server's buffer. Each tick subtracts the real elapsed time (floor 0), then sends frames while the estimate is
// below the lead (one more frame must fit within lead + LEAD_SLACK_MS) and a whole frame is queued. That sends the lead at once at the start of a turn, one frame per
// tick afterwards, catches up after a late tick and rebuilds the lead after a stall.
//
// Turn bookkeeping: audio opens a turn; generationComplete or turnComplete (first one wins) ends it with the
// resampler tail, padding to a whole frame and tailMs of silence (the media server holds back audio until its
// prebuffer fills, so without the tail the last syllable would never play). interrupted flushes everything
// synchronously and, if a turn was open, discards that turn's late audio until its turnComplete. Gemini follows
// `interrupted` with `turnComplete` within moments, but phantom interruptions without one happen: audio arriving
// more than discardValveMs after the cut is taken as a new answer (checked when audio arrives, no timer).
//
// Bounded: a turn that would queue more than maxQueuedMs (MAX_QUEUED_AUDIO_S) loses the rest of its audio, dropped
// at the tail before resampling, so a model bursting minutes of audio costs at most maxQueuedMs of slabs per call.

import { FrameQueue } from "./frame-queue.ts";
import { PeakMeter } from "./level.ts";
import type { Pacer, PacerSlot, Paced } from "./pacer.ts";
import { sharedPoolFor, type SlabPool } from "./pool.ts";
import { Resampler } from "./resampler.ts";

/** Frame duration when none is given (the grid the playout's own tests use); the relay passes PLAYOUT_FRAME_MS (default 60). */
export const FRAME_MS = 20;
/** The media server's prebuffer (~160 ms, docs/sautikit-stream.md#playback-and-the-prebuffer). */
export const PLAYOUT_LEAD_MS = 160;
export const TURN_TAIL_MS = 200;
/**
 * Timer jitter allowance (ms). Frames are sent while far + one frame ≤ lead + slack: with exact 20 ms ticks that
 * is "while far < lead", and a tick a fraction of a millisecond early or late still sends exactly one frame
 * instead of overshooting the lead by a frame or skipping a tick.
 */
export const LEAD_SLACK_MS = 2;
/** After a barge-in, model audio this long after the cut with no turnComplete in between is a new answer
 *  (docs/gemini-live.md#interruptions). */
export const DISCARD_VALVE_MS = 1500;
/** Input handed to the resampler per pass; bounds the shared scratch buffer. */
const SLICE_BYTES = 16384;

/** Where frames go: the call's socket (telephony's CallSocket is one). ws.sendBinary semantics: >0 sent, -1 queued
 *  under backpressure (wait for drain), 0 dropped. Must copy. */
export interface PlayoutSink {
  sendAudio(frame: Uint8Array): number;
  cork(fn: () => void): void;
}

export interface PlayoutOptions {
  outRate: 8000 | 16000 | 24000;
  /** Duration of each frame sent, ms (20, 40 or 60). Default FRAME_MS. */
  frameMs?: number;
  /** Send a starved playout's first frames when its audio arrives instead of at the next tick. Default true;
   *  false paces on the grid only (the grid model's own tests). */
  firstAudioAtOnce?: boolean;
  /** Audio kept ahead in the media server; values under one frame are treated as one frame. */
  leadMs: number;
  tailMs: number;
  /** Most audio queued here; past it the rest of the turn is dropped. Default: unbounded. */
  maxQueuedMs?: number;
  /** See DISCARD_VALVE_MS (the default). */
  discardValveMs?: number;
  pool?: SlabPool;
}

export interface PlayoutStats {
  outRate: number;
  /** Model audio chunks accepted (not discarded). */
  framesIn: number;
  /** Model audio bytes accepted, at the model's rate. */
  bytesIn: number;
  /** Frames handed to the sink (including ones it queued under backpressure, excluding lost ones). */
  framesOut: number;
  bytesOut: number;
  /** Times the media server's buffer ran dry mid-turn. */
  underruns: number;
  /** Time the media server's buffer sat empty mid-turn, ms. */
  underrunMs: number;
  /** Deepest the local queue got, in ms. */
  maxQueuedMs: number;
  /** Queue flushes by interrupt. */
  flushes: number;
  /** Frames the sink dropped (send returned 0). */
  framesLost: number;
  /** Their audio, ms (frames are frameMs long). */
  lostMs: number;
  /** Times the sink signalled backpressure (send returned -1). */
  backpressureStalls: number;
  /** Late audio of interrupted turns thrown away, bytes at the model's rate. */
  discardedBytes: number;
  /** Model turns that produced audio. */
  turns: number;
  /** Audio still queued, ms. */
  queuedMs: number;
  /** Model audio dropped because the queue was at maxQueuedMs, bytes at the model's rate. */
  overflowBytes: number;
  /** Turns that lost audio that way. */
  overflowTurns: number;
}

// Resampler output staging, shared by every Playout: single-threaded and used synchronously, so one is enough.
let scratch = Buffer.allocUnsafeSlow(65536);
function scratchFor(bytes: number): Buffer {
  if (scratch.length < bytes) scratch = Buffer.allocUnsafeSlow(Math.max(bytes, scratch.length * 2));
  return scratch;
}

/** Playback as data: how much of the current (or last) agent turn was queued, sent and heard. */
export interface TurnPlayback {
  /** 1-based index of the turn; 0 before any audio. */
  turn: number;
  /** Audio of the turn written to the queue so far (resampled, tail included), ms. */
  queuedMs: number;
  /** Handed to the media server, ms. */
  sentMs: number;
  /** Played to the caller by now, per the far-buffer estimate, ms. */
  heardMs: number;
}

/** Told when a turn's first frame goes out (first-audio latency), off the send loop's hot branch. */
export interface PlayoutListener {
  turnAudible(turn: number, firstAudioMs: number): void;
  /** The turn hit maxQueuedMs and loses the rest of its audio; once per turn. */
  overflow?(turn: number, queuedMs: number): void;
  /** An interrupted turn never completed, and audio came DISCARD_VALVE_MS later: taken as a new answer. */
  lateAudioAccepted?(afterMs: number): void;
}

export class Playout implements Paced {
  readonly outRate: 8000 | 16000 | 24000;
  readonly frameMs: number;
  readonly frameBytes: number;
  private readonly atOnce: boolean;
  readonly leadMs: number;
  readonly tailMs: number;
  /** Estimated audio in the media server's buffer, ms. */
  farBufferMs = 0;
  /** What the caller hears, for the console's level bar (one sample per frame sent). */
  readonly level = new PeakMeter();
  /** How the pacer knows this playout; null until join(), and again after leave(). */
  private slot: PacerSlot | null = null;

  private readonly queue: FrameQueue;
  private readonly pool: SlabPool;
  private readonly bytesPerMs: number;
  /** Send another frame while farBufferMs is at or below this. */
  private readonly sendAtOrBelowMs: number;
  private resampler: Resampler | null = null;
  private sink: PlayoutSink | null = null;
  private blocked = false;
  private disposed = false;
  private turnOpen = false; // model audio seen since the last turnComplete
  private turnEnded = false; // tail already appended for the open turn
  private discarding = false; // dropping late audio of an interrupted turn until its turnComplete
  private cutAt = 0; // performance.now() of the barge-in that started the discarding
  private readonly valveMs: number;
  private overflowing = false; // this turn hit the queue cap: the rest of its audio is dropped
  private readonly maxQueuedBytes: number;
  private readonly sendBurst = (): void => this.sendFrames();
  private listener: PlayoutListener | null = null;
  private drainWaiters: Array<() => void> = [];
  // Positions in the outbound stream, bytes: everything ever written (minus flushed), everything sent, and
  // where the current turn started. Turn playback is derived from these without per-turn bookkeeping.
  private writtenPos = 0;
  private sentPos = 0;
  private turnStartPos = 0;
  private turnFirstInAt = -1; // performance.now() of the turn's first model chunk until its first frame is sent

  private framesIn = 0;
  private bytesIn = 0;
  private framesOut = 0;
  private bytesOut = 0;
  private underruns = 0;
  private underrunMs = 0;
  private deepestBytes = 0;
  private flushes = 0;
  private framesLost = 0;
  private stalls = 0;
  private discardedBytes = 0;
  private turns = 0;
  private overflowBytes = 0;
  private overflowTurns = 0;

  constructor(opts: PlayoutOptions) {
    this.outRate = opts.outRate;
    this.frameMs = opts.frameMs ?? FRAME_MS;
    this.atOnce = opts.firstAudioAtOnce ?? true;
    this.frameBytes = (opts.outRate / 1000) * this.frameMs * 2;
    this.bytesPerMs = (opts.outRate / 1000) * 2;
    this.leadMs = Math.max(this.frameMs, opts.leadMs);
    this.tailMs = Math.max(0, opts.tailMs);
    this.sendAtOrBelowMs = this.leadMs + LEAD_SLACK_MS - this.frameMs;
    this.maxQueuedBytes = opts.maxQueuedMs === undefined ? Infinity : Math.max(this.frameMs, opts.maxQueuedMs) * this.bytesPerMs;
    this.valveMs = opts.discardValveMs ?? DISCARD_VALVE_MS;
    this.pool = opts.pool ?? sharedPoolFor(this.frameBytes);
    this.queue = new FrameQueue(this.pool, this.frameBytes);
  }

  /** Audio may arrive before the socket; it waits in the queue. A new sink starts with an empty far buffer. */
  attach(sink: PlayoutSink): void {
    this.sink = sink;
    this.blocked = false;
    this.farBufferMs = 0;
  }

  listen(l: PlayoutListener): void {
    this.listener = l;
  }

  /** Paced by `pacer` from its next tick on. */
  join(pacer: Pacer): void {
    this.slot?.leave();
    this.slot = pacer.add(this);
  }

  leave(): void {
    this.slot?.leave();
    this.slot = null;
  }

  /** Registered with a running pacer. */
  get paced(): boolean {
    return this.slot?.pacer != null;
  }

  /** Gemini PCM (S16LE mono; `rate` from its mimeType, normally 24000). The bytes are copied before returning. */
  pushModelAudio(bytes: Uint8Array, rate: number): void {
    if (this.disposed || bytes.length === 0) return;
    if (this.discarding) {
      const afterMs = performance.now() - this.cutAt;
      if (afterMs < this.valveMs) {
        this.discardedBytes += bytes.length;
        return;
      }
      // The interrupted turn never completed: this is the next answer.
      this.discarding = false;
      this.listener?.lateAudioAccepted?.(afterMs);
    }
    if (!this.turnOpen || this.turnEnded) {
      // A new turn (or audio after generationComplete): start the resampler from silence.
      if (!this.turnOpen) {
        this.turns++;
        this.turnStartPos = this.writtenPos;
        this.turnFirstInAt = performance.now();
        this.overflowing = false;
      }
      this.turnOpen = true;
      this.turnEnded = false;
    }
    if (this.overflowing) {
      this.overflowBytes += bytes.length;
      return;
    }
    let rs = this.resampler;
    if (rs === null || rs.inRate !== rate) rs = this.resampler = new Resampler(rate, this.outRate);
    this.slot?.wake();
    this.framesIn++;
    this.bytesIn += bytes.length;
    const wasStarved = this.queue.queuedBytes < this.frameBytes;
    for (let start = 0; start < bytes.length; start += SLICE_BYTES) {
      if (this.queue.queuedBytes >= this.maxQueuedBytes) {
        this.overflow(bytes.length - start);
        break;
      }
      const end = Math.min(bytes.length, start + SLICE_BYTES);
      // Slicing allocates, so only inputs larger than one slice (rare, multi-second bursts) are split.
      const part = start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end);
      const buf = scratchFor(rs.maxOutputBytes(part.length));
      const n = rs.process(part, buf, 0);
      this.queue.write(buf, 0, n);
      this.writtenPos += n;
    }
    this.noteDepth();
    // First audio at once: a starved playout (new turn, after a barge-in, or mid-turn underrun) does not wait for
    // the next tick; pacing on the clock's time keeps it on the same far-buffer model as the ticks.
    if (wasStarved && this.atOnce && this.sink !== null) this.slot?.paceNow();
  }

  onGenerationComplete(): void {
    this.endTurn();
  }

  onTurnComplete(): void {
    if (this.discarding) {
      this.discarding = false; // the interrupted turn is over; the next audio is a new answer
    } else {
      this.endTurn();
    }
    this.turnOpen = false;
    this.turnEnded = false;
    this.overflowing = false;
  }

  /** Barge-in: drop queued audio and filter state now. Late audio of an open turn is ignored until its turnComplete. */
  onInterrupted(): void {
    if (this.disposed) return;
    this.queue.flush();
    this.resampler?.reset();
    this.farBufferMs = 0;
    this.writtenPos = this.sentPos; // the unsent rest of the stream is gone
    this.turnFirstInAt = -1;
    this.flushes++;
    // With no open turn (turnComplete already seen, no audio since) there is nothing late to discard, and
    // discarding would swallow the next answer.
    if (this.turnOpen) {
      this.discarding = true;
      this.cutAt = performance.now();
    }
    this.turnOpen = false;
    this.turnEnded = false;
    this.overflowing = false;
  }

  /** True while late audio of an interrupted turn is being dropped (until that turn's turnComplete). */
  get discardingLateAudio(): boolean {
    return this.discarding;
  }

  onDrain(): void {
    this.blocked = false;
  }

  queuedMs(): number {
    return this.queue.queuedBytes / this.bytesPerMs;
  }

  /** True while a model turn is producing audio (opened, not yet ended by generationComplete/turnComplete). */
  get speaking(): boolean {
    return this.turnOpen && !this.turnEnded;
  }

  /** Playback of the current (or last) turn; see TurnPlayback. */
  playback(): TurnPlayback {
    const bpm = this.bytesPerMs;
    const turnBytes = this.writtenPos - this.turnStartPos;
    const sent = clamp(this.sentPos - this.turnStartPos, 0, turnBytes);
    const heard = clamp(this.sentPos / bpm - this.farBufferMs - this.turnStartPos / bpm, 0, sent / bpm);
    return { turn: this.turns, queuedMs: turnBytes / bpm, sentMs: sent / bpm, heardMs: heard };
  }

  /** True when nothing is queued here and the media server's buffer is estimated empty. */
  get drained(): boolean {
    return this.queue.queuedBytes < this.frameBytes && this.farBufferMs === 0;
  }

  /** Resolves once everything queued has been played to the caller (checked on every pacer tick). */
  whenDrained(): Promise<void> {
    if (this.drained || this.disposed) return Promise.resolve();
    this.slot?.wake();
    return new Promise((r) => this.drainWaiters.push(r));
  }

  /**
   * Called by the Pacer on its tick (and through the slot for a turn's first audio) with the real time since the
   * last call. Returns false when there is nothing to do until more audio arrives: nothing queued, nothing left
   * playing at the far end, no turn open and no one waiting for the drain (the pacer then skips it until it wakes).
   */
  pace(elapsedMs: number): boolean {
    const before = this.farBufferMs;
    let far = before - elapsedMs;
    if (far < 0) far = 0;
    this.farBufferMs = far;
    if (this.drainWaiters.length > 0 && this.drained) this.releaseWaiters();
    const sink = this.sink;
    if (sink === null || this.blocked || far > this.sendAtOrBelowMs) return true;
    const fb = this.frameBytes;
    const queued = this.queue.queuedBytes;
    if (queued < fb) {
      const speaking = this.speaking;
      if (far === 0 && speaking && this.sentPos > this.turnStartPos) {
        if (before > 0) this.underruns++;
        this.underrunMs += elapsedMs - before; // the part of this tick the caller heard nothing
      }
      return far > 0 || speaking || this.drainWaiters.length > 0;
    }
    if (queued >= 2 * fb && far + this.frameMs <= this.sendAtOrBelowMs) sink.cork(this.sendBurst);
    else this.sendFrames();
    return true;
  }

  stats(): PlayoutStats {
    return {
      outRate: this.outRate,
      framesIn: this.framesIn,
      bytesIn: this.bytesIn,
      framesOut: this.framesOut,
      bytesOut: this.bytesOut,
      underruns: this.underruns,
      underrunMs: this.underrunMs,
      maxQueuedMs: this.deepestBytes / this.bytesPerMs,
      flushes: this.flushes,
      framesLost: this.framesLost,
      lostMs: this.framesLost * this.frameMs,
      backpressureStalls: this.stalls,
      discardedBytes: this.discardedBytes,
      turns: this.turns,
      queuedMs: this.queuedMs(),
      overflowBytes: this.overflowBytes,
      overflowTurns: this.overflowTurns,
    };
  }

  /**
   * Returns the queue's slabs to the pool and unregisters from the pacer. Idempotent. When that leaves no audio
   * queued anywhere, the pool gives back what bursts grew it by (once per call end, never per frame).
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.queue.flush();
    if (this.pool.inUse === 0) this.pool.trim();
    this.resampler = null;
    this.sink = null;
    this.leave();
    this.releaseWaiters();
  }

  private releaseWaiters(): void {
    const w = this.drainWaiters;
    this.drainWaiters = [];
    for (const r of w) r();
  }

  private sendFrames(): void {
    const sink = this.sink;
    if (sink === null) return;
    const fb = this.frameBytes;
    while (this.farBufferMs <= this.sendAtOrBelowMs && this.queue.queuedBytes >= fb) {
      const frame = this.queue.readFrame()!;
      this.level.see(frame);
      const r = sink.sendAudio(frame);
      if (r === 0) {
        // Dropped by the socket (closed or over its limit): lost; stop for this tick rather than lose more.
        this.framesLost++;
        return;
      }
      this.framesOut++;
      this.bytesOut += fb;
      this.sentPos += fb;
      this.farBufferMs += this.frameMs;
      if (this.turnFirstInAt >= 0 && this.sentPos > this.turnStartPos) this.firstFrameOut();
      if (r < 0) {
        // Queued under backpressure: it will be sent, but nothing more until drain.
        this.stalls++;
        this.blocked = true;
        return;
      }
    }
  }

  /** The queue is full: the rest of this turn is dropped (at the tail: what is queued still plays). */
  private overflow(droppedBytes: number): void {
    this.overflowing = true;
    this.overflowTurns++;
    this.overflowBytes += droppedBytes;
    this.listener?.overflow?.(this.turns, this.queuedMs());
  }

  private firstFrameOut(): void {
    const ms = performance.now() - this.turnFirstInAt;
    this.turnFirstInAt = -1;
    this.listener?.turnAudible(this.turns, ms);
  }

  private endTurn(): void {
    if (!this.turnOpen || this.turnEnded || this.disposed) return;
    this.turnEnded = true;
    this.slot?.wake(); // the tail must play out
    const rs = this.resampler;
    if (rs !== null) {
      const buf = scratchFor(rs.maxFlushBytes());
      const n = rs.flush(buf, 0);
      this.queue.write(buf, 0, n);
      this.writtenPos += n;
    }
    const before = this.queue.queuedBytes;
    this.queue.padToFrame();
    const fb = this.frameBytes;
    this.queue.writeSilence(Math.ceil((this.tailMs * this.bytesPerMs) / fb) * fb);
    this.writtenPos += this.queue.queuedBytes - before;
    this.noteDepth();
  }

  private noteDepth(): void {
    if (this.queue.queuedBytes > this.deepestBytes) this.deepestBytes = this.queue.queuedBytes;
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}
