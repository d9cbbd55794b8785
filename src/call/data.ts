// The vocabulary of call data, defined once: the call layer emits it (events.ts), records store it and the console
// shows it in exactly these shapes. Times inside a call are ms from the audio stream's start.
import type { CallSource } from "../telephony/types.ts";

export type { CallSource };

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
  | "lost"
  /** A person took the call over (handoff.live) and, when they left, the agent's settings said to end it. */
  | "handoff"
  /** Outbound: an answering machine took the call; the agent left the voicemail message, or hung up (agent's
   *  `voicemail.action`). */
  | "voicemail"
  /** The callee asked not to be called again (the opt_out tool): their number went on the do-not-call list. */
  | "opted_out";

/** Why a webhook was answered with the fallback message instead of a stream: no agent answers the number, the
 *  instance is at MAX_CALLS, or no model session could be opened. */
export type RefusalReason = "no_agent" | "at_capacity" | "no_model";

/** Who a call is between and which agent answers it (by name). Numbers in E.164 when the webhook's value is a
 *  phone number in any form toE164 reads, otherwise as sent ("anonymous"); "browser" for the console's softphone. */
export interface Parties {
  caller: string;
  callee: string;
  agent: string;
}

/** Who placed the call: the caller (inbound), or the relay itself (outbound: a single call or a campaign's). */
export type Direction = "inbound" | "outbound";

/** Variables a call's agent texts were filled with (`{{name}}`): an outbound request's or a campaign row's, plus
 *  what every call gets (caller, callee, date, time). Values may be personal data: never logged at info. */
export type CallVariables = Record<string, string>;

/** Why a call exists: inbound, or the outbound attempt that placed it, and its variables. */
export interface CallPurpose {
  direction: Direction;
  /** The outbound attempt (src/outbound) that placed the call; null for inbound calls. */
  attemptId: string | null;
  variables: CallVariables;
}

export const INBOUND: CallPurpose = Object.freeze({ direction: "inbound", attemptId: null, variables: Object.freeze({}) as CallVariables });

export type Role = "caller" | "agent";

/** One thing said, as the transcript keeps it. */
export interface Utterance {
  role: Role;
  /** Whole when final; so far when partial. */
  text: string;
  startMs: number;
  endMs: number;
  /** Agent turn cut by barge-in: `text` holds only what was generated before the cut. */
  interrupted: boolean;
  /** Agent turns: ms of the turn's audio the caller heard (null for caller turns and partial lines). */
  heardMs: number | null;
  /** Agent turns answered from a web search: what it found. */
  grounding?: Grounding;
}

/** What the model's web searches found for one agent turn (search grounding). */
export interface Grounding {
  /** The searches it ran. */
  queries: string[];
  /** The pages it drew on, each once. */
  sources: Array<{ uri: string; title: string | null }>;
  /** The provider's metadata, whole, as each message of the turn carried it (Gemini: serverContent.groundingMetadata). */
  raw: Record<string, unknown>[];
}

export type ToolOutcome = "ok" | "error" | "timeout" | "cancelled";

/** The model asked for a function. `args` is parsed JSON. */
export interface ToolCall {
  id: string;
  name: string;
  args: Record<string, unknown>;
  atMs: number;
}

/** How a tool call was settled: answered (ok/error/timeout) or withdrawn by the model (cancelled). */
export interface ToolSettlement {
  outcome: ToolOutcome;
  durationMs: number;
  /** What went back to the model (undefined when cancelled). */
  result: Record<string, unknown> | undefined;
}

/** A tool call as records and the console show it; the settlement's fields are null while it runs. */
export interface ToolCallEntry extends ToolCall {
  outcome: ToolOutcome | null;
  durationMs: number | null;
  result: Record<string, unknown> | null;
}

/** The caller-facing audio of a whole call. */
export interface AudioSummary {
  /** Frames received from the caller's socket. */
  framesIn: number;
  /** Frames sent to the caller. */
  framesOut: number;
  /** Time the media server's buffer ran dry mid-turn. */
  underrunMs: number;
  /** Late audio of interrupted turns thrown away. */
  discardedMs: number;
  /** Frames the caller's socket dropped. */
  droppedMs: number;
  /** Model audio dropped past MAX_QUEUED_AUDIO_S. */
  overflowMs: number;
}

/** Model's first chunk of a turn → that turn's first frame sent, over the call's turns. */
export interface FirstAudioSummary {
  p50: number;
  max: number;
}

/** Model tokens by "direction:MODALITY" (e.g. "input:AUDIO"), from the provider's usage reports. */
export interface ModelUsage {
  tokens: Record<string, number>;
  totalTokens: number;
}

/** A call's recording (src/recordings): `recording` while it is written; `ready` once closed; `partial` when the
 *  relay stopped mid-call and the file ends at its last write; `failed` when writing stopped (full or read-only
 *  disk), `error` saying why, the file keeping what was written before. */
export type RecordingStatus = "recording" | "ready" | "partial" | "failed";

export interface RecordingInfo {
  status: RecordingStatus;
  /** Audio in the file so far, ms. */
  durationMs: number;
  /** Size of the file, header included. */
  bytes: number;
  /** Where it is: a file path on the relay that recorded it, or s3://bucket/key. Null when no file was made. */
  location: string | null;
  error: string | null;
}
