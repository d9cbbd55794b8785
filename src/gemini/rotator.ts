// The connection rotator: keeps one Live session on a socket for as long as the call lasts, across as many
// sockets as that takes. It decides which socket is which (active: takes caller audio; pending: handshake in
// progress; retiring: replaced, still open during an overlap rotation), keeps the resumption handle, acts on goAway
// (a deadline timer, sooner when idle with a fresh handle), spends the reconnect budget with backoff, orders a
// switch overlap or close-first, and starts one fresh session after "session not found".
// It sends no message (only Close frames): the session (session.ts) writes to `active`, and hears through
// RotatorHost when a socket has taken over and when the rotator has given up. `active` is withdrawn before its
// socket is replaced, so the session's writes never reach a socket on its way out.
//
// States (LiveState):
//   connecting   → ready (first setupComplete) | failed (the first handshake failed: nothing to resume)
//   ready        → rotating (goAway deadline, goAway while idle with a fresh handle, resume())
//                | reconnecting (the active socket closed unexpectedly: transient, or session not found)
//                | failed (a fatal close)
//   rotating     → ready (the new socket's setupComplete) | rotating (overlap refused: retry close-first)
//                | reconnecting (the new socket failed) | failed
//   reconnecting → ready | reconnecting (another failure within the budget) | failed (fatal, budget spent,
//                  a second session not found)
//   any          → closed (end()); closed and failed are final.
import type { RotationOrder } from "../config.ts";
import type { Logger } from "../log.ts";
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
  LOCAL_CODE_MAX,
  LOCAL_CODE_MIN,
} from "./connection.ts";
import { parseDurationMs, type ServerMessage } from "./protocol.ts";
import type { LiveCounters } from "./stats.ts";

export type LiveState = "connecting" | "ready" | "rotating" | "reconnecting" | "closed" | "failed";

/** What the rotator needs of a socket (LiveConnection is the real one). */
export interface RotatorSocket {
  readonly id: number;
  open(): void;
  /** Resolves when the socket has ended. */
  close(code: number, reason: string): Promise<void>;
}

/** What the rotator tells its owner. */
export interface RotatorHost<C> {
  /** A new, unopened socket numbered `id`, whose setup resumes `handle` when there is one. */
  dial(id: number, handle: string | undefined): C;
  /** `conn` completed setup and took over: it is `active` and the state is ready. `resumed`: not the first one. */
  ready(conn: C, resumed: boolean): void;
  /** The rotator gave up: the state is failed, no socket will come. Called once. */
  failed(reason: string, code: number): void;
}

/** The timers the rotator arms; tests pass a fake clock (test/audio/fake-clock.ts fits). */
export interface RotatorTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: RotatorTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export interface RotationSettings {
  rotation: RotationOrder;
  maxReconnects: number;
  /** First reconnect is immediate, then base·2^(n-1) up to max. Defaults 250 ms / 5000 ms. */
  reconnectBaseMs?: number;
  reconnectMaxMs?: number;
  /** A socket that stays up this long resets the reconnect budget. Default 30 s. */
  stableMs?: number;
  /** Rotate no later than goAway.timeLeft minus this (capped at half of timeLeft). Default 5 s. */
  goAwayMarginMs?: number;
}

export interface RotatorOptions extends RotationSettings {
  log: Logger;
  /** The session's counters: the rotator bumps connections, rotations, reconnects, goAways and the like. */
  counters: LiveCounters;
  timers?: RotatorTimers;
}

/** A goAway whose timeLeft cannot be read is taken to mean this much. */
const DEFAULT_TIME_LEFT_MS = 10000;
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

export type Verdict = "transient" | "fatal" | "not-found";

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
export function classify(code: number, reason: string): Verdict {
  if (code === CLOSE_POLICY_VIOLATION && SESSION_NOT_FOUND.test(reason)) return "not-found";
  if (code === CLOSE_INVALID_PAYLOAD || code === CLOSE_POLICY_VIOLATION) return "fatal";
  if (TRANSIENT.has(code) || (code >= LOCAL_CODE_MIN && code <= LOCAL_CODE_MAX)) return "transient";
  return "fatal";
}

