// What a call record is, as the API returns it and the end-of-call webhook sends it, and the writes that build
// one. Times inside a call (transcript, tool calls) are ms from the audio stream's start; wall-clock times are
// ISO 8601 strings.
import type { AudioSummary, CallSource, EndReason, FirstAudioSummary, ModelUsage, Parties, RecordingInfo, ToolCallEntry, ToolSettlement, Utterance } from "../call/data.ts";

export interface CallSummary extends Parties {
  id: string;
  source: CallSource;
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
}

/** The claim row is the admission's contract (src/admission): the store implements it. */
export type { CallClaim } from "../admission/admission.ts";

/** One idempotent write; a batch of them is one transaction, safe to run again after an unclear commit. */
export type RecordOp =
  | ({ kind: "started"; id: string; source: CallSource; at: number } & Parties)
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
    }
  /** The recording's state (from the call, or from the sweep that finished a file a stopped relay left). */
  | ({ kind: "recording"; id: string } & RecordingInfo)
  /** The webhook answered without a stream (no agent for the number, no model session), or with one whose socket
   *  never came (no_media). Closes only a record no instance has answered or ended. */
  | { kind: "unanswered"; id: string; at: number; reason: EndReason | null; detail: string };
