// One Gemini Live session per phone call, spanning as many sockets as the call needs:
// initial connect, goAway rotations with resumption handles, reconnects after unexpected closes.
// Invariant for caller audio: every chunk is either written to the active socket or queued for the next one
// (bounded, oldest dropped and counted); it is never written to a socket that is being replaced. Tool results and
// system texts that find no writable socket wait for the next one too, so a goAway rotation loses none of them.
// Decoding what the server says is decode.ts's job; the counters live in stats.ts.
import type { ModelLeg, ModelLegEvents } from "../call/model-leg.ts";
import type { RotationOrder } from "../config.ts";
import type { Logger } from "../log.ts";
import { AudioQueue, DEFAULT_QUEUE_BYTES } from "./audio-queue.ts";
import {
  CLOSE_ABNORMAL,
  CLOSE_BAD_GATEWAY,
  CLOSE_GOING_AWAY,
  CLOSE_INTERNAL_ERROR,
  CLOSE_INVALID_PAYLOAD,
  CLOSE_NORMAL,
  CLOSE_POLICY_VIOLATION,
  CLOSE_SERVICE_RESTART,
  CLOSE_TRY_AGAIN_LATER,
  LiveConnection,
  LOCAL_CODE_MAX,
  LOCAL_CODE_MIN,
} from "./connection.ts";
import { ServerDecoder } from "./decode.ts";
import {
  audioFrame,
  INPUT_RATE,
  OUTPUT_RATE,
  parseDurationMs,
  setupFrame,
  textFrame,
  toolResponseFrame,
  type FunctionDeclaration,
  type FunctionResponse,
  type ServerMessage,
} from "./protocol.ts";
import { buildSetup, type ModelTuning } from "./setup.ts";
import { newLiveCounters } from "./stats.ts";

export type { RotationOrder };
export type LiveState = "connecting" | "ready" | "rotating" | "closed" | "failed";

export interface LiveSessionOptions {
  url: string;
  apiKey: string;
  model: string;
  voice: string;
  prompt: string;
  /** Sent once as realtimeInput.text after the first setupComplete and attach(); "" disables it. */
  greeting: string;
  setupTimeoutMs: number;
  rotation: RotationOrder;
  maxReconnects: number;
  /** functionDeclarations for setup. */
  tools?: FunctionDeclaration[];
  log: Logger;
  connectTimeoutMs?: number;
  /** Per-model knobs (thinking level/budget, 2.5 affective dialog/proactivity): GEMINI_THINKING_LEVEL etc. */
  tuning?: ModelTuning;
  /** First reconnect is immediate, then base·2^(n-1) up to max. Defaults 250 ms / 5000 ms. */
  reconnectBaseMs?: number;
  reconnectMaxMs?: number;
  /** A socket that stays up this long resets the reconnect budget. Default 30 s. */
  stableMs?: number;
  /** Rotate no later than goAway.timeLeft minus this (capped at half of timeLeft). Default 5 s. */
  goAwayMarginMs?: number;
  /** Caller-audio queue bound while no socket is writable. Default 64000 (2 s at 16 kHz). */
  queueBytes?: number;
  /** bufferedAmount above which back-pressure is logged and counted. Default 256 KiB. */
  bufferedWarnBytes?: number;
}

type Timer = ReturnType<typeof setTimeout>;

const SESSION_NOT_FOUND = /session not found|requested entity was not found/i;
const TRANSIENT = new Set([
  CLOSE_NORMAL,
  CLOSE_GOING_AWAY,
  CLOSE_ABNORMAL,
  CLOSE_INTERNAL_ERROR,
  CLOSE_SERVICE_RESTART,
  CLOSE_TRY_AGAIN_LATER,
  CLOSE_BAD_GATEWAY,
]);

type Verdict = "transient" | "fatal" | "not-found";

/**
 * What a close we did not ask for means, once the session has been up (docs/gemini-live.md#close-codes):
 * - not-found: 1008 with "session not found" / "requested entity was not found": the resumption handle is stale;
 *   start one fresh session, without it.
 * - fatal: 1007 (invalid argument), any other 1008 (wrong model, aborted operation), and any code not listed here:
 *   the same request would be refused again.
 * - transient: a normal close we did not ask for (1000), going away (1001), a dropped network (1006), a server
 *   fault, quota or goAway deadline (1011), restart (1012), try later (1013), bad gateway (1014), and our own
 *   connect and setup timeouts (the local 49xx range): reconnect with the handle, within the budget.
 */
