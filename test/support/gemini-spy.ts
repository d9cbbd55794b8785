// Test spy for the Gemini Live API (BidiGenerateContent): a local server faithful to docs/gemini-live.md where it
// matters to a relay (pretty-printed JSON in binary frames, setup-first discipline, the 1007/1008/1011 closes real
// sessions die with, resumption handles, goAway, barge-in, bursty faster-than-real-time 24 kHz output), with knobs
// for each of those and a record of every message. Used by the tests and the bench; the product's offline mode
// uses src/gemini/offline/server.ts, which records nothing.
// Also as the docs describe (docs/gemini-live.md#async-tools, #turns-the-model-rejects, #search-grounding):
//   - setup is read as proto3 JSON against Google's v1beta protos (test/support/wire-protos.ts) and refused with
//     1007 like the service's "Invalid JSON payload" (enum names read loosely, as the service does; not for the
//     bench's lenient or lean modes); enableAffectiveDialog / proactivity only on a v1alpha path;
//   - function calls, with `toolTurns` on (off by default: tests that script the model around tools speak for it):
//     a NON_BLOCKING call (declared, or the generation's default) lets the model keep talking
//     (a filler answer while the tool runs); its result is spoken WHEN_IDLE (after the current answer), at once
//     with INTERRUPT (3.8 waits while the caller speaks), or not at all with SILENT; a BLOCKING result is
//     answered when it comes, and on 3.8 a BLOCKING call is cancelled when the caller speaks again;
//   - rejectNext(): answers that are only turnComplete with a turnCompleteReason and no audio;
//   - with the googleSearch tool, answers to the caller carry groundingMetadata.
import type { Server, ServerWebSocket } from "bun";
import type { Logger } from "../../src/log.ts";
import { EnergyDetector, tone, upsample16to24 } from "../../src/gemini/offline/voice.ts";
import { KNOWN_EXCEPTIONS, loadProtos, WireChecker } from "./wire-protos.ts";

export interface StandinOptions {
  hostname: string;
  /** 0 = pick a free port. */
  port: number;
  /** `echo` plays the caller's last utterance back (16→24 kHz); `tone` answers with a sine. */
  mode: "echo" | "tone";
  /** Send JSON in text frames instead of binary (Gemini uses binary). */
  textFrames: boolean;
  /** Delay before setupComplete. */
  setupDelayMs: number;
  /** Connection lifetime; 0 = unlimited. goAway goes out goAwayMs before the end, then close 1011. */
  lifetimeMs: number;
  goAwayMs: number;
  /** Tone answer length and pitch. */
  answerMs: number;
  toneHz: number;
  /** Answer to a realtimeInput.text (e.g. the greeting): a tone of this length. */
  greetingMs: number;
  greetingHz: number;
  /** Audio per serverContent message and the interval between messages (100 ms / 20 ms = 5× real time). */
  burstMs: number;
  burstIntervalMs: number;
  /** Energy VAD: RMS threshold over 20 ms windows, speech after minSpeechMs, turn end after silenceMs. */
  speechRms: number;
  minSpeechMs: number;
  silenceMs: number;
  /** Accept the deprecated realtimeInput.mediaChunks (the bench baseline sends it). */
  lenient: boolean;
  /** Field report: a resume while the session's older socket is still open is closed with 1011. */
  rejectOverlappingResume: boolean;
  /** 3.x style: audio, output transcription and (last burst) generationComplete in one message. */
  bundle: boolean;
  /** Hold turnComplete until the answer's real-time playback would have ended (the real service does). */
  waitForPlayback: boolean;
  /** Refuse per-model setup fields the real models refuse (1007). */
  validateSetup: boolean;
  /** When set, the upgrade must carry this key (x-goog-api-key header or ?key=); otherwise HTTP 403. */
  apiKey: string | undefined;
  /** `realtimeInput.text` starting with this word triggers a toolCall: "<word> <name> <json args>". */
  toolTrigger: string;
  /** A stalled model: takes setup, audio and text but never answers (speak() still works when called). */
  mute: boolean;
  /**
   * The model's own turns around function calls: a filler answer (fillerMs) while a NON_BLOCKING call runs, each
   * result spoken as its call mode and scheduling say, a 3.8 BLOCKING call cancelled when the caller speaks again.
   * Off (the default): results are only recorded, and the test speaks for the model.
   */
  toolTurns: boolean;
  fillerMs: number;
  /** With the googleSearch tool: the groundingMetadata each answer to the caller carries. */
  grounding: Json;
  onCallerAudio: ((session: StandinSession, pcm: Uint8Array, receivedAtMs: number) => void) | undefined;
  onSession: ((session: StandinSession) => void) | undefined;
  log: Logger | undefined;
  /** Load-generator mode for the bench: audio messages in the exact form the relays send are taken without
   *  JSON.parse, the speech detector is off (the bench decides when to answer), and audio frames are counted,
   *  not listed, so thousands of calls cost the bench little. */
  lean: boolean;
}

