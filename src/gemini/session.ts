// One Gemini Live session per phone call, as the call sees it (ModelLeg), spanning as many sockets as the call
// needs. Which socket is current and when to move to another (goAway, a stall resume, a reconnect after a failure)
// is the rotator's business (rotator.ts); this file owns what goes out and hands what comes in to the decoder.
// Invariant for caller audio: every chunk is either written to the active socket or queued for the next one
// (bounded, oldest dropped and counted); it is never written to a socket that is being replaced (the rotator
// withdraws `active` first). Tool results and system texts that find no writable socket wait for the next one
// too, so a rotation or reconnect loses none of them.
// Decoding what the server says is decode.ts's job; the counters live in stats.ts.
import type { TurnTaking } from "../call/agent.ts";
import type { ModelLeg, ModelLegEvents } from "../call/model-leg.ts";
import type { Logger } from "../log.ts";
import { AudioQueue, DEFAULT_QUEUE_BYTES } from "./audio-queue.ts";
import { LiveConnection, type ConnectionEvents } from "./connection.ts";
import { ServerDecoder } from "./decode.ts";
import {
  audioFrame,
  INPUT_RATE,
  OUTPUT_RATE,
  setupFrame,
  textFrame,
  toolResponseFrame,
  type FunctionDeclaration,
  type FunctionResponse,
  type Scheduling,
  type ServerMessage,
} from "./protocol.ts";
import { Rotator, type LiveState, type RotationSettings } from "./rotator.ts";
import { buildSetup, type ModelTuning } from "./setup.ts";
import { newLiveCounters } from "./stats.ts";

export type { LiveState };

export interface LiveSessionOptions extends RotationSettings {
  url: string;
  apiKey: string;
  model: string;
  voice: string;
  prompt: string;
  /** Sent once as realtimeInput.text after the first setupComplete and attach(); "" disables it. */
  greeting: string;
  setupTimeoutMs: number;
  /** functionDeclarations for setup. */
  tools?: FunctionDeclaration[];
  /** `scheduling` of each NON_BLOCKING tool's results, by tool name (docs/gemini-live.md#async-tools). */
  scheduling?: ReadonlyMap<string, Scheduling>;
  /** The googleSearch tool (search grounding). */
  search?: boolean;
  turnTaking?: TurnTaking | undefined;
  /** BCP-47: the language to speak, then others callers mix in. */
  languages?: readonly string[] | undefined;
  temperature?: number | undefined;
  log: Logger;
  connectTimeoutMs?: number;
  /** Per-model knobs (thinking level/budget, 2.5 affective dialog/proactivity): GEMINI_THINKING_LEVEL etc. */
  tuning?: ModelTuning;
  /** Caller-audio queue bound while no socket is writable. Default 64000 (2 s at 16 kHz). */
  queueBytes?: number;
  /** bufferedAmount above which back-pressure is logged and counted. Default 256 KiB. */
  bufferedWarnBytes?: number;
}

export class LiveSession implements ModelLeg {
  readonly inputRate = INPUT_RATE;
  /** Live's output is always 24 kHz PCM (`audio/pcm;rate=24000`, docs/gemini-live.md#audio). */
  readonly outputRate = OUTPUT_RATE;
  private readonly log: Logger;
  private readonly queue: AudioQueue;
  private readonly decoder: ServerDecoder;
  private readonly rot: Rotator<LiveConnection>;
  /** One set of socket callbacks for every socket of the session (each callback is told which socket). */
  private readonly connEvents: ConnectionEvents;
  private events: ModelLegEvents | undefined;

  private greetingDone = false;
  private failure: { reason: string; code: number } | undefined;
  private failedEmitted = false;

  private startPromise: Promise<void> | undefined;
  private startResolve: (() => void) | undefined;
  private startReject: ((e: Error) => void) | undefined;

  /** Tool results and system texts waiting for a writable socket, in order. */
  private held: Array<{ kind: "tool" | "text"; frame: string }> = [];
  private backpressured = false;
  private readonly counters = newLiveCounters();