function classify(code: number, reason: string): Verdict {
  if (code === CLOSE_POLICY_VIOLATION && SESSION_NOT_FOUND.test(reason)) return "not-found";
  if (code === CLOSE_INVALID_PAYLOAD || code === CLOSE_POLICY_VIOLATION) return "fatal";
  if (TRANSIENT.has(code) || (code >= LOCAL_CODE_MIN && code <= LOCAL_CODE_MAX)) return "transient";
  return "fatal";
}

export class LiveSession implements ModelLeg {
  readonly inputRate = INPUT_RATE;
  /** Live's output is always 24 kHz PCM (`audio/pcm;rate=24000`, docs/gemini-live.md#audio). */
  readonly outputRate = OUTPUT_RATE;
  private _state: LiveState = "connecting";
  private readonly log: Logger;
  private readonly queue: AudioQueue;
  private readonly decoder: ServerDecoder;
  private events: ModelLegEvents | undefined;

  private active: LiveConnection | undefined; // receives caller audio
  private pending: LiveConnection | undefined; // handshake in progress
  private readonly retiring = new Set<LiveConnection>(); // replaced, still open (overlap rotation)
  private connSeq = 0;

  private handle: string | undefined;
  private handleFresh = false; // the latest sessionResumptionUpdate was resumable with a handle
  private goAwayPending = false;
  private everReady = false;
  private greetingDone = false;
  private reconnectAttempts = 0;
  private freshRetried = false;
  private failure: { reason: string; code: number } | undefined;
  private failedEmitted = false;

  private startPromise: Promise<void> | undefined;
  private startResolve: (() => void) | undefined;
  private startReject: ((e: Error) => void) | undefined;

  private goAwayTimer: Timer | undefined;
  private rotateTimer: Timer | undefined;
  private reconnectTimer: Timer | undefined;
  private stableTimer: Timer | undefined;

  /** Tool results and system texts waiting for a writable socket, in order. */
  private held: Array<{ kind: "tool" | "text"; frame: string }> = [];
  private backpressured = false;
  private readonly counters = newLiveCounters();

  constructor(private readonly opts: LiveSessionOptions) {
    this.log = opts.log;
    this.queue = new AudioQueue(opts.queueBytes ?? DEFAULT_QUEUE_BYTES);
    this.decoder = new ServerDecoder(this.log, this.counters);
  }

  get state(): LiveState {
    return this._state;
  }

  /** Opens the socket and sends setup; resolves at the first setupComplete, rejects if that fails. */
  start(): Promise<void> {
    if (this.startPromise !== undefined) return this.startPromise;
    if (this._state === "closed" || this._state === "failed") return Promise.reject(new Error(`live session ${this._state}`));
    this.startPromise = new Promise<void>((resolve, reject) => {
      this.startResolve = resolve;
      this.startReject = reject;
    });
    // Marked handled here: a pre-warmed session closed before anyone awaits start() must not raise an
    // unhandled rejection. Callers that await it still see the rejection.
    this.startPromise.catch(() => undefined);
    this.openConnection();
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
    switch (this._state) {
      case "ready":
        if (!this.write(pcm16k)) this.queue.push(pcm16k);
        break;
      case "connecting":
      case "rotating":
        this.queue.push(pcm16k);
        break;
      default:
        this.counters.droppedClosed++;
    }
  }

  sendToolResult(id: string, name: string, response: Record<string, unknown>): void {
    const r: FunctionResponse = { id, name, response };
    this.sendOrHold(toolResponseFrame([r]), "tool");
  }

  sendText(text: string): void {
    this.sendOrHold(textFrame(text), "text");
  }

  /**
   * The call saw the model go silent: move to a fresh socket with the latest resumption handle, through the same
   * path a goAway rotation takes (caller audio, tool results and texts are queued meanwhile, none lost).
   */
  resume(reason: string): boolean {
    if (this._state === "rotating") return true; // a fresh socket is already on its way
    if (this._state !== "ready" || this.active === undefined || this.handle === undefined) return false;
    this.counters.stallResumes++;
    this.log.warn({ reason, conn: this.active.id }, "live: resuming on a fresh socket");
    this.rotate();
    return true;
  }

