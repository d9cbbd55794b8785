// What a call record is, as the API returns it and the end-of-call webhook sends it, and the writes that build
// one. Times inside a call (transcript, tool calls) are ms from the audio stream's start; wall-clock times are
// ISO 8601 strings.
import type { AnalysisSpec } from "../call/agent.ts";
import type {
  AudioSummary,
  CallPurpose,
  CallSource,
  CallVariables,
  Direction,
  EndReason,
  FirstAudioSummary,
  ModelUsage,
  Parties,
  RecordingInfo,
  ToolCallEntry,
  ToolSettlement,
  Utterance,
} from "../call/data.ts";

export interface CallSummary extends Parties {
  id: string;
  source: CallSource;
  /** inbound, or outbound (placed by the relay: a single call or a campaign's). */
  direction: Direction;
  /** The outbound attempt that placed the call (GET /api/outbound/:id); null for inbound calls. */
  attemptId: string | null;
  /** The first webhook for the call reached a relay (or, without one, the audio stream opened). */
  startedAt: string;
  /** The audio stream opened; null if it never did. */
  answeredAt: string | null;
  endedAt: string | null;
  durationMs: number | null;
  endReason: EndReason | null;
  agentTurns: number | null;
  bargeIns: number | null;
}

export interface CallRecord extends CallSummary {
  endDetail: string | null;
  /** Model turns ended refused or broken with no audio; null for calls recorded before it was counted. */
  rejectedTurns: number | null;
  firstAudioMs: FirstAudioSummary | null;
  usage: ModelUsage | null;
  audio: AudioSummary | null;
  reconnects: number | null;
  rotations: number | null;
  /** Every counter the model leg kept (connections, goAways, tool calls, …). */
  model: Record<string, number> | null;
  /** The media server's first text frame, when it was a JSON object; plus `raw: {caller?, callee?}`, the numbers
   *  as the webhook sent them, for each one stored in another form (E.164). */
  metadata: Record<string, unknown> | null;
  transcript: Utterance[];
  toolCalls: ToolCallEntry[];
  /** The call's recording; null when it was not recorded. */
  recording: RecordingInfo | null;
  /** What came of the call (src/analysis); null when the agent has no `analysis`. */
  analysis: CallAnalysis | null;
  /** Each time the agent handed the caller to a person (src/handoff), in order. */
  handoffs: HandoffRecord[];
  /** What the agent's `{{variables}}` were filled with: an outbound request's or campaign row's, and caller,
   *  callee, date, time; null for calls recorded before variables existed. */
  variables: CallVariables | null;
}

/** The model's report on an ended call. Fields the agent's `analysis` did not ask for are null. */
export interface AnalysisResult {
  summary: string | null;
  success: boolean | null;
  successReason: string | null;
  data: Record<string, unknown> | null;
  model: string;
  analyzedAt: string;
}

/** Done; given up on (after retries, or an answer that did not fit the schema twice); skipped (why, e.g. offline
 *  mode); or still queued (`attempts` so far). */
export type CallAnalysis = AnalysisResult | { error: string; attempts: number } | { skipped: string } | { pending: true; attempts: number };

/** A person brought onto the live call (handoff.live): Sautikit supervision, barge. */
export interface HandoffLive {
  number: string;
  /** requested → connected → ended; failed (the request or the person's leg failed); unavailable (not asked:
   *  not a phone call, or no SAUTIKIT_API_KEY). */
  state: "requested" | "connected" | "ended" | "failed" | "unavailable";
  supervisionId: string | null;
  error: string | null;
  connectedAt: string | null;
  endedAt: string | null;
}

export interface HandoffRecord {
  /** The call.handoff event's webhook-id. */
  id: string;
  at: string;
  /** ms from the audio stream's start, like the transcript's times. */
  atMs: number;
  reason: string;
  summary: string;
  /** The call.handoff event to the agent's notify URL. */
  notify: { status: "pending" | "delivered" | "failed"; attempts: number; error: string | null };
  live: HandoffLive | null;
}

/** A call.handoff event as the outbox keeps it: its target, its fixed body, and how its first attempt went. */
export interface HandoffDelivery {
  url: string;
  headers: Record<string, string>;
  payload: string;
  attempts: number;
  status: "pending" | "delivered" | "failed";
  /** Unix ms of the next attempt (pending only). */
  nextAt: number;
  error: string | null;
}

/** The claim row is the admission's contract (src/admission): the store implements it. */
export type { CallClaim } from "../admission/admission.ts";

/** One idempotent write; a batch of them is one transaction, safe to run again after an unclear commit. */
export type RecordOp =
  | ({ kind: "started"; id: string; source: CallSource; at: number; purpose?: CallPurpose } & Parties)
  | { kind: "metadata"; id: string; meta: Record<string, unknown> | undefined }
  | ({ kind: "utterance"; id: string; seq: number } & Utterance)
  | { kind: "toolCall"; id: string; seq: number; toolCallId: string; name: string; args: Record<string, unknown>; atMs: number }
  | ({ kind: "toolResult"; id: string; seq: number; atMs: number } & ToolSettlement)
  | {
      kind: "ended";
      id: string;
      at: number;
      durationMs: number;
      reason: EndReason;
      detail: string;
      agentTurns: number;
      bargeIns: number;
      rejectedTurns: number;
      firstAudioMs: FirstAudioSummary | undefined;
      audio: AudioSummary;
      model: Record<string, number>;
      usage: ModelUsage;
      /** Queue the end-of-call webhook in the same transaction. */
      delivery: { id: string } | undefined;
      /** Queue the call's analysis in the same transaction (its agent has `analysis`). */
      analysis?: { agent: string; spec: AnalysisSpec };
    }
  /** The recording's state (from the call, or from the sweep that finished a file a stopped relay left). */
  | ({ kind: "recording"; id: string } & RecordingInfo)
  /** A handoff (the row and, the first time, its outbox entry); written again as its live state changes. */
  | { kind: "handoff"; id: string; handoffId: string; at: number; atMs: number; reason: string; summary: string; live: HandoffLive | null; delivery?: HandoffDelivery }
  /** The webhook answered without a stream (no agent for the number, no model session), or with one whose socket
   *  never came (no_media). Closes only a record no instance has answered or ended. */
  | { kind: "unanswered"; id: string; at: number; reason: EndReason | null; detail: string };