  constructor(private readonly opts: LiveSessionOptions) {
    this.log = opts.log;
    this.queue = new AudioQueue(opts.queueBytes ?? DEFAULT_QUEUE_BYTES);
    this.decoder = new ServerDecoder(this.log, this.counters);
    const { rotation, maxReconnects, reconnectBaseMs, reconnectMaxMs, stableMs, goAwayMarginMs } = opts;
    this.rot = new Rotator<LiveConnection>(
      { rotation, maxReconnects, reconnectBaseMs, reconnectMaxMs, stableMs, goAwayMarginMs, log: this.log, counters: this.counters },
      {
        dial: (id, handle) => this.dial(id, handle),
        ready: (conn, resumed) => this.onReady(conn, resumed),
        failed: (reason, code) => this.onFailed(reason, code),
      },
    );
    this.connEvents = {
      setupComplete: (c) => this.rot.setupComplete(c),
      message: (c, m) => this.onMessage(c, m),
      closed: (c, code, reason, byUs) => this.rot.closed(c, code, reason, byUs),
    };
  }

  get state(): LiveState {
    return this.rot.state;
  }

  /** Opens the socket and sends setup; resolves at the first setupComplete, rejects if that fails. */
  start(): Promise<void> {
    if (this.startPromise !== undefined) return this.startPromise;
    if (this.rot.over) return Promise.reject(new Error(`live session ${this.rot.state}`));
    this.startPromise = new Promise<void>((resolve, reject) => {
      this.startResolve = resolve;
      this.startReject = reject;
    });
    // Marked handled here: a pre-warmed session closed before anyone awaits start() must not raise an
    // unhandled rejection. Callers that await it still see the rejection.
    this.startPromise.catch(() => undefined);
    this.rot.start();
    return this.startPromise;
  }

  attach(events: ModelLegEvents): void {
    this.events = events;
    this.decoder.events = events;
    if (this.failure !== undefined) this.emitFailed();
    this.maybeGreet();
  }

  /** 16 kHz S16LE, whole samples (the telephony socket keeps the stream sample-aligned). */
  sendAudio(pcm16k: Uint8Array): void {
    this.counters.callerChunks++;
    if (pcm16k.byteLength === 0) return;
    switch (this.rot.state) {
      case "ready":
        if (!this.write(pcm16k)) this.queue.push(pcm16k);
        break;
      case "connecting":
      case "rotating":
      case "reconnecting":
        this.queue.push(pcm16k);
        break;
      default:
        this.counters.droppedClosed++;
    }
  }

  sendToolResult(id: string, name: string, response: Record<string, unknown>): void {
    const r: FunctionResponse = { id, name, response };
    const scheduling = this.opts.scheduling?.get(name);
    if (scheduling !== undefined) r.scheduling = scheduling;
    this.sendOrHold(toolResponseFrame([r]), "tool");
  }

  sendText(text: string): void {
    this.sendOrHold(textFrame(text), "text");
  }

  /**
   * The call saw the model go silent: move to a fresh socket with the latest resumption handle, through the same
   * path a goAway rotation takes (caller audio, tool results and texts are queued meanwhile, none lost). True while
   * rotating or reconnecting too: a fresh socket is already on its way.
   */
  resume(reason: string): boolean {
    return this.rot.resume(reason);
  }

  /** Ends the session: every socket gets a Close frame (terminated if unanswered), every timer is cancelled. */
  close(): Promise<void> {
    if (this.rot.end()) {
      this.log.info(this.stats(), "live: session closed");
      this.startReject?.(new Error("live session closed"));
      this.clearStart();
    }
    return this.closeAll("call ended");
  }

  stats(): Record<string, number> {
    return {
      ...this.counters,
      queueDroppedChunks: this.queue.droppedChunks,
      queueDroppedBytes: this.queue.droppedBytes,
      queueBytes: this.queue.byteLength,
    };
  }

  // ---------- the rotator's host ----------

  private dial(id: number, handle: string | undefined): LiveConnection {
    const o = this.opts;
    const setup = buildSetup({
      model: o.model,
      voice: o.voice,
      prompt: o.prompt,
      tools: o.tools,
      search: o.search,
      handle,
      tuning: o.tuning,
      turnTaking: o.turnTaking,
      languages: o.languages,
      temperature: o.temperature,
    });
    return new LiveConnection(
      {
        id,
        url: o.url,
        apiKey: o.apiKey,
        setupJson: setupFrame(setup),
        connectTimeoutMs: o.connectTimeoutMs ?? 10000,
        setupTimeoutMs: o.setupTimeoutMs,
        log: this.log,
      },
      this.connEvents,
    );
  }