  private sendOrHold(frame: string, kind: "tool" | "text"): void {
    if (this._state === "closed" || this._state === "failed") return;
    if (this._state === "ready" && this.held.length === 0 && this.active?.send(frame)) {
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
    while (this.held.length > 0 && this.active !== undefined) {
      const item = this.held[0]!;
      if (!this.active.send(item.frame)) return;
      this.held.shift();
      this.count(item.kind);
    }
  }

  /** Ends the session: every socket gets a Close frame (terminated if unanswered), every timer is cancelled. */
  close(): Promise<void> {
    if (this._state === "closed" || this._state === "failed") return this.closeAll("call ended");
    this._state = "closed";
    this.log.info(this.stats(), "live: session closed");
    this.startReject?.(new Error("live session closed"));
    this.clearStart();
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

  // ---------- connections ----------

  private openConnection(): LiveConnection {
    const id = ++this.connSeq;
    this.counters.connections++;
    const o = this.opts;
    const setup = buildSetup({
      model: o.model,
      voice: o.voice,
      prompt: o.prompt,
      tools: o.tools,
      handle: this.handle,
      tuning: o.tuning,
    });
    const conn = new LiveConnection(
      {
        id,
        url: o.url,
        apiKey: o.apiKey,
        setupJson: setupFrame(setup),
        connectTimeoutMs: o.connectTimeoutMs ?? 10000,
        setupTimeoutMs: o.setupTimeoutMs,
        log: this.log,
      },
      {
        setupComplete: (c) => this.onSetupComplete(c),
        message: (c, m) => this.onMessage(c, m),
        closed: (c, code, reason, byUs) => this.onClosed(c, code, reason, byUs),
      },
    );
    this.log.info({ conn: id, resume: this.handle !== undefined }, "live: opening socket");
    this.pending = conn;
    conn.open();
    return conn;
  }

  private onSetupComplete(conn: LiveConnection): void {
    if (conn !== this.pending || this._state === "closed" || this._state === "failed") {
      void conn.close(CLOSE_NORMAL, "not needed");
      return;
    }
    this.pending = undefined;
    // The new socket took over: the replaced ones may go now.
    for (const old of this.retiring) void old.close(CLOSE_NORMAL, "rotated");
    this.active = conn;
    this._state = "ready";
    const resumed = this.everReady;
    this.everReady = true;
    // Flush in order, synchronously, before any new sendAudio can run.
    for (const chunk of this.queue.drain()) {
      if (!this.write(chunk)) this.queue.push(chunk);
    }
    this.flushHeld();
    this.log.info({ conn: conn.id, resumed }, "live: ready");
    clearTimeout(this.stableTimer);
    this.stableTimer = setTimeout(() => {
      this.reconnectAttempts = 0;
      this.freshRetried = false;
    }, this.opts.stableMs ?? 30000);
    this.maybeGreet();
    const resolve = this.startResolve;
    this.clearStart();
    resolve?.();
  }

  private onClosed(conn: LiveConnection, code: number, reason: string, byUs: boolean): void {
    if (this.retiring.delete(conn) || byUs) return; // expected: we replaced or closed it
    if (this._state === "closed" || this._state === "failed") return;
    if (conn === this.pending) {
      this.pending = undefined;
      this.handshakeFailed(code, reason);
    } else if (conn === this.active) {
      this.active = undefined;
      this.activeLost(code, reason);
    }
  }

  private handshakeFailed(code: number, reason: string): void {
    this.log.warn({ code, reason }, "live: socket failed before setupComplete");
    if (!this.everReady) {
      this.fail(`setup failed: ${code} ${reason}`.trim(), code);
      return;
    }
    const verdict = classify(code, reason);
    if (verdict === "fatal") return this.fail(`resume failed: ${code} ${reason}`.trim(), code);
    if (verdict === "not-found") return this.startFresh(code, reason);
    if (code === CLOSE_INTERNAL_ERROR && this.retiring.size > 0) {
      // Field report (docs/gemini-live.md#goaway-and-resumption): a resume is refused with 1011 while the older socket is open.
      this.counters.overlapFallbacks++;
      this.log.warn("live: overlapping resume refused, retrying close-first");
      void this.closeRetiringThenOpen();
      return;
    }
    this.scheduleReconnect(code, reason);
  }

  private activeLost(code: number, reason: string): void {
    this._state = "rotating";
    this.clearRotationTimers();
    clearTimeout(this.stableTimer);
    const verdict = classify(code, reason);
    this.log.warn({ code, reason, verdict }, "live: socket closed unexpectedly");
    if (verdict === "fatal") return this.fail(`${code} ${reason}`.trim(), code);
    if (verdict === "not-found") return this.startFresh(code, reason);
    this.scheduleReconnect(code, reason);
  }

  private startFresh(code: number, reason: string): void {
    if (this.freshRetried) return this.fail(`session not found: ${code} ${reason}`.trim(), code);
    this.freshRetried = true;
    this.counters.freshSessions++;
    this.handle = undefined;
    this.handleFresh = false;
    this._state = "rotating";
    this.log.warn("live: session not found, starting a fresh session");
    void this.closeRetiringThenOpen();
  }

  private scheduleReconnect(code: number, reason: string): void {
    if (this.reconnectAttempts >= this.opts.maxReconnects) {
      this.fail(`gave up after ${this.reconnectAttempts} reconnects; last close ${code} ${reason}`.trim(), code);
      return;
    }
    const n = this.reconnectAttempts++;
    this.counters.reconnects++;
    const base = this.opts.reconnectBaseMs ?? 250;
    const delay = n === 0 ? 0 : Math.min(base * 2 ** (n - 1), this.opts.reconnectMaxMs ?? 5000);
    this._state = "rotating";
    this.log.info({ attempt: n + 1, delayMs: delay, resume: this.handle !== undefined }, "live: reconnecting");
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      if (this._state !== "rotating") return;
      if (this.opts.rotation === "close-first") void this.closeRetiringThenOpen();
      else this.openConnection();
    }, delay);
  }

