// The contract between a call (src/call) and the speech-to-speech model it talks to. Owned here, by the side
// that uses it, so a second provider (e.g. OpenAI Realtime) is one more implementation and `call/` and `audio/`
// do not change. `gemini/LiveSession` is the first implementation.
import type { Logger } from "../log.ts";
import type { Agent } from "./agent.ts";
import type { Grounding, ModelUsage, ToolCall } from "./data.ts";

/** One function call the model asks for (the call stamps when). */
export type ToolCallRequest = Pick<ToolCall, "id" | "name" | "args">;

/** What a leg reports. Audio views are valid only during the callback; everything else may be kept. */
export interface ModelLegEvents {
  /** Model speech, S16LE mono at `rate`. */
  audio(pcm: Uint8Array, rate: number): void;
  /** The caller barged in: whatever the model was saying is void. */
  interrupted(): void;
  /** The model finished generating this turn (audio may still be playing). */
  generationComplete(): void;
  /**
   * The model's turn is over. `reason` is the provider's, for logs; `rejected`: the provider says the turn was
   * refused or broken (Gemini: RESPONSE_REJECTED, MALFORMED_FUNCTION_CALL), so whatever it said is all there is.
   */
  turnComplete(reason: string | undefined, rejected: boolean): void;
  /** What a web search found for the agent's current (or next) turn. */
  grounding(g: Grounding): void;
  /** Fragments of what the caller said; `finished` closes the utterance. */
  inputTranscription(text: string, finished: boolean): void;
  /** Fragments of what the model said. */
  outputTranscription(text: string, finished: boolean): void;
  toolCall(call: ToolCallRequest): void;
  /** The model no longer wants these results (the caller interrupted). */
  toolCallCancelled(ids: string[]): void;
  usage(u: ModelUsage): void;
  /** The leg is gone for good. Fires once; if it happened before attach(), it fires during attach(). */
  failed(reason: string, code: number): void;
}

export interface ModelLeg {
  /** Sample rate `sendAudio` expects (S16LE mono). */
  readonly inputRate: number;
  /** Sample rate of the model's speech (S16LE mono), what `audio()` normally reports; e.g. 24000 for Gemini Live. */
  readonly outputRate: number;
  /** Opens the model session; resolves when it can take audio, rejects if it cannot be opened. */
  start(): Promise<void>;
  attach(events: ModelLegEvents): void;
  /** Caller audio at `inputRate`, whole samples. Read synchronously; the caller may reuse the buffer. */
  sendAudio(pcm: Uint8Array): void;
  /** Answers a toolCall. Sent now, or on the next socket if the leg is between sockets. */
  sendToolResult(id: string, name: string, response: Record<string, unknown>): void;
  /** A text turn from "the system" (greeting, "say goodbye now", "is the caller still there?"). */
  sendText(text: string): void;
  /**
   * The model went silent when it should answer (the call layer's stall detector): reopen on a fresh socket,
   * keeping the conversation (a resumption handle). True when that is under way (or already was); false when the
   * leg cannot resume (no handle yet, closed, failed), in which case the call gives up on it.
   */
  resume(reason: string): boolean;
  close(): Promise<void>;
  stats(): Record<string, number>;
}

/** Who the leg is for. */
export interface LegContext {
  callId: string;
  agent: Agent;
  log: Logger;
}

/** How the call layer gets a leg; main.ts picks the provider. */
export type ModelLegFactory = (ctx: LegContext) => ModelLeg;
