// Typed call events for observers (records, metrics, the console). Emitted by the call layer at turn, utterance
// and call boundaries, never per audio frame, and delivered off the audio path: a subscriber that throws is
// logged and skipped, and delivery is deferred to a later event-loop turn so a slow one never delays a frame.
import type { Logger } from "../log.ts";
import type { AudioSummary, CallPurpose, CallSource, EndReason, FirstAudioSummary, ModelUsage, Parties, RecordingInfo, RefusalReason, ToolCall, ToolSettlement, Utterance } from "./data.ts";

export interface CallStartedEvent extends Parties {
  type: "started";
  callId: string;
  /** Unix ms. */
  at: number;
  /** Names of the tools the agent declares (from its configuration; the model may still ask for others). */
  tools: string[];
  source: CallSource;
  /** Inbound when left out; outbound calls name their attempt. Variables may be personal data. */
  purpose?: CallPurpose;
}

/** The media server's first text frame (stream metadata), parsed when it is a JSON object. */
export interface CallMetadataEvent {
  type: "metadata";
  callId: string;
  meta: Record<string, unknown> | undefined;
}

/** An utterance so far (partial) or whole (final). `heardMs` is set on final agent lines only. */
export interface TranscriptEvent extends Utterance {
  type: "transcript";
  callId: string;
  final: boolean;
}

export interface ToolCallEvent extends ToolCall {
  type: "toolCall";
  callId: string;
}

export interface ToolResultEvent extends ToolSettlement {
  type: "toolResult";
  callId: string;
  id: string;
  name: string;
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
  /** Model turns that ended refused or broken with no audio (Gemini: RESPONSE_REJECTED, MALFORMED_FUNCTION_CALL). */
  rejectedTurns: number;
  /** undefined when the agent never spoke. */
  firstAudioMs: FirstAudioSummary | undefined;
  audio: AudioSummary;
  /** Every counter the model leg kept (connections, goAways, tool calls, …). */
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

/** The webhook answered with the fallback message and a hang-up: the call never gets a stream. */
export interface CallRefusedEvent {
  type: "refused";
  callId: string;
  /** Unix ms. */
  at: number;
  /** "" when no agent answers the number. */
  agent: string;
  reason: RefusalReason;
  detail: string;
}

/** The call's recording changed state: its file opened (`recording`), writing failed, or it was closed (it may
 *  come after the call's `ended`, once the file is complete). */
export interface RecordingEvent {
  type: "recording";
  callId: string;
  recording: RecordingInfo;
}

/** Outbound: an answering machine took the call (the voicemail tool). `left`: the agent was told to leave the
 *  message, after `trigger` (the beep, the machine's greeting ending, or waiting long enough); otherwise hung up. */
export interface CallVoicemailEvent {
  type: "voicemail";
  callId: string;
  atMs: number;
  left: boolean;
  trigger: "beep" | "silence" | "timeout" | null;
  /** The message as filled for this call ("" when none was left). May be personal data. */
  message: string;
}

/** The callee asked not to be called again (the opt_out tool): `number` goes on the do-not-call list. */
export interface CallOptOutEvent {
  type: "optOut";
  callId: string;
  /** Unix ms. */
  at: number;
  /** The other party's number as the call knows it (the callee of an outbound call, the caller of an inbound one). */
  number: string;
}

export type CallEvent =
  | CallStartedEvent
  | CallRefusedEvent
  | CallNeverStartedEvent
  | CallMetadataEvent
  | TranscriptEvent
  | ToolCallEvent
  | ToolResultEvent
  | BargeInEvent
  | TurnEvent
  | UsageEvent
  | CallEndedEvent
  | RecordingEvent
  | CallVoicemailEvent
  | CallOptOutEvent;

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