export class Rotator<C extends RotatorSocket> {
  private _state: LiveState = "connecting";
  private _active: C | undefined;
  private pending: C | undefined;
  private readonly retiring = new Set<C>();
  private connSeq = 0;

  private handle: string | undefined;
  private handleFresh = false; // the latest sessionResumptionUpdate was resumable with a handle
  private goAwayPending = false;
  private everReady = false;
  private reconnectAttempts = 0;
  private freshRetried = false;

  private goAwayTimer: unknown;
  private rotateTimer: unknown;
  private reconnectTimer: unknown;
  private stableTimer: unknown;

  private readonly log: Logger;
  private readonly counters: LiveCounters;
  private readonly timers: RotatorTimers;

  constructor(
    private readonly opts: RotatorOptions,
    private readonly host: RotatorHost<C>,
  ) {
    this.log = opts.log;
    this.counters = opts.counters;
    this.timers = opts.timers ?? realTimers;
  }

  get state(): LiveState {
    return this._state;
  }

  /** The socket caller audio goes to; set only while ready. */
  get active(): C | undefined {
    return this._active;
  }

  /** Closed or failed: nothing more will happen. */
  get over(): boolean {
    return this._state === "closed" || this._state === "failed";
  }

  /** Opens the first socket (once). */
  start(): void {
    if (this.connSeq === 0 && !this.over) this.open();
  }

  /**
   * Moves to a fresh socket with the latest handle, the way a goAway rotation does. True when a fresh socket is
   * on its way: started now, or already (rotating, or reconnecting after a failure, where the budget decides and
   * `failed` follows if it runs out). False when there is nothing to resume with: no handle yet, or final.
   */
  resume(reason: string): boolean {
    if (this._state === "rotating" || this._state === "reconnecting") return true;
    if (this._state !== "ready" || this._active === undefined || this.handle === undefined) return false;
    this.counters.stallResumes++;
    this.log.warn({ reason, conn: this._active.id }, "live: resuming on a fresh socket");
    this.rotate();
    return true;
  }

  /** The session was closed: the state becomes closed. False if it already was closed or failed. */
  end(): boolean {
    if (this.over) return false;
    this._state = "closed";
    return true;
  }

  /** Cancels every timer and closes every socket (terminated if unanswered); resolves when all have ended. */
  closeAll(reason: string): Promise<void> {
    this.clearRotationTimers();
    this.timers.clearTimeout(this.reconnectTimer);
    this.timers.clearTimeout(this.stableTimer);
    const conns = [this._active, this.pending, ...this.retiring].filter((c): c is C => c !== undefined);
    this._active = this.pending = undefined;
    this.retiring.clear();
    return Promise.all(conns.map((c) => c.close(CLOSE_NORMAL, reason))).then(() => undefined);
  }

  // ---------- what the sockets report ----------

  setupComplete(conn: C): void {
    if (conn !== this.pending || this.over) {
      void conn.close(CLOSE_NORMAL, "not needed");
      return;
    }
    this.pending = undefined;
    const resumed = this.takeOver(conn);
    this.armStableTimer();
    this.host.ready(conn, resumed);
  }

  closed(conn: C, code: number, reason: string, byUs: boolean): void {
    if (this.retiring.delete(conn) || byUs) return; // expected: we replaced or closed it
    if (this.over) return;
    if (conn === this.pending) {
      this.pending = undefined;
      this.handshakeFailed(code, reason);
    } else if (conn === this._active) {
      this._active = undefined;
      this.activeLost(code, reason);
    }
  }

  /** The connection matters in a server message: resumption updates and goAway (the session decodes the rest). */
  control(conn: C, msg: ServerMessage): void {
    const u = msg.sessionResumptionUpdate;
    if (u !== undefined && (conn === this._active || conn === this.pending)) {
      if (u.resumable === true && u.newHandle) {
        this.handle = u.newHandle;
        this.handleFresh = true;
        if (this.goAwayPending && conn === this._active) this.rotateSoon();
      } else if (u.resumable === false) {
        this.handleFresh = false;
      }
    }
    if (msg.goAway !== undefined && conn === this._active) this.goAway(msg.goAway.timeLeft);
  }