  /** A socket completed setup and took over (the rotator closed the ones it replaces and armed the stable timer). */
  private onReady(conn: LiveConnection, resumed: boolean): void {
    this.flushQueuedAudio();
    this.flushHeld();
    this.log.info({ conn: conn.id, resumed }, "live: ready");
    this.maybeGreet();
    this.resolveStart();
  }

  private onFailed(reason: string, code: number): void {
    this.failure = { reason, code };
    this.log.error({ code, reason, ...this.stats() }, "live: session failed");
    this.startReject?.(Object.assign(new Error(reason), { code }));
    this.clearStart();
    void this.closeAll("session failed");
    this.emitFailed();
  }

  // ---------- uplink ----------

  /** Caller audio that waited for a socket, in order, synchronously: no new sendAudio can run in between. */
  private flushQueuedAudio(): void {
    for (const chunk of this.queue.drain()) {
      if (!this.write(chunk)) this.queue.push(chunk);
    }
  }

  private sendOrHold(frame: string, kind: "tool" | "text"): void {
    if (this.rot.over) return;
    if (this.rot.state === "ready" && this.held.length === 0 && this.rot.active?.send(frame)) {
      this.count(kind);
      return;
    }
    if (kind === "tool") this.counters.toolResponsesDeferred++;
    this.held.push({ kind, frame });
  }

  private count(kind: "tool" | "text"): void {
    if (kind === "tool") this.counters.toolResponses++;
    else this.counters.textsSent++;
  }

  /** Sends what waited for a socket, oldest first; stops at the first refusal so order is kept. */
  private flushHeld(): void {
    const conn = this.rot.active;
    while (this.held.length > 0 && conn !== undefined) {
      const item = this.held[0]!;
      if (!conn.send(item.frame)) return;
      this.held.shift();
      this.count(item.kind);
    }
  }

  private write(chunk: Uint8Array): boolean {
    const conn = this.rot.active;
    if (conn === undefined || !conn.send(audioFrame(chunk))) return false;
    const sent = ++this.counters.framesSent;
    this.counters.bytesSent += chunk.byteLength;
    // bufferedAmount is a call into the runtime; every 16th frame (~⅓ s of audio) is often enough to see a
    // socket buffer growing towards the warning level.
    if ((sent & 15) !== 0) return true;
    const buffered = conn.bufferedAmount;
    if (buffered > this.counters.bufferedHighWater) this.counters.bufferedHighWater = buffered;
    const warn = this.opts.bufferedWarnBytes ?? 256 * 1024;
    if (!this.backpressured && buffered > warn) {
      this.backpressured = true;
      this.counters.backpressureEvents++;
      this.log.warn({ bufferedAmount: buffered }, "live: uplink back-pressure (socket buffer growing)");
    } else if (this.backpressured && buffered < warn / 2) {
      this.backpressured = false;
      this.log.info({ bufferedAmount: buffered }, "live: uplink back-pressure cleared");
    }
    return true;
  }

  private maybeGreet(): void {
    if (this.greetingDone || this.events === undefined || this.opts.greeting === "") return;
    const conn = this.rot.active;
    if (this.rot.state !== "ready" || conn === undefined) return;
    if (conn.send(textFrame(this.opts.greeting))) {
      this.greetingDone = true;
      this.counters.greetings++;
    }
  }

  // ---------- downlink ----------

  private onMessage(conn: LiveConnection, msg: ServerMessage): void {
    if (!conn.isOpen) return; // being closed by us: nothing it says matters any more
    this.decoder.handle(msg);
    if (msg.sessionResumptionUpdate !== undefined || msg.goAway !== undefined) this.rot.control(conn, msg);
  }

  // ---------- endings ----------

  private resolveStart(): void {
    const resolve = this.startResolve;
    this.clearStart();
    resolve?.();
  }

  private emitFailed(): void {
    if (this.failedEmitted || this.events === undefined || this.failure === undefined) return;
    this.failedEmitted = true;
    const f = this.failure;
    this.decoder.safe(() => this.events?.failed(f.reason, f.code));
  }

  private clearStart(): void {
    this.startResolve = this.startReject = undefined;
  }

  private closeAll(reason: string): Promise<void> {
    this.queue.clear();
    this.held = [];
    return this.rot.closeAll(reason);
  }
}
