// Gemini Live (BidiGenerateContent) wire messages: typed shapes, client frame builders, server frame parser.
// Field-by-field notes: docs/gemini-live.md.

import type { OpenApiSchema } from "./tool-schema.ts";

// ---------- client → server ----------

export interface Part {
  text?: string;
}
export interface Content {
  role?: string;
  parts: Part[];
}

export interface FunctionDeclaration {
  name: string;
  description?: string;
  /** Google's Schema, the OpenAPI subset (tool-schema.ts toOpenApiSchema). Exclusive with parametersJsonSchema. */
  parameters?: OpenApiSchema;
  /** JSON Schema as the agents file has it (tool-schema.ts toJsonSchemaParameters). */
  parametersJsonSchema?: Record<string, unknown>;
  behavior?: "BLOCKING" | "NON_BLOCKING";
}

/** `inputAudioTranscription` / `outputAudioTranscription`; `{}` turns transcription on. */
export interface AudioTranscriptionConfig {
  /** BCP-47 hints about the languages in the audio (the SDK sends it ahead of the published proto). */
  languageCodes?: string[];
}

/** The setup's tools: our functions, and Google's search for grounding. */
export type Tool = { functionDeclarations: FunctionDeclaration[] } | { googleSearch: Record<string, never> };

/** FunctionResponse.scheduling, for NON_BLOCKING calls only. */
export type Scheduling = "INTERRUPT" | "WHEN_IDLE" | "SILENT";

export interface SetupMessage {
  setup: {
    model: string;
    generationConfig: {
      responseModalities: ["AUDIO"];
      speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName: string } } };
      thinkingConfig?: { thinkingLevel?: string; thinkingBudget?: number };
      enableAffectiveDialog?: boolean;
      temperature?: number;
      [k: string]: unknown;
    };
    systemInstruction?: Content;
    tools?: Tool[];
    realtimeInputConfig?: { automaticActivityDetection: Record<string, unknown> };
    inputAudioTranscription: AudioTranscriptionConfig;
    outputAudioTranscription: AudioTranscriptionConfig;
    /** `{}` for a fresh session, `{handle}` to resume. Never `{handle: null}` (3.1 closes with 1007). */
    sessionResumption: { handle?: string };
    contextWindowCompression: { triggerTokens: string; slidingWindow: { targetTokens: string } };
    proactivity?: { proactiveAudio: boolean };
    [k: string]: unknown;
  };
}

export interface FunctionResponse {
  id: string;
  name: string;
  response: Record<string, unknown>;
  scheduling?: Scheduling;
}

/** Live takes 16 kHz S16LE mono natively (docs/gemini-live.md#audio). */
export const INPUT_RATE = 16000;
export const INPUT_MIME = `audio/pcm;rate=${INPUT_RATE}`;
/** Live speaks 24 kHz S16LE mono, tagged `audio/pcm;rate=24000` (docs/gemini-live.md#audio). */
export const OUTPUT_RATE = 24000;
// Split around the base64 payload so the hot path is two concatenations, no JSON.stringify per frame.
const AUDIO_HEAD = `{"realtimeInput":{"audio":{"mimeType":"${INPUT_MIME}","data":"`;
const AUDIO_TAIL = `"}}}`;

/** `{"realtimeInput":{"audio":{...}}}` for one chunk of 16 kHz S16LE PCM. Reads `pcm` synchronously only. */
export function audioFrame(pcm: Uint8Array): string {
  return AUDIO_HEAD + pcm.toBase64() + AUDIO_TAIL;
}

/** `{"realtimeInput":{"text":...}}` — the greeting path (3.x won't speak first without realtime input). */
export function textFrame(text: string): string {
  return `{"realtimeInput":{"text":${JSON.stringify(text)}}}`;
}

export function toolResponseFrame(responses: FunctionResponse[]): string {
  return JSON.stringify({ toolResponse: { functionResponses: responses } });
}

export function setupFrame(setup: SetupMessage): string {
  return JSON.stringify(setup);
}

// ---------- server → client ----------

export interface Transcription {
  text?: string;
  finished?: boolean;
  languageCode?: string;
}

export interface InlineData {
  mimeType?: string;
  data?: string;
}

export interface ServerPart {
  inlineData?: InlineData;
  text?: string;
  thought?: boolean;
}

export interface ServerContent {
  modelTurn?: { parts?: ServerPart[] };
  turnComplete?: boolean;
  turnCompleteReason?: string;
  generationComplete?: boolean;
  interrupted?: boolean;
  inputTranscription?: Transcription;
  outputTranscription?: Transcription;
  waitingForInput?: boolean;
  /** With the googleSearch tool: the searches and pages behind the turn. */
  groundingMetadata?: Record<string, unknown>;
  [k: string]: unknown;
}

export interface FunctionCall {
  id?: string;
  name?: string;
  args?: Record<string, unknown>;
}

export interface ServerMessage {
  setupComplete?: Record<string, unknown>;
  serverContent?: ServerContent;
  toolCall?: { functionCalls?: FunctionCall[] };
  toolCallCancellation?: { ids?: string[] };
  goAway?: { timeLeft?: string };
  sessionResumptionUpdate?: { newHandle?: string; resumable?: boolean };
  usageMetadata?: Record<string, unknown>;
  [k: string]: unknown;
}

// One decoder for every frame of every call: it is stateless when called without {stream:true}.
const decoder = new TextDecoder();

/** Frame payload as Bun delivers it (binaryType "arraybuffer" → ArrayBuffer; "nodebuffer" → Buffer). */
export type Frame = string | ArrayBuffer | ArrayBufferView;

export function frameText(data: Frame): string {
  if (typeof data === "string") return data;
  if (data instanceof ArrayBuffer) return decoder.decode(new Uint8Array(data));
  return decoder.decode(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

/** Parses a server frame (binary or text). Throws on anything that is not a JSON object. */
export function parseServerFrame(data: Frame): ServerMessage {
  const v: unknown = JSON.parse(frameText(data));
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error("server frame is not a JSON object");
  return v as ServerMessage;
}

// Every audio chunk of a session carries the same mimeType: the last one parsed is kept, so a chunk costs a
// string compare instead of a regex match (which allocates its result).
let lastMime = "";
let lastRate = NaN;

/** `audio/pcm;rate=24000` → 24000; Live output is 24 kHz when the rate is missing. */
export function mimeRate(mime: string | undefined, fallback = OUTPUT_RATE): number {
  if (mime === undefined) return fallback;
  if (mime !== lastMime) {
    const m = /rate=(\d+)/i.exec(mime);
    lastRate = m?.[1] === undefined ? NaN : Number(m[1]);
    lastMime = mime;
  }
  return Number.isFinite(lastRate) && lastRate > 0 ? lastRate : fallback;
}

/** protobuf Duration JSON ("50s", "9.5s", "0.250s") → ms. Undefined for anything unparseable. */
export function parseDurationMs(d: string | undefined): number | undefined {
  if (d === undefined) return undefined;
  const m = /^\s*(-?\d+(?:\.\d+)?)s\s*$/.exec(d);
  if (m?.[1] === undefined) return undefined;
  return Math.round(Number(m[1]) * 1000);
}
