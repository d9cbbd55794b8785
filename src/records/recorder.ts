// Call events → record writes. An observer on the call event hub (events reach it off the audio path, on a later
// macrotask); it only turns each event into a write op and queues it. One writer drains the queue in batches,
// one transaction per batch, never awaited by a call. While the database is slow or down the ops wait in a
// bounded queue; past the bound new ops are dropped, counted and logged, and the writer retries with backoff.
import type { AnalysisSpec } from "../call/agent.ts";
import type { CallEvent } from "../call/events.ts";
import type { Logger } from "../log.ts";
import type { RecordOp } from "./record.ts";
import { errText, type RecordStore } from "./store.ts";

/** A call's start and end (and anything queued with them) are written this soon: the console's history, the API
 *  and the end-of-call webhook follow a call within moments. */
export const BOUNDARY_DELAY_MS = 25;
/** Utterances and tool calls, the bulk of a busy relay's writes, gather this long: each transaction and statement
 *  has a fixed cost, so fewer, larger ones are cheaper (measured: half the records' CPU at 200 calls). */
export const TURN_DELAY_MS = 250;
const BATCH_MAX = 500;
const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 5000;

const round2 = (n: number): number => Math.round(n * 100) / 100;

interface CallState {
  /** The agent's name, from the started event (the analysis to queue at the end is its). */
  agent: string;
  utterances: number;
  tools: number;
  toolSeq: Map<string, number>;
}

export interface RecorderOptions {
  store: RecordStore;
  queueMax: number;
  /** Queue an end-of-call webhook delivery with each ended call. */
  deliveries: boolean;
  log: Logger;
  /** Called after a batch holding ended calls was written (the delivery worker looks for work then). */
  onEnded?: () => void;
  /** The host the <Stream> URLs name (PUBLIC_URL's), for the record of a call whose socket never came. */
  streamHost?: () => string;
  /** The named agent's `analysis`, looked up when its call ends: one is queued with the call's end. */
  analysisFor?: (agent: string) => AnalysisSpec | undefined;
}

export class Recorder {
  private queue: RecordOp[] = [];
  private readonly calls = new Map<string, CallState>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt = 0;
  private writing: Promise<void> | undefined;
  private retryMs = 0;
  private failingSince: number | undefined;
  private stopped = false;
  /** Ops dropped because the queue was full. */
  dropped = 0;
  /** Ops written. */
  written = 0;

  constructor(private readonly o: RecorderOptions) {}

  get pending(): number {
    return this.queue.length;
  }

  /** The call event observer (subscribe it to CallManager.events). */
  readonly observe = (e: CallEvent): void => {
    const op = this.toOp(e);
    if (op !== undefined) this.push(op);
  };

  private state(id: string, agent = ""): CallState {
    let s = this.calls.get(id);
    if (s === undefined) {
      s = { agent, utterances: 0, tools: 0, toolSeq: new Map() };
      this.calls.set(id, s);
    }
    return s;
  }

  private toOp(e: CallEvent): RecordOp | undefined {
    switch (e.type) {
      case "started":
        this.state(e.callId, e.agent).agent = e.agent;
        return { kind: "started", id: e.callId, agent: e.agent, caller: e.caller, callee: e.callee, source: e.source, at: e.at, purpose: e.purpose };
      case "neverStarted": {
        const host = this.o.streamHost?.();
        return {
          kind: "unanswered",
          id: e.callId,
          at: e.at,
          reason: "no_media",
          detail: `the media server never opened the audio socket${host ? ` (stream URL host ${host})` : ""}; waited ${e.waitedMs} ms`,
        };
      }
      case "refused":
        // The record keeps no end reason for a call that never started, but a model that could not be opened.
        return { kind: "unanswered", id: e.callId, at: e.at, reason: e.reason === "no_model" ? "model_failed" : null, detail: e.detail };
      case "metadata":
        return { kind: "metadata", id: e.callId, meta: e.meta };
      case "transcript":
        if (!e.final) return undefined;
        return {
          kind: "utterance",
          id: e.callId,
          seq: this.state(e.callId).utterances++,
          role: e.role,
          text: e.text,
          startMs: e.startMs,
          endMs: e.endMs,
          interrupted: e.interrupted,
          heardMs: e.heardMs ?? null,
          ...(e.grounding !== undefined ? { grounding: e.grounding } : {}),
        };
      case "toolCall": {
        const s = this.state(e.callId);
        const seq = s.tools++;
        s.toolSeq.set(e.id, seq);
        return { kind: "toolCall", id: e.callId, seq, toolCallId: e.id, name: e.name, args: e.args, atMs: e.atMs };
      }
      case "toolResult": {
        const seq = this.calls.get(e.callId)?.toolSeq.get(e.id);
        if (seq === undefined) return undefined;
        return { kind: "toolResult", id: e.callId, seq, outcome: e.outcome, durationMs: e.durationMs, result: e.result, atMs: e.atMs };
      }
      case "ended": {
        const agent = this.calls.get(e.callId)?.agent ?? "";
        this.calls.delete(e.callId);
        const spec = agent === "" ? undefined : this.o.analysisFor?.(agent);
        return {
          kind: "ended",
          id: e.callId,
          at: e.at,
          durationMs: e.durationMs,
          reason: e.reason,
          detail: e.detail,
          agentTurns: e.agentTurns,
          bargeIns: e.bargeIns,
          rejectedTurns: e.rejectedTurns,
          // µs digits of a latency are noise in a record.
          firstAudioMs: e.firstAudioMs && { p50: round2(e.firstAudioMs.p50), max: round2(e.firstAudioMs.max) },
          audio: e.audio,
          model: e.model,
          usage: e.usage,
          delivery: this.o.deliveries ? { id: `msg_${crypto.randomUUID().replaceAll("-", "")}` } : undefined,
          analysis: spec === undefined ? undefined : { agent, spec },
        };
      }
      case "recording":
        return { kind: "recording", id: e.callId, ...e.recording };
      default:
        // bargeIn, turn, usage: summed up in the ended event.
        return undefined;
    }
  }

