// A call's two lanes on one timeline, in samples at the call's rate: left the caller as received, right the agent
// as the caller heard it. Pure and synchronous; the time of each event is passed in (the pacer's clock in a call,
// a fake one in tests).
//
// Where things go:
// - Position p(t) = round((t - start) · rate) + offset. `offset` only grows: when a caller chunk arrives earlier
//   than the timeline says it can have been captured (it would end after p(now)), the timeline moves forward to
//   it, so the caller's stream, which the media server paces with its own clock, is never ahead of the recording's
//   clock. The least-delayed chunk sets where "now" is, as in any jitter estimate.
// - Caller: each chunk follows the previous one (the media server sends every 20 ms of the call, silence included,
//   and a late chunk is late, not missing). Only a stream behind the clock by more than `holdMs` (a pause in the
//   stream, or a clock running faster than the media server's) is re-anchored to end at its arrival, with silence
//   in the gap.
// - Agent: a frame sent while the media server's buffer still holds audio (the playout's far-buffer estimate
//   `farMs` > 0) plays right after the previous one, so it follows it; a frame sent to an empty buffer (a turn's
//   start, after an underrun or a barge-in) plays at once, at p(now). Either way it lands at send time plus the
//   far-buffer estimate, without the rounding of each frame's own time piling up over a call.
// - Barge-in (cut): what was sent but had not played by then (the far buffer the media server drops) is erased.
//
// Final audio: everything older than p(now) - holdMs; a late caller chunk still fits in before that. It is handed
// out in batches of about `batchMs`, interleaved stereo S16LE, so the writer never sees single frames; each batch
// is interleaved straight into room the output lends it (`TapeOut`), so batching allocates nothing.
// The ring holds hold + batch + the agent's lead, well under a second at the defaults.
import { Resampler } from "../audio/resampler.ts";

/** A caller chunk this late (behind the clock) is a pause in the stream, not jitter. */
export const HOLD_MS = 120;
/** Audio handed to the writer at a time. */
export const BATCH_MS = 300;
/** Largest batch, so a long silence after a pause is written in pieces. */
const MAX_BATCH_MS = 1000;

export interface TapeOptions {
  /** The recording's rate: the call's. */
  rate: number;
  /** Rate of the frames agent() gets (PLAYBACK_RATE); resampled to `rate` when different. */
  agentRate: number;
  /** Clock time (ms) of position 0. */
  start: number;
  /** The most the agent's audio runs ahead of the clock, ms (the playout's lead plus a frame): sizes the ring. */
  aheadMs: number;
  holdMs?: number;
  batchMs?: number;
  /** Where the batches go, in order. */
  out: TapeOut;
}

/**
 * Room for batches: each sample frame is one 32-bit word, the caller's sample in the low half and the agent's in the
 * high half, which is interleaved S16LE stereo on the little-endian platforms Bun runs on.
 */
export interface TapeOut {
  /** Room for the next batch, `frames` words of `words` from the index returned; -1 when it is not wanted. */
  reserve(frames: number): number;
  /** The array reserve()'s index is in (it may be another one after each reserve). */
  readonly words: Int32Array;
}

export class Tape {
  readonly rate: number;
  private readonly perMs: number;
  private readonly start: number;
  private readonly hold: number;
  private readonly batch: number;
  private readonly maxBatch: number;
  private readonly cap: number;
  private readonly mask: number;
  private readonly left: Int16Array;
  private readonly right: Int16Array;
  /** The lanes two samples at a time, for the interleave. */
  private readonly left2: Int32Array;
  private readonly right2: Int32Array;
  private readonly leftBytes: Uint8Array;
  private readonly rightBytes: Uint8Array;
  private readonly resampler: Resampler | null;
  private scratch: Buffer = Buffer.alloc(0);
  private readonly out: TapeOut;
  /** Everything before this position has been emitted. */
  private flushed = 0;
  private callerEnd = 0;
  private agentEnd = 0;
  private offset = 0;
  private ended = false;

  /** Times the caller's stream was re-anchored after a pause (silence put in the gap). */
  callerGaps = 0;
  /** Samples the timeline moved forward to a caller chunk that came early. */
  shiftedSamples = 0;

  constructor(o: TapeOptions) {
    this.rate = o.rate;
    this.perMs = o.rate / 1000;
    this.start = o.start;
    this.hold = Math.round((o.holdMs ?? HOLD_MS) * this.perMs);
    this.batch = Math.max(1, Math.round((o.batchMs ?? BATCH_MS) * this.perMs));
    this.maxBatch = Math.max(this.batch, Math.round(MAX_BATCH_MS * this.perMs));
    // Room for the held audio, a batch, the agent's lead and a large caller chunk, as a power of two.
    const need = this.hold + this.batch + Math.ceil((o.aheadMs + 200) * this.perMs);
    this.cap = 2 ** Math.ceil(Math.log2(need));
    this.mask = this.cap - 1;
    this.left = new Int16Array(this.cap);
    this.right = new Int16Array(this.cap);
    this.left2 = new Int32Array(this.left.buffer);
    this.right2 = new Int32Array(this.right.buffer);
    this.leftBytes = new Uint8Array(this.left.buffer);
    this.rightBytes = new Uint8Array(this.right.buffer);
    this.resampler = o.agentRate === o.rate ? null : new Resampler(o.agentRate, o.rate);
    this.out = o.out;
  }

