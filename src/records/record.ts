// What a call record is, as the API returns it and the end-of-call webhook sends it, and the writes that build
// one. Times inside a call (transcript, tool calls) are ms from the audio stream's start; wall-clock times are
// ISO 8601 strings.
import type { CallSource, EndReason, ToolOutcome } from "../call/events.ts";

export interface Utterance {
  role: "caller" | "agent";
  text: string;
  startMs: number;
  endMs: number;
  /** Agent turn cut by barge-in: `text` holds only what was generated before the cut. */
  interrupted: boolean;
  /** Agent turns: ms of the turn's audio the caller heard; null for caller turns. */
  heardMs: number | null;
}

export interface ToolCallRecord {
  /** The model's id for the call. */
  id: string;
  name: string;
  args: Record<string, unknown> | null;
  atMs: number;
  /** null while the tool runs (or if the call ended first). */
  outcome: ToolOutcome | null;
  durationMs: number | null;
  result: Record<string, unknown> | null;
}

export interface CallSummary {
  id: string;
  agent: string;
  caller: string;
  callee: string;
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
  firstAudioMs: { p50: number; max: number } | null;
  /** Model tokens by "direction:MODALITY" (e.g. "input:AUDIO"), from the model's usage reports. */
  usage: { totalTokens: number; tokens: Record<string, number> } | null;
  audio: { framesIn: number; framesOut: number; underrunMs: number; discardedMs: number; droppedMs: number } | null;
  reconnects: number | null;
  rotations: number | null;
  /** Every counter the model leg kept (connections, goAways, tool calls, …). */
  model: Record<string, number> | null;
  /** The media server's first text frame, when it was a JSON object. */
  metadata: Record<string, unknown> | null;
  transcript: Utterance[];
  toolCalls: ToolCallRecord[];
}

/** The claim row is the admission's contract (src/admission): the store implements it. */
export type { CallClaim } from "../admission/admission.ts";

/** One idempotent write; a batch of them is one transaction, safe to run again after an unclear commit. */
export type RecordOp =
  | { kind: "started"; id: string; agent: string; caller: string; callee: string; source: CallSource; at: number }
  | { kind: "metadata"; id: string; meta: Record<string, unknown> | undefined }
  | ({ kind: "utterance"; id: string; seq: number } & Utterance)
  | { kind: "toolCall"; id: string; seq: number; toolCallId: string; name: string; args: Record<string, unknown>; atMs: number }
  | {
      kind: "toolResult";
      id: string;
      seq: number;
      outcome: ToolOutcome;
      durationMs: number;
      result: Record<string, unknown> | undefined;
      atMs: number;
    }
  | {
      kind: "ended";
      id: string;
      at: number;
      durationMs: number;
      reason: EndReason;
      detail: string;
      agentTurns: number;
      bargeIns: number;
      firstAudioMs: { p50: number; max: number } | undefined;
      audio: { framesIn: number; framesOut: number; underrunMs: number; discardedMs: number; droppedMs: number };
      model: Record<string, number>;
      usage: { totalTokens: number; tokens: Record<string, number> };
      /** Queue the end-of-call webhook in the same transaction. */
      delivery: { id: string } | undefined;
    }
  /** The webhook answered without a stream (no agent for the number, no model session). */
  | { kind: "unanswered"; id: string; at: number; reason: EndReason | null; detail: string };