export const DEFAULT_STANDIN_OPTIONS: StandinOptions = {
  hostname: "127.0.0.1",
  port: 0,
  mode: "tone",
  textFrames: false,
  setupDelayMs: 0,
  lifetimeMs: 0,
  goAwayMs: 5000,
  answerMs: 600,
  toneHz: 440,
  greetingMs: 400,
  greetingHz: 660,
  burstMs: 100,
  burstIntervalMs: 20,
  speechRms: 1000,
  minSpeechMs: 60,
  silenceMs: 300,
  lenient: false,
  rejectOverlappingResume: false,
  bundle: false,
  waitForPlayback: true,
  validateSetup: true,
  apiKey: undefined,
  toolTrigger: "TOOLCALL",
  mute: false,
  toolTurns: false,
  fillerMs: 300,
  grounding: {
    webSearchQueries: ["Nairobi weather today"],
    groundingChunks: [
      { web: { uri: "https://vertexaisearch.cloud.google.com/grounding-api-redirect/standin-1", title: "weather.example.com" } },
      { web: { uri: "https://vertexaisearch.cloud.google.com/grounding-api-redirect/standin-2", title: "news.example.co.ke" } },
    ],
    groundingSupports: [{ segment: { startIndex: 0, endIndex: 20, text: "It is sunny in Nairobi" }, groundingChunkIndices: [0] }],
    searchEntryPoint: { renderedContent: "<div class=\"search-entry\">Nairobi weather today</div>" },
  },
  onCallerAudio: undefined,
  onSession: undefined,
  log: undefined,
  lean: false,
};

/** The exact audio message Sauti Relay and the floor send (JSON built by concatenation), for the lean path. */
const LEAN_AUDIO_HEAD = `{"realtimeInput":{"audio":{"mimeType":"audio/pcm;rate=16000","data":"`;
const LEAN_AUDIO_TAIL = `"}}}`;

export const MEDIA_CHUNKS_REASON = "realtime_input.media_chunks is deprecated. Use audio, video, or text instead.";
export const INVALID_ARGUMENT = "Request contains an invalid argument.";
export const SESSION_NOT_FOUND_REASON = "BidiGenerateContent session not found";
export const DEADLINE_REASON = "Deadline expired before operation could complete.";
export const INTERNAL_REASON = "Internal error encountered.";
const BAD_AUDIO_REASON =
  "error when processing input audio, please check if the inputaudio is in valid format: 16khz s16le pcm, mono channel.";

/** A resumable conversation: survives its sockets, addressed by the handles it issued. */
interface Conversation {
  id: number;
  sockets: Set<StandinSession>;
}

interface SocketData {
  session: StandinSession;
}

type Json = Record<string, unknown>;

type CallMode = "BLOCKING" | "NON_BLOCKING";

/** A function result as the model took it, and what it did with it. */
export interface ToolResultSeen {
  id: string;
  name: string;
  mode: CallMode;
  scheduling: string | undefined;
  /** answered: spoken at once; queued: spoken after the answer in progress; interrupted: cut the answer in
   *  progress, then spoken; silent: context only; late: its call was cancelled or never made. */
  action: "answered" | "queued" | "interrupted" | "silent" | "late";
}

/** The generation's own call mode for a declaration without `behavior` (docs/gemini-live.md#async-tools). */
function defaultMode(model: string): CallMode {
  return /^gemini-3\.8-/.test(model.replace(/^models\//, "")) ? "NON_BLOCKING" : "BLOCKING";
}

/** The service's words for a field it does not know, else the reader's (a close reason holds 123 bytes). */
export function invalidPayload(problem: string): string {
  const name = /unknown field: "([^"]+)"/.exec(problem)?.[1];
  const text = name !== undefined ? `Invalid JSON payload received. Unknown name "${name}": Cannot find field.` : `Invalid JSON payload received. ${problem}`;
  return Buffer.from(text).subarray(0, 123).toString();
}

/** The published protos, strictly; on a v1beta path without the two fields Google's guide puts on v1alpha. */
let checkers: { alpha: WireChecker; beta: WireChecker } | undefined;
function wireCheckers(): { alpha: WireChecker; beta: WireChecker } {
  if (checkers === undefined) {
    const alphaOnly = new Set(["enable_affective_dialog", "proactivity"]);
    checkers = { alpha: new WireChecker(), beta: new WireChecker(loadProtos(KNOWN_EXCEPTIONS.filter((x) => !alphaOnly.has(x.field)))) };
  }
  return checkers;
}

