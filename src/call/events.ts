// Typed call events for observers (records, metrics, the console). Emitted by the call layer at turn, utterance
// and call boundaries, never per audio frame, and delivered off the audio path: a subscriber that throws is
// logged and skipped, and delivery is deferred to a later event-loop turn so a slow one never delays a frame.
import type { Logger } from "../log.ts";
import type { ModelUsage } from "./model-leg.ts";

export type CallSource = "phone" | "browser";

export type EndReason =
  | "caller_hangup"
  | "agent_end_call"
  | "max_duration"
  | "idle"
  | "model_failed"
  | "media_lost"
  | "shutdown"
  /** Answered with <Stream> at webhook time, and no audio socket came (a wrong PUBLIC_URL does this). */
  | "no_media"
  /** Found open long after any call could have ended: the relay that had it stopped without recording its end. */
  | "lost";

export interface CallStartedEvent {
  type: "started";
  callId: string;
  /** Unix ms. */
  at: number;
  caller: string;
  callee: string;
  agent: string;
  /** Names of the tools the agent declares (from its configuration; the model may still ask for others). */
  tools: string[];
  source: CallSource;
}

/** The media server's first text frame (stream metadata), parsed when it is a JSON object. */
export interface CallMetadataEvent {
  type: "metadata";
  callId: string;
  meta: Record<string, unknown> | undefined;
}

export interface TranscriptEvent {
  type: "transcript";
  callId: string;
  role: "caller" | "agent";
  /** The utterance so far (partial) or whole (final). */
  text: string;
  final: boolean;
  /** ms from the call's start. */
  startMs: number;
  endMs: number;
  /** Agent turn cut by barge-in: `text` holds only what was generated before the cut. */
  interrupted: boolean;
  /** Agent turns: ms of this turn's audio the caller heard (final events only; undefined for caller turns). */
  heardMs: number | undefined;
}

export interface ToolCallEvent {
  type: "toolCall";
  callId: string;
  id: string;
  name: string;
  args: Record<string, unknown>;
  atMs: number;
}

export type ToolOutcome = "ok" | "error" | "timeout" | "cancelled";

export interface ToolResultEvent {
  type: "toolResult";
  callId: string;
  id: string;
  name: string;
  outcome: ToolOutcome;
  durationMs: number;
  /** What went back to the model (undefined when cancelled). */
  result: Record<string, unknown> | undefined;
  atMs: number;
}

export interface BargeInEvent {
  type: "bargeIn";
  callId: string;
  atMs: number;
  /** ms of the cut turn the caller had heard. */
  heardMs: number;
}

/** One agent turn that produced audio. */
export interface TurnEvent {
  type: "turn";
  callId: string;
  index: number;
  /** Model's first audio chunk of the turn → first frame of it sent to the caller. */
  firstAudioMs: number;
  /** End of the caller's speech (energy detector on their audio) → this turn's first frame sent; undefined when
   *  the turn answers no new speech (greeting, nudge, a second turn) or the caller was still talking. */
  responseMs: number | undefined;
  atMs: number;
}

export interface UsageEvent {
  type: "usage";
  callId: string;
  usage: ModelUsage;
}

export interface CallEndedEvent {
  type: "ended";
  callId: string;
  reason: EndReason;
  /** Free text for logs ("caller socket closed (1000)", the model's failure reason). */
  detail: string;
  /** Unix ms. */
  at: number;
  durationMs: number;
  agentTurns: number;
  bargeIns: number;
  /** Summary of the turns' first-audio latency; undefined when the agent never spoke. */
  firstAudioMs: { p50: number; max: number } | undefined;
  /** overflowMs: model audio dropped past MAX_QUEUED_AUDIO_S. */
  audio: { framesIn: number; framesOut: number; underrunMs: number; discardedMs: number; droppedMs: number; overflowMs: number };
  model: Record<string, number>;
  usage: ModelUsage;
}

/** Answered at webhook time (the call manager held it for its socket), and no audio socket reached this process in
 *  `waitedMs`: the call never started here. No `started` or `ended` event comes for it. */
export interface CallNeverStartedEvent {
  type: "neverStarted";
  callId: string;
  /** Unix ms. */
  at: number;
  agent: string;
  waitedMs: number;
}

export type CallEvent =
  | CallStartedEvent
  | CallNeverStartedEvent
  | CallMetadataEvent
  | TranscriptEvent
  | ToolCallEvent
  | ToolResultEvent
  | BargeInEvent
  | TurnEvent
  | UsageEvent
  | CallEndedEvent;

export type CallObserver = (event: CallEvent) => void | Promise<void>;

/**
 * Fan-out to any number of observers. emit() only queues; the queue is delivered on a later macrotask, in order,
 * each observer isolated by try/catch. A rejected promise from an async observer is logged too.
 */
export class CallEventHub {
  private readonly observers = new Set<CallObserver>();
  private queue: CallEvent[] = [];
  private scheduled = false;
  private readonly deliver = (): void => this.flush();

  constructor(private readonly log: Logger) {}

  subscribe(fn: CallObserver): () => void {
    this.observers.add(fn);
    return () => this.observers.delete(fn);
  }

  get size(): number {
    return this.observers.size;
  }

  emit(event: CallEvent): void {
    if (this.observers.size === 0) return;
    this.queue.push(event);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.deliver);
    }
  }

  /** Delivers what is queued now (also used at shutdown so the last events are not lost). */
  flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    for (const ev of batch) {
      for (const fn of this.observers) {
        try {
          const r = fn(ev);
          if (r instanceof Promise) r.catch((err: unknown) => this.fault(ev, err));
        } catch (err) {
          this.fault(ev, err);
        }
      }
    }
  }

  private fault(ev: CallEvent, err: unknown): void {
    this.log.error({ callId: ev.callId, event: ev.type, err: err instanceof Error ? err.message : String(err) }, "call observer failed");
  }
}
