// Shared test plumbing: waits without wall-clock assertions, a log capture, an event recorder, session factory.
import pino from "pino";
import type { Logger } from "../../src/log.ts";
import type { ModelUsage, ToolCallRequest } from "../../src/call/model-leg.ts";
import { LiveSession, type LiveEvents, type LiveSessionOptions } from "../../src/gemini/session.ts";

export const API_KEY = "test-key-SECRET-1234567890";

/** Polls `pred` until true; throws after a generous timeout (shared noisy VM). */
export async function until(pred: () => boolean, label: string, timeoutMs = 10000): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for: ${label}`);
    await Bun.sleep(5);
  }
}

export function captureLog(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const log = pino({ level: "trace" }, { write: (s: string) => void lines.push(s) });
  return { log, lines };
}

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
  handlers: LiveEvents;
}

export function recorder(): Recorded {
  const r: Recorded = { events: [], audio: [], audioBytes: [], failed: [], input: [], output: [], usage: [], toolCalls: [], cancelled: [], handlers: undefined as never };
  r.handlers = {
    audio(pcm, rate) {
      r.events.push("audio");
      r.audio.push({ bytes: pcm.byteLength, rate });
      r.audioBytes.push(pcm.slice());
    },
    interrupted: () => void r.events.push("interrupted"),
    generationComplete: () => void r.events.push("generationComplete"),
    turnComplete: (reason) => void r.events.push(reason === undefined ? "turnComplete" : `turnComplete:${reason}`),
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
    log: pino({ level: "silent" }),
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

/** 16 kHz S16LE sine of `ms` at amplitude `amp` (loud enough to be speech for the stand-in). */
export function loud16k(ms: number, hz = 300, amp = 12000): Uint8Array {
  const n = (16000 * ms) / 1000;
  const out = new Uint8Array(n * 2);
  for (let i = 0; i < n; i++) {
    const v = Math.round(amp * Math.sin((2 * Math.PI * hz * i) / 16000));
    out[2 * i] = v & 0xff;
    out[2 * i + 1] = (v >> 8) & 0xff;
  }
  return out;
}
