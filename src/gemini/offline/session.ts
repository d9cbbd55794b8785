// One socket of the offline model: the Live protocol a relay relies on (setup first, resumption handles, barge-in,
// bursty 24 kHz output, turnComplete after real-time playback), answering with the caller's own last utterance.
// It keeps only what the live socket needs; dispose() drops it all.
import type { Conversation, HandleBook } from "./handles.ts";
import { EnergyDetector, tone, upsample16to24 } from "./voice.ts";

export const INVALID_ARGUMENT = "Request contains an invalid argument.";
export const SESSION_NOT_FOUND = "BidiGenerateContent session not found";
const MEDIA_CHUNKS = "realtime_input.media_chunks is deprecated. Use audio, video, or text instead.";
const BAD_AUDIO =
  "error when processing input audio, please check if the inputaudio is in valid format: 16khz s16le pcm, mono channel.";

export const GREETING_TEXT = "Hello! This is the offline echo agent. Say something and you will hear it back.";
// Shared by every session and never written to: one allocation, not one per call.
const GREETING_PCM = tone(500, 660, 24000, 0.1);

const OUT_RATE = 24000;
/** 100 ms of output per message every 20 ms: 5× real time, bursty like the real service. */
const CHUNK_BYTES = (OUT_RATE / 10) * 2;
const CHUNK_INTERVAL_MS = 20;
/** Energy VAD: RMS over 20 ms windows; speech after 60 ms of it, end of turn after 300 ms below it. */
const SPEECH_RMS = 1000;
const MIN_SPEECH_MS = 60;
const SILENCE_MS = 300;
/** Live bills about 25 tokens per second of audio. */
const MS_PER_AUDIO_TOKEN = 40;

type Json = Record<string, unknown>;