  // ---------- taking over ----------

  /** The new socket replaces the retiring ones (they may go now) and becomes active. True if it resumed one. */
  private takeOver(conn: C): boolean {
    for (const old of this.retiring) void old.close(CLOSE_NORMAL, "rotated");
    this._active = conn;
    this._state = "ready";
    const resumed = this.everReady;
    this.everReady = true;
    return resumed;
  }

  /** A socket that stays up for stableMs earns back the whole reconnect budget and the fresh-session retry. */
  private armStableTimer(): void {
    this.timers.clearTimeout(this.stableTimer);
    this.stableTimer = this.timers.setTimeout(() => {
      this.reconnectAttempts = 0;
      this.freshRetried = false;
    }, this.opts.stableMs ?? 30000);
  }

  // ---------- failures ----------

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
    this._state = "reconnecting";
    this.clearRotationTimers();
    this.timers.clearTimeout(this.stableTimer);
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
    this._state = "reconnecting";
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
    this._state = "reconnecting";
    this.log.info({ attempt: n + 1, delayMs: delay, resume: this.handle !== undefined }, "live: reconnecting");
    this.timers.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = this.timers.setTimeout(() => {
      if (this._state !== "reconnecting") return;
      if (this.opts.rotation === "close-first") void this.closeRetiringThenOpen();
      else this.open();
    }, delay);
  }

  private fail(reason: string, code: number): void {
    if (this.over) return;
    this._state = "failed";
    this.host.failed(reason, code);
  }

  // ---------- switching sockets ----------

  private open(): void {
    const id = ++this.connSeq;
    this.counters.connections++;
    const conn = this.host.dial(id, this.handle);
    this.log.info({ conn: id, resume: this.handle !== undefined }, "live: opening socket");
    this.pending = conn;
    conn.open();
  }

  private async closeRetiringThenOpen(): Promise<void> {
    await Promise.all([...this.retiring].map((c) => c.close(CLOSE_NORMAL, "rotating")));
    if ((this._state !== "rotating" && this._state !== "reconnecting") || this.pending !== undefined) return;
    this.open();
  }

  /** The planned switch to a new socket (goAway, resume()). Runs from a timer, never inside the receive path. */
  private rotate(): void {
    this.clearRotationTimers();
    const old = this._active;
    if (this._state !== "ready" || old === undefined) return;
    this.counters.rotations++;
    this._state = "rotating";
    this._active = undefined; // from here on caller audio is queued for the new socket
    this.retiring.add(old);
    this.log.info({ conn: old.id, order: this.opts.rotation, resume: this.handle !== undefined }, "live: rotating");
    if (this.opts.rotation === "close-first") void this.closeRetiringThenOpen();
    else this.open();
  }

  private goAway(timeLeft: string | undefined): void {
    this.counters.goAways++;
    const left = parseDurationMs(timeLeft) ?? DEFAULT_TIME_LEFT_MS;
    const margin = Math.min(this.opts.goAwayMarginMs ?? 5000, left / 2);
    this.log.info({ timeLeft, hasHandle: this.handle !== undefined, idle: this.handleFresh }, "live: goAway");
    this.goAwayPending = true;
    this.timers.clearTimeout(this.goAwayTimer);
    // The deadline: rotate no later than timeLeft - margin, whatever the model is doing.
    this.goAwayTimer = this.timers.setTimeout(() => this.rotate(), Math.max(0, left - margin));
    // Idle with a fresh handle: nothing to lose by switching now.
    if (this.handleFresh && this.handle !== undefined) this.rotateSoon();
  }

  private rotateSoon(): void {
    if (this.rotateTimer !== undefined) return;
    this.rotateTimer = this.timers.setTimeout(() => {
      this.rotateTimer = undefined;
      this.rotate();
    }, 0);
  }

  private clearRotationTimers(): void {
    this.goAwayPending = false;
    this.timers.clearTimeout(this.goAwayTimer);
    this.timers.clearTimeout(this.rotateTimer);
    this.goAwayTimer = this.rotateTimer = undefined;
  }
}
