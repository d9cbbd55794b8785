// Shared test plumbing: waits without wall-clock assertions, a log capture, an event recorder, session factory.
import type { Grounding, ModelUsage } from "../../src/call/data.ts";
import type { ModelLegEvents, ToolCallRequest } from "../../src/call/model-leg.ts";
import { LiveSession, type LiveSessionOptions } from "../../src/gemini/session.ts";

import { silentLog } from "../support/log.ts";

export { captureLog } from "../support/log.ts";
export { loud16k } from "../support/signal.ts";
export { until } from "../support/wait.ts";

export const API_KEY = "test-key-SECRET-1234567890";

export interface Recorded {
  events: string[];
  audio: { bytes: number; rate: number }[];
  audioBytes: Uint8Array[];
  failed: { reason: string; code: number }[];
  input: string[];
  output: string[];
  usage: ModelUsage[];
  toolCalls: ToolCallRequest[];
  cancelled: string[];
  groundings: Grounding[];
  handlers: ModelLegEvents;
}

export function recorder(): Recorded {
  const r: Recorded = { events: [], audio: [], audioBytes: [], failed: [], input: [], output: [], usage: [], toolCalls: [], cancelled: [], groundings: [], handlers: undefined as never };
  r.handlers = {
    audio(pcm, rate) {
      r.events.push("audio");
      r.audio.push({ bytes: pcm.byteLength, rate });
      r.audioBytes.push(pcm.slice());
    },
    interrupted: () => void r.events.push("interrupted"),
    generationComplete: () => void r.events.push("generationComplete"),
    turnComplete: (reason, rejected) => void r.events.push(reason === undefined ? "turnComplete" : `turnComplete:${reason}${rejected ? ":rejected" : ""}`),
    grounding(g) {
      r.events.push("grounding");
      r.groundings.push(g);
    },
    inputTranscription(text) {
      r.events.push("inputTranscription");
      r.input.push(text);
    },
    outputTranscription(text) {
      r.events.push("outputTranscription");
      r.output.push(text);
    },
    toolCall(c) {
      r.events.push("toolCall");
      r.toolCalls.push(c);
    },
    toolCallCancelled(ids) {
      r.events.push("toolCallCancelled");
      r.cancelled.push(...ids);
    },
    usage(u) {
      r.events.push("usage");
      r.usage.push(u);
    },
    failed(reason, code) {
      r.events.push("failed");
      r.failed.push({ reason, code });
    },
  };
  return r;
}

export function makeSession(url: string, over: Partial<LiveSessionOptions> = {}): LiveSession {
  return new LiveSession({
    url,
    apiKey: API_KEY,
    model: "gemini-3.8-live",
    voice: "Kore",
    prompt: "You are a test agent.",
    greeting: "",
    setupTimeoutMs: 5000,
    rotation: "overlap",
    maxReconnects: 3,
    log: silentLog,
    reconnectBaseMs: 20,
    ...over,
  });
}

/** A 20 ms 16 kHz chunk whose first sample carries `seq` (small values keep it below the stand-in's VAD). */
export function seqChunk(seq: number, bytes = 640): Uint8Array {
  const c = new Uint8Array(bytes);
  c[0] = seq & 0xff;
  c[1] = (seq >> 8) & 0x03; // < 1024: quiet
  c[2] = 0x5a; // marker so a chunk of zeros is not mistaken for one
  return c;
}

export function readSeq(pcm: Uint8Array, off = 0): number {
  return pcm[off]! | ((pcm[off + 1]! & 0x03) << 8);
}