/** One client socket as the stand-in sees it, with everything it received, and control methods. */
export class StandinSession {
  readonly id: number;
  /** Upgrade request: URL (path + query) and the x-goog-api-key header. */
  readonly requestUrl: string;
  readonly apiKeyHeader: string | null;
  /** The setup object (and its raw text) as received; undefined until it arrives. */
  setup: Json | undefined;
  setupRaw: string | undefined;
  /** performance.now() when the setup arrived. */
  setupAtMs = 0;
  /** Resumption handle the setup carried, if any. */
  resumedWith: string | undefined;
  conversationId = 0;
  ready = false;
  /** Kind of each client message in arrival order: setup, audio, text, toolResponse, clientContent, ... */
  readonly received: string[] = [];
  /** Kind of each server message in send order. */
  readonly sent: string[] = [];
  /** Client messages that arrived after setup but before setupComplete (a protocol violation). */
  beforeReady = 0;
  /** Client frames that were binary (clients should send text). */
  binaryFrames = 0;
  audioFrames = 0;
  audioBytes = 0;
  readonly texts: string[] = [];
  readonly toolResponses: Json[] = [];
  /** Each function result and what the model did with it. */
  readonly toolResults: ToolResultSeen[] = [];
  /** Why the setup was refused (the proto reader's words), if it was. */
  setupProblems: string[] = [];
  /** Answers sent as an empty turnComplete with a turnCompleteReason. */
  rejectedTurns = 0;
  /** groundingMetadata messages sent. */
  groundings = 0;
  readonly clientContents: Json[] = [];
  readonly handlesIssued: string[] = [];
  interruptions = 0;
  answers = 0;
  closed: { code: number; reason: string; by: "server" | "client" } | undefined;
  private closedResolve!: (v: { code: number; reason: string }) => void;
  readonly whenClosed: Promise<{ code: number; reason: string }>;

  ws: ServerWebSocket<SocketData> | undefined;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private burstTimer: ReturnType<typeof setTimeout> | undefined;
  private turnTimer: ReturnType<typeof setTimeout> | undefined;
  private generating = false;
  private playbackEndsAt = 0;
  private toolSeq = 0;
  readonly pendingToolIds = new Set<string>();
  /** Pending calls and the mode the model called each in. */
  private readonly pendingModes = new Map<string, { name: string; mode: CallMode }>();
  /** Declared `behavior` per function name. */
  private readonly declared = new Map<string, CallMode>();
  private search = false;
  /** Answers to give after the one in progress (WHEN_IDLE results). */
  private afterTurn: Array<() => void> = [];
  private rejecting: { left: number; reason: string } | undefined;
  private readonly vad: EnergyDetector;
  private lastUtterance: Uint8Array | undefined;

  constructor(
    private readonly server: StandinServer,
    id: number,
    requestUrl: string,
    apiKeyHeader: string | null,
  ) {
    this.id = id;
    this.requestUrl = requestUrl;
    this.apiKeyHeader = apiKeyHeader;
    this.whenClosed = new Promise((r) => (this.closedResolve = r));
    const o = server.opts;
    this.vad = new EnergyDetector(o.speechRms, o.minSpeechMs, o.silenceMs, {
      speechStart: () => this.onSpeechStart(),
      speechEnd: (u, ms) => this.onSpeechEnd(u, ms),
    });
  }

  get isGenerating(): boolean {
    return this.generating;
  }

  // ---------- control API ----------

  /** Starts an answer now: a tone (default) or the given 24 kHz PCM. */
  speak(a: { ms?: number; hz?: number; pcm24?: Uint8Array; transcript?: string } = {}): void {
    const o = this.server.opts;
    const pcm = a.pcm24 ?? this.server.toneFor(a.ms ?? o.answerMs, a.hz ?? o.toneHz);
    this.answer(pcm, a.transcript ?? "This is the stand-in answering.");
  }

  /** Barge-in as the real server reports it: interrupted, then turnComplete (no generationComplete). */
  interrupt(): void {
    this.stopAnswer();
    this.interruptions++;
    this.send({ serverContent: { interrupted: true } });
    this.send({ serverContent: { turnComplete: true } });
    this.issueHandle();
  }

  /** Announces the end of this connection, then closes 1011 "Deadline expired..." after timeLeftMs. */
  goAway(timeLeftMs: number): void {
    this.send({ goAway: { timeLeft: `${timeLeftMs / 1000}s` } });
    this.later(timeLeftMs, () => this.close(1011, DEADLINE_REASON));
  }