/** The part of Bun's ServerWebSocket a session uses. */
export interface Socket {
  sendBinary(data: Uint8Array): unknown;
  close(code?: number, reason?: string): void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function parse(raw: string | Uint8Array): Json | undefined {
  try {
    const v: unknown = JSON.parse(typeof raw === "string" ? raw : decoder.decode(raw));
    return isObject(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

interface Answer {
  pcm: Uint8Array;
  offset: number;
  transcript: string;
  promptTokens: number;
  promptModality: "AUDIO" | "TEXT";
  playbackEndsAt: number;
}

export class EchoSession {
  private conversation: Conversation | undefined;
  /** Handles only go out when the setup asked for resumption (as the real service does). */
  private resumable = false;
  private disposed = false;
  private readonly vad = new EnergyDetector(SPEECH_RMS, MIN_SPEECH_MS, SILENCE_MS, {
    speechStart: () => this.onSpeechStart(),
    speechEnd: (utterance, ms) => this.onSpeechEnd(utterance, ms),
  });
  /** The answer being sent or played; undefined between turns. */
  private answer: Answer | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly ws: Socket,
    private readonly book: HandleBook,
  ) {}

  onFrame(raw: string | Uint8Array): void {
    if (this.disposed) return;
    const msg = parse(raw);
    const keys = msg === undefined ? [] : Object.keys(msg);
    // Every client message has exactly one top-level key.
    if (msg === undefined || keys.length !== 1) return this.close(1007, INVALID_ARGUMENT);
    if (this.conversation === undefined) {
      if (!isObject(msg.setup)) return this.close(1007, INVALID_ARGUMENT);
      return this.onSetup(msg.setup);
    }
    if (isObject(msg.realtimeInput)) return this.onRealtimeInput(msg.realtimeInput);
    // History and tool results change nothing for an echo; a second setup or an unknown message is refused.
    if ("clientContent" in msg || "toolResponse" in msg) return;
    this.close(1007, INVALID_ARGUMENT);
  }

  /** The socket is gone: stop the answer and let go of the conversation. Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.stopAnswer();
    if (this.conversation !== undefined) this.book.release(this.conversation);
    this.conversation = undefined;
  }

  close(code: number, reason: string): void {
    this.dispose();
    this.ws.close(code, reason);
  }

  private send(msg: Json): void {
    if (!this.disposed) this.ws.sendBinary(encoder.encode(JSON.stringify(msg)));
  }

  private onSetup(setup: Json): void {
    // Any model id is answered by the echo, but a setup without one is not a setup.
    if (typeof setup.model !== "string") return this.close(1007, INVALID_ARGUMENT);
    const sr = setup.sessionResumption;
    if (sr !== undefined && !isObject(sr)) return this.close(1007, INVALID_ARGUMENT);
    // {handle: null} is refused by the real service too.
    if (sr !== undefined && "handle" in sr && typeof sr.handle !== "string") return this.close(1007, INVALID_ARGUMENT);
    const handle = sr?.handle as string | undefined;
    const conv = handle !== undefined && handle !== "" ? this.book.resume(handle) : this.book.open();
    if (conv === undefined) return this.close(1008, SESSION_NOT_FOUND);
    this.conversation = conv;
    this.resumable = sr !== undefined;
    this.send({ setupComplete: {} });
    this.issueHandle();
  }

  private onRealtimeInput(ri: Json): void {
    if ("mediaChunks" in ri) return this.close(1007, MEDIA_CHUNKS);
    if (isObject(ri.audio)) return this.onAudio(ri.audio);
    if (typeof ri.text === "string") return this.speak(GREETING_PCM, GREETING_TEXT, Math.ceil(ri.text.length / 4), "TEXT");
    // audioStreamEnd, activityStart/End: nothing to do for an echo.
  }

  private onAudio(blob: Json): void {
    const { data, mimeType } = blob;
    if (typeof data !== "string" || (typeof mimeType === "string" && !mimeType.startsWith("audio/pcm"))) {
      return this.close(1007, INVALID_ARGUMENT);
    }
    const pcm = Buffer.from(data, "base64");
    if ((pcm.byteLength & 1) === 1) return this.close(1007, BAD_AUDIO);
    this.vad.push(pcm);
  }

  private onSpeechStart(): void {
    if (this.answer !== undefined) this.interrupt();
  }

  private onSpeechEnd(utterance: Uint8Array, speechMs: number): void {
    this.send({ serverContent: { inputTranscription: { text: `(caller spoke ${speechMs} ms)`, finished: true } } });
    if (utterance.byteLength > 0) {
      this.speak(upsample16to24(utterance), "(echo)", Math.ceil(speechMs / MS_PER_AUDIO_TOKEN), "AUDIO");
    }
  }

  /** Barge-in as the real service reports it: interrupted, then turnComplete, no generationComplete. */
  private interrupt(): void {
    this.stopAnswer();
    this.send({ serverContent: { interrupted: true } });
    this.send({ serverContent: { turnComplete: true } });
    this.issueHandle();
  }

  private speak(pcm: Uint8Array, transcript: string, promptTokens: number, promptModality: "AUDIO" | "TEXT"): void {
    if (this.answer !== undefined) this.interrupt();
    const audioMs = (pcm.byteLength / 2 / OUT_RATE) * 1000;
    this.answer = { pcm, offset: 0, transcript, promptTokens, promptModality, playbackEndsAt: performance.now() + audioMs };
    // No resumable handle while generating.
    if (this.resumable) this.send({ sessionResumptionUpdate: { resumable: false } });
    this.nextChunk();
  }

  private nextChunk(): void {
    this.timer = undefined;
    const a = this.answer;
    if (a === undefined || this.disposed) return;
    if (a.offset >= a.pcm.byteLength) return this.generated(a);
    const end = Math.min(a.offset + CHUNK_BYTES, a.pcm.byteLength);
    const data = Buffer.from(a.pcm.buffer, a.pcm.byteOffset + a.offset, end - a.offset).toString("base64");
    this.send({ serverContent: { modelTurn: { parts: [{ inlineData: { mimeType: "audio/pcm;rate=24000", data } }] } } });
    if (a.offset === 0) this.send({ serverContent: { outputTranscription: { text: a.transcript } } });
    a.offset = end;
    this.timer = setTimeout(() => this.nextChunk(), CHUNK_INTERVAL_MS);
  }

  /** All audio sent: generationComplete now, turnComplete once real-time playback would be over. */
  private generated(a: Answer): void {
    this.send({ serverContent: { generationComplete: true } });
    const wait = Math.max(0, a.playbackEndsAt - performance.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.answer = undefined;
      const response = Math.ceil(((a.pcm.byteLength / 2 / OUT_RATE) * 1000) / MS_PER_AUDIO_TOKEN);
      this.send({
        serverContent: { turnComplete: true },
        usageMetadata: {
          promptTokenCount: a.promptTokens,
          responseTokenCount: response,
          totalTokenCount: a.promptTokens + response,
          promptTokensDetails: [{ modality: a.promptModality, tokenCount: a.promptTokens }],
          responseTokensDetails: [{ modality: "AUDIO", tokenCount: response }],
        },
      });
      this.issueHandle();
    }, wait);
  }

  private stopAnswer(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.answer = undefined;
  }

  private issueHandle(): void {
    if (!this.resumable || this.conversation === undefined || this.disposed) return;
    this.send({ sessionResumptionUpdate: { newHandle: this.book.issue(this.conversation), resumable: true } });
  }
}