  /** Position of clock time `now`, in samples. */
  position(now: number): number {
    return Math.round((now - this.start) * this.perMs) + this.offset;
  }

  /** Samples emitted so far (the file's length in sample frames). */
  get written(): number {
    return this.flushed;
  }

  /** A chunk of caller audio (S16LE mono at `rate`, whole samples) arrived at `now`. */
  caller(pcm: Uint8Array, now: number): void {
    const n = pcm.length >> 1;
    if (n === 0 || this.ended) return;
    let p = this.position(now);
    let at = this.callerEnd;
    if (at + n < p - this.hold) {
      at = p - n;
      this.callerGaps++;
    }
    if (at < this.flushed) at = this.flushed;
    if (at + n > p) {
      // Earlier than the clock allows: the clock is behind the caller's stream.
      const d = at + n - p;
      this.offset += d;
      this.shiftedSamples += d;
      p += d;
    }
    this.put(this.leftBytes, at, pcm, n);
    this.callerEnd = at + n;
    this.due(p);
  }

  /**
   * A frame of agent audio (S16LE mono at agentRate) handed to the media server at `now`, with `farMs` of audio
   * estimated in its buffer ahead of it (the playout's farBufferMs before this frame).
   */
  agent(frame: Uint8Array, farMs: number, now: number): void {
    if (this.ended) return;
    let src = frame;
    let bytes = frame.length;
    const rs = this.resampler;
    if (rs !== null) {
      const need = rs.maxOutputBytes(frame.length);
      if (this.scratch.length < need) this.scratch = Buffer.alloc(need);
      bytes = rs.process(frame, this.scratch, 0);
      src = this.scratch;
    }
    const n = bytes >> 1;
    if (n === 0) return;
    const p = this.position(now);
    let at: number;
    if (farMs <= 0) {
      at = Math.max(this.agentEnd, p);
    } else {
      // Follows the frame before it, unless that is more than a frame off where the estimate puts it.
      const expect = p + Math.round(farMs * this.perMs);
      at = this.agentEnd;
      if (expect - at > n || at < p) at = expect;
    }
    if (at < this.flushed) at = this.flushed;
    this.put(this.rightBytes, at, src, n);
    this.agentEnd = at + n;
    this.due(p);
  }

  /** Barge-in at `now`: the agent audio not yet played (the far buffer the media server drops) is not heard. */
  cut(now: number): void {
    if (this.ended) return;
    const from = Math.max(this.position(now), this.flushed);
    for (let pos = from; pos < this.agentEnd; pos++) this.right[pos & this.mask] = 0;
    if (this.agentEnd > from) this.agentEnd = from;
    this.resampler?.reset();
  }

  /** The call ended at `now`: agent audio still unplayed is cut, and everything up to the last audio is emitted. */
  end(now: number): void {
    if (this.ended) return;
    this.cut(now);
    this.ended = true;
    this.flushTo(Math.max(this.callerEnd, this.agentEnd));
  }

  /** Copies n samples of `src` to the lane at position `at`, emitting first what the ring must make room for. */
  private put(lane: Uint8Array, at: number, src: Uint8Array, n: number): void {
    if (at + n > this.flushed + this.cap) this.flushTo(at + n - this.cap);
    const i = at & this.mask;
    const first = Math.min(n, this.cap - i);
    // Buffer's copy on a plain Uint8Array: no view is allocated (subarray would allocate one per frame).
    Buffer.prototype.copy.call(src, lane, i * 2, 0, first * 2);
    if (first < n) Buffer.prototype.copy.call(src, lane, 0, first * 2, n * 2);
  }

  /** Emits a batch once a whole one is older than the hold. */
  private due(p: number): void {
    const final = p - this.hold;
    if (final - this.flushed >= this.batch) this.flushTo(final);
  }

  private flushTo(end: number): void {
    while (end > this.flushed) {
      const frames = Math.min(end - this.flushed, this.maxBatch);
      let k = this.out.reserve(frames);
      const words = this.out.words;
      for (let left = frames, i = this.flushed & this.mask; left > 0; i = 0) {
        const n = Math.min(left, this.cap - i);
        if (k >= 0) {
          this.interleave(words, k, i, i + n);
          k += n;
        }
        // Cleared for the positions a cap later.
        this.left.fill(0, i, i + n);
        this.right.fill(0, i, i + n);
        left -= n;
      }
      this.flushed += frames;
    }
  }

  /** Ring slots [from, to) into out[at…]; two sample frames per step (a 32-bit read of each lane), which takes
   *  about half the time of one frame per step. */
  private interleave(out: Int32Array, at: number, from: number, to: number): void {
    const l = this.left;
    const r = this.right;
    let k = at;
    if ((from & 1) === 1 && from < to) {
      out[k++] = (l[from]! & 0xffff) | (r[from]! << 16);
      from++;
    }
    const l2 = this.left2;
    const r2 = this.right2;
    const end = to >> 1;
    for (let j = from >> 1; j < end; j++, k += 2) {
      const a = l2[j]!;
      const b = r2[j]!;
      out[k] = (a & 0xffff) | (b << 16);
      out[k + 1] = (a >>> 16) | (b & 0xffff0000);
    }
    if ((to & 1) === 1 && to > from) out[k] = (l[to - 1]! & 0xffff) | (r[to - 1]! << 16);
  }
}