  close(code: number, reason: string): void {
    this.markClosed(code, reason, "server");
    this.ws?.close(code, reason);
  }

  /** How the model calls `name`: its declared behavior, else the generation's default. */
  callMode(name: string): CallMode {
    return this.declared.get(name) ?? defaultMode(String(this.setup?.model ?? ""));
  }

  /** Sends a toolCall; returns the call id. A NON_BLOCKING call: the model goes on talking (a filler answer). */
  toolCall(name: string, args: Json = {}): string {
    const id = `function-call-${this.id}-${++this.toolSeq}`;
    const mode = this.callMode(name);
    this.pendingToolIds.add(id);
    this.pendingModes.set(id, { name, mode });
    this.send({ toolCall: { functionCalls: [{ id, name, args }] } });
    const { toolTurns, fillerMs: filler } = this.server.opts;
    if (toolTurns && mode === "NON_BLOCKING" && filler > 0 && !this.generating) this.speak({ ms: filler, transcript: "One moment, let me check that for you." });
    return id;
  }

  cancelTools(ids: string[]): void {
    for (const id of ids) {
      this.pendingToolIds.delete(id);
      this.pendingModes.delete(id);
    }
    this.send({ toolCallCancellation: { ids } });
  }

  /** The next `n` answers (to caller speech or a text) are only `turnComplete` with `reason`, no audio. */
  rejectNext(n: number, reason = "RESPONSE_REJECTED"): void {
    this.rejecting = n > 0 ? { left: n, reason } : undefined;
  }

  /** Sends a message already serialized and encoded (lean mode's cached answers). */
  sendEncoded(bytes: Uint8Array, kind: string): void {
    const ws = this.ws;
    if (ws === undefined || this.closed !== undefined) return;
    this.sent.push(kind);
    if (this.server.opts.textFrames) ws.sendText(new TextDecoder().decode(bytes));
    else ws.sendBinary(bytes);
  }

  /** Sends any server message (pretty-printed, binary unless textFrames). */
  send(msg: Json): void {
    const ws = this.ws;
    if (ws === undefined || this.closed !== undefined) return;
    const text = JSON.stringify(msg, null, 2);
    this.sent.push(Object.keys(msg).join("+"));
    if (this.server.opts.textFrames) ws.sendText(text);
    else ws.sendBinary(Buffer.from(text));
  }

  // ---------- protocol ----------

  onFrame(raw: string | Buffer): void {
    if (this.closed !== undefined) return;
    if (typeof raw !== "string") this.binaryFrames++;
    if (this.server.opts.lean && this.ready && typeof raw === "string" && raw.startsWith(LEAN_AUDIO_HEAD) && raw.endsWith(LEAN_AUDIO_TAIL)) {
      return this.onLeanAudio(raw.slice(LEAN_AUDIO_HEAD.length, raw.length - LEAN_AUDIO_TAIL.length));
    }
    let msg: unknown;
    try {
      msg = JSON.parse(typeof raw === "string" ? raw : raw.toString("utf8"));
    } catch {
      return this.close(1007, INVALID_ARGUMENT);
    }
    if (typeof msg !== "object" || msg === null || Array.isArray(msg)) return this.close(1007, INVALID_ARGUMENT);
    const m = msg as Json;
    const keys = Object.keys(m);
    if (this.setup === undefined) {
      if (keys.length !== 1 || keys[0] !== "setup") return this.close(1007, INVALID_ARGUMENT);
      this.received.push("setup");
      return this.onSetup(m.setup as Json, typeof raw === "string" ? raw : raw.toString("utf8"));
    }
    if (!this.ready) this.beforeReady++;
    if (keys.length !== 1) return this.close(1007, INVALID_ARGUMENT);
    if ("realtimeInput" in m) return this.onRealtimeInput(m.realtimeInput as Json);
    if ("toolResponse" in m) {
      this.received.push("toolResponse");
      const rs = ((m.toolResponse as Json).functionResponses ?? []) as Json[];
      for (const r of rs) {
        this.toolResponses.push(r);
        this.pendingToolIds.delete(String(r.id));
        this.onToolResult(r);
      }
      return;
    }
    if ("clientContent" in m) {
      this.received.push("clientContent");
      this.clientContents.push(m.clientContent as Json);
      return;
    }
    // A second setup, or anything unknown.
    this.received.push(keys[0] ?? "?");
    this.close(1007, INVALID_ARGUMENT);
  }