  private async closeRetiringThenOpen(): Promise<void> {
    await Promise.all([...this.retiring].map((c) => c.close(CLOSE_NORMAL, "rotating")));
    if (this._state !== "rotating" || this.pending !== undefined) return;
    this.openConnection();
  }

  /** goAway-driven switch to a new socket. Runs from a timer, never inside the receive path. */
  private rotate(): void {
    this.clearRotationTimers();
    const old = this.active;
    if (this._state !== "ready" || old === undefined) return;
    this.counters.rotations++;
    this._state = "rotating";
    this.active = undefined; // from here on caller audio is queued for the new socket
    this.retiring.add(old);
    this.log.info({ conn: old.id, order: this.opts.rotation, resume: this.handle !== undefined }, "live: rotating");
    if (this.opts.rotation === "close-first") void this.closeRetiringThenOpen();
    else this.openConnection();
  }

  private clearRotationTimers(): void {
    this.goAwayPending = false;
    clearTimeout(this.goAwayTimer);
    clearTimeout(this.rotateTimer);
    this.goAwayTimer = this.rotateTimer = undefined;
  }

  private rotateSoon(): void {
    if (this.rotateTimer !== undefined) return;
    this.rotateTimer = setTimeout(() => {
      this.rotateTimer = undefined;
      this.rotate();
    }, 0);
  }

  private fail(reason: string, code: number): void {
    if (this._state === "closed" || this._state === "failed") return;
    this._state = "failed";
    this.failure = { reason, code };
    this.log.error({ code, reason, ...this.stats() }, "live: session failed");
    this.startReject?.(Object.assign(new Error(reason), { code }));
    this.clearStart();
    void this.closeAll("session failed");
    this.emitFailed();
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
    this.clearRotationTimers();
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.stableTimer);
    this.queue.clear();
    this.held = [];
    const conns = [this.active, this.pending, ...this.retiring].filter((c): c is LiveConnection => c !== undefined);
    this.active = this.pending = undefined;
    this.retiring.clear();
    return Promise.all(conns.map((c) => c.close(CLOSE_NORMAL, reason))).then(() => undefined);
  }

  // ---------- uplink ----------

  private write(chunk: Uint8Array): boolean {
    const conn = this.active;
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
    if (this._state !== "ready" || this.active === undefined) return;
    if (this.active.send(textFrame(this.opts.greeting))) {
      this.greetingDone = true;
      this.counters.greetings++;
    }
  }

  // ---------- downlink ----------

  private onMessage(conn: LiveConnection, msg: ServerMessage): void {
    if (!conn.isOpen) return; // being closed by us: nothing it says matters any more
    const current = conn === this.active || conn === this.pending;
    this.decoder.handle(msg);
    if (msg.sessionResumptionUpdate !== undefined && current) {
      const u = msg.sessionResumptionUpdate;
      if (u.resumable === true && u.newHandle) {
        this.handle = u.newHandle;
        this.handleFresh = true;
        if (this.goAwayPending && conn === this.active) this.rotateSoon();
      } else if (u.resumable === false) {
        this.handleFresh = false;
      }
    }
    if (msg.goAway !== undefined && conn === this.active) this.onGoAway(msg.goAway.timeLeft);
  }

  private onGoAway(timeLeft: string | undefined): void {
    this.counters.goAways++;
    const left = parseDurationMs(timeLeft) ?? 10000;
    const margin = Math.min(this.opts.goAwayMarginMs ?? 5000, left / 2);
    this.log.info({ timeLeft, hasHandle: this.handle !== undefined, idle: this.handleFresh }, "live: goAway");
    this.goAwayPending = true;
    clearTimeout(this.goAwayTimer);
    // The deadline: rotate no later than timeLeft - margin, whatever the model is doing.
    this.goAwayTimer = setTimeout(() => this.rotate(), Math.max(0, left - margin));
    // Idle with a fresh handle: nothing to lose by switching now.
    if (this.handleFresh && this.handle !== undefined) this.rotateSoon();
  }
}