  /** Queues a write; never blocks and never throws. */
  push(op: RecordOp): void {
    if (this.queue.length >= this.o.queueMax) {
      this.dropped++;
      if (this.dropped === 1 || this.dropped % 100 === 0) {
        this.o.log.error({ callId: op.id, op: op.kind, dropped: this.dropped, queueMax: this.o.queueMax }, "records: write queue full; dropping record data");
      }
      return;
    }
    this.queue.push(op);
    const delay = op.kind === "utterance" || op.kind === "toolCall" || op.kind === "toolResult" ? TURN_DELAY_MS : BOUNDARY_DELAY_MS;
    // While the database is failing, the retry backoff decides when to try again, not new ops.
    this.schedule(Math.max(delay, this.retryMs));
  }

  /** Writes in `delayMs`, or sooner if a write is already due sooner. */
  private schedule(delayMs: number): void {
    if (this.writing !== undefined || this.stopped) return;
    const at = performance.now() + delayMs;
    if (this.timer !== undefined) {
      if (at >= this.timerAt) return;
      clearTimeout(this.timer);
    }
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.pump();
    }, delayMs);
  }

  /** Starts writing the queue's head, unless a write is in flight (then that one). One writer at a time. */
  private pump(): Promise<void> {
    if (this.writing !== undefined) return this.writing;
    this.writing = this.writeBatch().finally(() => {
      this.writing = undefined;
      if (this.queue.length > 0) this.schedule(this.retryMs);
    });
    return this.writing;
  }

  private async writeBatch(): Promise<void> {
    const batch = this.queue.slice(0, BATCH_MAX);
    if (batch.length === 0) return;
    try {
      await this.o.store.write(batch);
    } catch (err) {
      this.retryMs = Math.min(Math.max(RETRY_MIN_MS, this.retryMs * 2), RETRY_MAX_MS);
      if (this.failingSince === undefined) {
        this.failingSince = Date.now();
        this.o.log.error({ err: errText(err), waiting: this.queue.length }, "records: database write failed; records wait in memory and are retried");
      }
      return;
    }
    // Ops pushed while the batch was being written sit behind it; only the written ones leave.
    this.queue.splice(0, batch.length);
    this.written += batch.length;
    this.retryMs = 0;
    if (this.failingSince !== undefined) {
      this.o.log.info({ outageMs: Date.now() - this.failingSince, waiting: this.queue.length }, "records: database writes resumed");
      this.failingSince = undefined;
    }
    if (batch.some((op) => op.kind === "ended")) this.o.onEnded?.();
  }

  /** Writes what is queued, for up to `timeoutMs`; returns how many ops could not be written. */
  async drain(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    const left = () => Math.max(0, deadline - Date.now());
    while ((this.queue.length > 0 || this.writing !== undefined) && left() > 0) {
      clearTimeout(this.timer);
      this.timer = undefined;
      await Promise.race([this.pump(), Bun.sleep(left())]);
      if (this.retryMs > 0 && this.queue.length > 0) await Bun.sleep(Math.min(this.retryMs, left()));
    }
    return this.queue.length;
  }

  /** Stops scheduling writes (after drain). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