  private onSetup(setup: Json, raw: string): void {
    this.setup = setup;
    this.setupRaw = raw;
    this.setupAtMs = performance.now();
    const o = this.server.opts;
    const model = setup.model;
    if (typeof model !== "string" || !model.startsWith("models/")) {
      return this.close(1008, `${String(model)} is not found for API version v1beta, or is not supported for bidiGenerateContent`);
    }
    const sr = setup.sessionResumption as Json | undefined;
    if (sr !== undefined && "handle" in sr && (sr.handle === null || typeof sr.handle !== "string")) {
      return this.close(1007, INVALID_ARGUMENT);
    }
    if (o.validateSetup && !validSetupFor(setup, model)) return this.close(1007, INVALID_ARGUMENT);
    // The service reads the message as proto3 JSON ("Invalid JSON payload received. Unknown name ..."). Not for
    // the bench's baseline relay (lenient) or load generation (lean).
    if (o.validateSetup && !o.lenient && !o.lean) {
      const c = wireCheckers();
      // The service reads enum names loosely (lower case passes, js-genai#875); the strict reader does not.
      const loose = /unknown enum value: "([^"]*)"/;
      this.setupProblems = (this.requestUrl.includes(".v1alpha.") ? c.alpha : c.beta)
        .check(raw)
        .filter((p) => {
          const v = loose.exec(p)?.[1];
          return v === undefined || v === v.toUpperCase();
        });
      if (this.setupProblems.length > 0) {
        this.server.log?.debug({ standin: this.id, problems: this.setupProblems }, "standin: setup refused");
        return this.close(1007, invalidPayload(this.setupProblems[0]!));
      }
    }
    for (const t of (setup.tools ?? []) as Json[]) {
      if ("googleSearch" in t) this.search = true;
      for (const d of (t.functionDeclarations ?? []) as Json[]) {
        if (d.behavior === "BLOCKING" || d.behavior === "NON_BLOCKING") this.declared.set(String(d.name), d.behavior);
      }
    }

    let conv: Conversation | undefined;
    const handle = sr?.handle as string | undefined;
    if (handle !== undefined) {
      this.resumedWith = handle;
      conv = this.server.conversationFor(handle);
      if (conv === undefined) return this.close(1008, SESSION_NOT_FOUND_REASON);
      if (o.rejectOverlappingResume && [...conv.sockets].some((s) => s !== this && s.closed === undefined)) {
        return this.close(1011, INTERNAL_REASON);
      }
    } else {
      conv = this.server.newConversation();
    }
    conv.sockets.add(this);
    this.conversationId = conv.id;

    this.later(o.setupDelayMs, () => {
      this.ready = true;
      this.send({ setupComplete: {} });
      this.issueHandle();
      if (o.lifetimeMs > 0) {
        this.later(Math.max(0, o.lifetimeMs - o.goAwayMs), () => this.goAway(Math.min(o.goAwayMs, o.lifetimeMs)));
      }
    });
  }

  private onRealtimeInput(ri: Json): void {
    const o = this.server.opts;
    if ("mediaChunks" in ri) {
      if (!o.lenient) return this.close(1007, MEDIA_CHUNKS_REASON);
      const first = (ri.mediaChunks as Json[] | undefined)?.[0];
      return this.onAudio(first);
    }
    if ("audio" in ri) return this.onAudio(ri.audio as Json);
    if ("text" in ri) {
      const text = String(ri.text);
      this.received.push("text");
      this.texts.push(text);
      if (text.startsWith(o.toolTrigger)) {
        // "<trigger> <name> <json args>"
        const rest = text.slice(o.toolTrigger.length).trim();
        const sp = rest.indexOf(" ");
        const name = sp < 0 ? rest : rest.slice(0, sp);
        let args: Json = {};
        try {
          if (sp >= 0) args = JSON.parse(rest.slice(sp + 1)) as Json;
        } catch {
          /* keep {} */
        }
        this.toolCall(name, args);
        return;
      }
      if (o.mute) return;
      if (this.rejected()) return;
      this.speak({ ms: o.greetingMs, hz: o.greetingHz, transcript: "Hello! How can I help you today?" });
      return;
    }
    this.received.push(Object.keys(ri).join("+") || "realtimeInput");
  }

  private onAudio(blob: Json | undefined): void {
    if (!this.server.opts.lean) this.received.push("audio");
    const data = blob?.data;
    const mime = blob?.mimeType;
    if (typeof data !== "string" || (typeof mime === "string" && !mime.startsWith("audio/pcm"))) {
      return this.close(1007, INVALID_ARGUMENT);
    }
    const pcm = Buffer.from(data, "base64");
    if ((pcm.byteLength & 1) === 1) return this.close(1007, BAD_AUDIO_REASON);
    this.audioFrames++;
    this.audioBytes += pcm.byteLength;
    const hook = this.server.opts.onCallerAudio;
    if (hook !== undefined) hook(this, pcm, performance.now());
    if (!this.server.opts.lean) this.vad.push(pcm);
  }

  private onLeanAudio(b64: string): void {
    const pcm = Buffer.from(b64, "base64");
    if ((pcm.byteLength & 1) === 1) return this.close(1007, BAD_AUDIO_REASON);
    this.audioFrames++;
    this.audioBytes += pcm.byteLength;
    const hook = this.server.opts.onCallerAudio;
    if (hook !== undefined) hook(this, pcm, performance.now());
  }

  private onSpeechStart(): void {
    if (this.generating || performance.now() < this.playbackEndsAt) this.interrupt();
    // 3.8 cancels a BLOCKING call when the caller speaks again (Google's 3.8 guide).
    if (this.server.opts.toolTurns && /^gemini-3\.8-/.test(String(this.setup?.model ?? "").replace(/^models\//, ""))) {
      const ids = [...this.pendingModes].filter(([, c]) => c.mode === "BLOCKING").map(([id]) => id);
      if (ids.length > 0) this.cancelTools(ids);
    }
  }

  /** An answer that is only `turnComplete` + turnCompleteReason, when rejectNext() asked for one. */
  private rejected(): boolean {
    const r = this.rejecting;
    if (r === undefined) return false;
    if (--r.left <= 0) this.rejecting = undefined;
    this.rejectedTurns++;
    this.send({ serverContent: { turnComplete: true, turnCompleteReason: r.reason } });
    return true;
  }

  /** A function result arrives: the model answers it as its call mode and scheduling say. */
  private onToolResult(r: Json): void {
    const id = String(r.id);
    const call = this.pendingModes.get(id);
    const scheduling = typeof r.scheduling === "string" ? r.scheduling : undefined;
    const seen = (action: ToolResultSeen["action"]): void =>
      void this.toolResults.push({ id, name: String(r.name), mode: call?.mode ?? "BLOCKING", scheduling, action });
    if (call === undefined) return seen("late");
    this.pendingModes.delete(id);
    if (!this.server.opts.toolTurns) return;
    const say = (): void => this.speak({ transcript: `Here is what ${call.name} found.` });
    // Scheduling applies to NON_BLOCKING calls only; a BLOCKING call's result is what the model waited for.
    const how = call.mode === "BLOCKING" ? "BLOCKING" : (scheduling ?? "WHEN_IDLE");
    const busy = this.generating || performance.now() < this.playbackEndsAt;
    const callerTalking = this.vad.isSpeaking;
    if (how === "SILENT") return seen("silent");
    // 3.8's "polite interruption": while the caller speaks, INTERRUPT waits as WHEN_IDLE does.
    if (how === "INTERRUPT" && !callerTalking) {
      if (busy) this.interrupt();
      seen(busy ? "interrupted" : "answered");
      return say();
    }
    if (!busy && !callerTalking) {
      seen("answered");
      return say();
    }
    seen("queued");
    this.afterTurn.push(say);
  }

  private onSpeechEnd(utterance: Uint8Array, speechMs: number): void {
    this.lastUtterance = utterance;
    if (this.server.opts.mute) return;
    this.send({ serverContent: { inputTranscription: { text: `(caller spoke ${speechMs} ms)`, finished: true } } });
    const o = this.server.opts;
    if (this.rejected()) return;
    if (this.search) {
      this.groundings++;
      this.send({ serverContent: { groundingMetadata: o.grounding } });
    }
    if (o.mode === "echo" && utterance.byteLength > 0) this.speak({ pcm24: upsample16to24(utterance), transcript: "(echo)" });
    else this.speak();
  }

  /** The caller's last utterance, as detected (16 kHz). */
  get utterance(): Uint8Array | undefined {
    return this.lastUtterance;
  }

  private answer(pcm: Uint8Array, transcript: string): void {
    this.stopAnswer();
    const o = this.server.opts;
    this.generating = true;
    this.answers++;
    this.send({ sessionResumptionUpdate: { resumable: false } });
    const burstBytes = Math.max(2, Math.round((24000 * o.burstMs) / 1000) * 2);
    const bursts: Uint8Array[] = [];
    for (let off = 0; off < pcm.byteLength; off += burstBytes) bursts.push(pcm.subarray(off, off + burstBytes));
    // Lean mode: every call answers with the same few tones; their audio messages are encoded once.
    const lean = o.lean && !o.bundle ? this.server.encodedBursts(pcm, bursts) : undefined;
    const words = transcript.split(/\s+/).filter((w) => w !== "");
    const audioMs = (pcm.byteLength / 2 / 24000) * 1000;
    let i = 0;
    let playbackStart = 0;
    const usage = { promptTokenCount: 25, responseTokenCount: Math.ceil(audioMs / 40), totalTokenCount: 25 + Math.ceil(audioMs / 40) };
    const finish = (): void => {
      this.burstTimer = undefined;
      if (!o.bundle) this.send({ serverContent: { generationComplete: true } });
      const wait = o.waitForPlayback ? Math.max(0, this.playbackEndsAt - performance.now()) : 0;
      this.turnTimer = setTimeout(() => {
        this.turnTimer = undefined;
        this.generating = false;
        this.send({ serverContent: { turnComplete: true }, usageMetadata: usage });
        this.issueHandle();
        // WHEN_IDLE results: now the model is quiet.
        const next = this.afterTurn.shift();
        if (next !== undefined) next();
      }, wait);
    };
    const step = (): void => {
      if (this.closed !== undefined) return;
      const b = bursts[i];
      if (b === undefined) return finish();
      if (i === 0) {
        playbackStart = performance.now();
        this.playbackEndsAt = playbackStart + audioMs;
      }
      // Spread the transcript over the bursts.
      const from = Math.floor((i * words.length) / bursts.length);
      const to = Math.floor(((i + 1) * words.length) / bursts.length);
      const text = words.slice(from, to).join(" ");
      const last = i === bursts.length - 1;
      const encoded = lean?.[i];
      if (encoded !== undefined) {
        this.sendEncoded(encoded, "serverContent");
        if (text !== "") this.send({ serverContent: { outputTranscription: { text: (from > 0 ? " " : "") + text } } });
        i++;
        this.burstTimer = setTimeout(step, last ? 0 : o.burstIntervalMs);
        return;
      }
      const part = { inlineData: { mimeType: "audio/pcm;rate=24000", data: Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64") } };
      if (o.bundle) {
        const sc: Json = { modelTurn: { parts: [part] } };
        if (text !== "") sc.outputTranscription = { text: (from > 0 ? " " : "") + text };
        if (last) sc.generationComplete = true;
        this.send({ serverContent: sc });
      } else {
        this.send({ serverContent: { modelTurn: { parts: [part] } } });
        if (text !== "") this.send({ serverContent: { outputTranscription: { text: (from > 0 ? " " : "") + text } } });
      }
      i++;
      this.burstTimer = setTimeout(step, last ? 0 : o.burstIntervalMs);
    };
    step();
  }

  private stopAnswer(): void {
    clearTimeout(this.burstTimer);
    clearTimeout(this.turnTimer);
    this.burstTimer = this.turnTimer = undefined;
    this.generating = false;
    this.playbackEndsAt = 0;
  }

  private issueHandle(): void {
    const h = this.server.issueHandle(this.conversationId);
    this.handlesIssued.push(h);
    this.send({ sessionResumptionUpdate: { newHandle: h, resumable: true } });
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (this.closed === undefined) fn();
    }, ms);
    this.timers.add(t);
  }

  markClosed(code: number, reason: string, by: "server" | "client"): void {
    if (this.closed !== undefined) return;
    this.closed = { code, reason, by };
    this.stopAnswer();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.server.log?.debug({ standin: this.id, code, reason, by }, "standin: socket closed");
    this.closedResolve({ code, reason });
  }
}

type SetupRule = (gen: Json, setup: Json) => boolean;

const needsThinkingLevel: SetupRule = (gen) => typeof (gen.thinkingConfig as Json | undefined)?.thinkingLevel === "string";
// No thinkingConfig, affective dialog removed, proactive audio always on (false is an error).
const current38: SetupRule = (gen, setup) =>
  !("thinkingConfig" in gen) && !("enableAffectiveDialog" in gen) && (setup.proactivity as Json | undefined)?.proactiveAudio !== false;
const preview31: SetupRule = (gen, setup) => !("proactivity" in setup) && !("enableAffectiveDialog" in gen);
const acceptAll: SetupRule = () => true;

/**
 * Per-model refusals the real service makes (docs/gemini-live.md, models table), first match wins. Written out here
 * rather than taken from src/gemini/setup.ts, so a wrong setup builder fails the tests instead of agreeing with itself.
 */
const SETUP_RULES: ReadonlyArray<[RegExp, SetupRule]> = [
  [/^gemini-3\.8-.*extended-thinking/, needsThinkingLevel],
  [/^gemini-3\.8-/, current38],
  [/^gemini-3\.1-/, preview31],
  [/^gemini-(live-)?2\.5-/, acceptAll],
];

function validSetupFor(setup: Json, model: string): boolean {
  const id = model.replace(/^models\//, "");
  const rule = SETUP_RULES.find(([re]) => re.test(id))?.[1] ?? current38; // unknown ids: the GA default's rules
  return rule((setup.generationConfig ?? {}) as Json, setup);
}

export class StandinServer {
  readonly opts: StandinOptions;
  /** Every socket ever accepted, in order. */
  readonly sessions: StandinSession[] = [];
  private server: Server<SocketData> | undefined;
  private convSeq = 0;
  private handleSeq = 0;
  private readonly handles = new Map<string, Conversation>();
  private readonly conversations = new Map<number, Conversation>();

  constructor(opts: Partial<StandinOptions> = {}) {
    this.opts = { ...DEFAULT_STANDIN_OPTIONS, ...opts };
  }

  get log(): Logger | undefined {
    return this.opts.log;
  }

  /** ws URL of the BidiGenerateContent endpoint (no key in it). */
  get url(): string {
    if (this.server === undefined) throw new Error("stand-in not started");
    return `ws://${this.opts.hostname}:${this.server.port}/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent`;
  }

  async start(): Promise<string> {
    if (this.server !== undefined) return this.url;
    const self = this;
    this.server = Bun.serve({
      hostname: this.opts.hostname,
      port: this.opts.port,
      fetch(req, server) {
        const u = new URL(req.url);
        const header = req.headers.get("x-goog-api-key");
        const want = self.opts.apiKey;
        if (want !== undefined && header !== want && u.searchParams.get("key") !== want) {
          return new Response("API key not valid. Please pass a valid API key.", { status: 403 });
        }
        const session = new StandinSession(self, self.sessions.length + 1, u.pathname + u.search, header);
        if (server.upgrade(req, { data: { session } })) return undefined;
        return new Response("expected a websocket upgrade", { status: 426 });
      },
      websocket: {
        data: {} as SocketData,
        perMessageDeflate: false,
        maxPayloadLength: 16 * 1024 * 1024,
        open(ws) {
          const s = ws.data.session;
          s.ws = ws;
          self.sessions.push(s);
          self.opts.onSession?.(s);
        },
        message(ws, msg) {
          ws.data.session.onFrame(msg);
        },
        close(ws, code, reason) {
          const s = ws.data.session;
          s.markClosed(code, reason, "client");
          for (const c of self.conversations.values()) c.sockets.delete(s);
        },
      },
    });
    return this.url;
  }

  async stop(): Promise<void> {
    for (const s of this.sessions) if (s.closed === undefined) s.close(1001, "stand-in stopping");
    this.server?.stop(true);
    this.server = undefined;
  }

  /** Sockets not closed yet. */
  live(): StandinSession[] {
    return this.sessions.filter((s) => s.closed === undefined);
  }

  /** Makes every issued handle unknown (next resume → 1008 session not found). */
  forgetHandles(): void {
    this.handles.clear();
  }

  private readonly tones = new Map<string, Uint8Array>();
  private readonly encoded = new WeakMap<Uint8Array, Uint8Array[]>();

  /** The answer tone, made once per length and pitch. */
  toneFor(ms: number, hz: number): Uint8Array {
    const key = `${ms}:${hz}`;
    let t = this.tones.get(key);
    if (t === undefined) {
      t = tone(ms, hz);
      this.tones.set(key, t);
    }
    return t;
  }

  /** The modelTurn message of each burst of `pcm`, serialized and UTF-8 encoded once per pcm. */
  encodedBursts(pcm: Uint8Array, bursts: Uint8Array[]): Uint8Array[] {
    let e = this.encoded.get(pcm);
    if (e === undefined) {
      e = bursts.map((b) => {
        const data = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64");
        return Buffer.from(JSON.stringify({ serverContent: { modelTurn: { parts: [{ inlineData: { mimeType: "audio/pcm;rate=24000", data } }] } } }, null, 2));
      });
      this.encoded.set(pcm, e);
    }
    return e;
  }

  newConversation(): Conversation {
    const c: Conversation = { id: ++this.convSeq, sockets: new Set() };
    this.conversations.set(c.id, c);
    return c;
  }

  conversationFor(handle: string): Conversation | undefined {
    return this.handles.get(handle);
  }

  issueHandle(conversationId: number): string {
    const h = `standin-handle-${conversationId}-${++this.handleSeq}`;
    const c = this.conversations.get(conversationId);
    if (c !== undefined) this.handles.set(h, c);
    return h;
  }
}
