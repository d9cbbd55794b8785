// One Live WebSocket: connect (with our own connect timeout — Bun's client can sit in CONNECTING), send setup,
// wait for setupComplete (setup timeout), parse every frame (binary or text), and close for sure
// (Close frame, then terminate(): a wss close may never release the socket, docs/bun.md#wss-close-leak).
import type { Logger } from "../log.ts";
import { safeUrl } from "../log.ts";
import { parseServerFrame, type ServerMessage } from "./protocol.ts";

// WebSocket close codes (RFC 6455 §7.4.1, IANA registry) that a Live socket ends with. What each one means for the
// session (reconnect, give up, start afresh) is rotator.ts's classify(); the table is docs/gemini-live.md#close-codes.
/** Normal Closure: ours when we close a socket; from the server, a close we did not ask for. */
export const CLOSE_NORMAL = 1000;
/** Going Away: the server is shutting down. */
export const CLOSE_GOING_AWAY = 1001;
/** Abnormal Closure: the socket ended without a Close frame (dropped network); never sent on the wire. */
export const CLOSE_ABNORMAL = 1006;
/** Invalid frame payload data: Live's "Request contains an invalid argument." */
export const CLOSE_INVALID_PAYLOAD = 1007;
/** Policy Violation: Live's wrong model id, aborted operation, and "session not found" (stale resumption handle). */
export const CLOSE_POLICY_VIOLATION = 1008;
/** Internal Error: Live's server faults, quota, and the deadline after goAway. */
export const CLOSE_INTERNAL_ERROR = 1011;
/** Service Restart. */
export const CLOSE_SERVICE_RESTART = 1012;
/** Try Again Later. */
export const CLOSE_TRY_AGAIN_LATER = 1013;
/** Bad Gateway. */
export const CLOSE_BAD_GATEWAY = 1014;

/** Local close codes (never on the wire) for failures we detect ourselves: LOCAL_CODE_MIN ≤ code ≤ LOCAL_CODE_MAX. */
export const LOCAL_CODE_MIN = 4900;
export const LOCAL_CODE_MAX = 4999;
export const CODE_CONNECT_TIMEOUT = 4901;
export const CODE_SETUP_TIMEOUT = 4902;

export const CLOSE_GRACE_MS = 1000;

export interface ConnectionEvents {
  setupComplete(conn: LiveConnection): void;
  message(conn: LiveConnection, msg: ServerMessage): void;
  /** Exactly once per connection. `byUs` is true when close() was called before the socket ended. */
  closed(conn: LiveConnection, code: number, reason: string, byUs: boolean): void;
}

export interface ConnectionOptions {
  id: number;
  url: string;
  apiKey: string;
  setupJson: string;
  connectTimeoutMs: number;
  setupTimeoutMs: number;
  log: Logger;
}

export class LiveConnection {
  readonly id: number;
  readonly log: Logger;
  /** True once setupComplete arrived. */
  ready = false;
  /** True once the socket has ended (close event, or terminated by us). */
  ended = false;
  private ws: WebSocket | undefined;
  private byUs = false;
  private connectTimer: Timer | undefined;
  private setupTimer: Timer | undefined;
  private killTimer: Timer | undefined;
  private endWaiters: Array<() => void> = [];

  constructor(
    private readonly opts: ConnectionOptions,
    private readonly events: ConnectionEvents,
  ) {
    this.id = opts.id;
    this.log = opts.log.child({ conn: opts.id });
  }

  open(): void {
    const { url, apiKey } = this.opts;
    this.log.debug({ url: safeUrl(url) }, "live: connecting");
    let ws: WebSocket;
    try {
      // Key in a header, never in the query: URLs end up in logs and proxies.
      // No permessage-deflate: base64 audio compresses poorly and Bun allocates per compressed message (docs/bun.md#websocket-client).
      ws = new WebSocket(url, { headers: { "x-goog-api-key": apiKey }, perMessageDeflate: false });
    } catch (err) {
      queueMicrotask(() => this.finish(CLOSE_ABNORMAL, `connect failed: ${err instanceof Error ? err.message : String(err)}`));
      return;
    }
    this.ws = ws;
    ws.binaryType = "arraybuffer";
    this.connectTimer = setTimeout(() => {
      this.log.warn({ timeoutMs: this.opts.connectTimeoutMs }, "live: connect timeout");
      this.kill(CODE_CONNECT_TIMEOUT, "connect timeout");
    }, this.opts.connectTimeoutMs);
    this.setupTimer = setTimeout(() => {
      this.log.warn({ timeoutMs: this.opts.setupTimeoutMs }, "live: setup timeout");
      this.kill(CODE_SETUP_TIMEOUT, "setup timeout");
    }, this.opts.setupTimeoutMs);

    ws.addEventListener("open", () => {
      clearTimeout(this.connectTimer);
      if (this.byUs) return;
      // setup first and alone; the session sends nothing else until setupComplete.
      ws.send(this.opts.setupJson);
    });
    ws.addEventListener("message", (ev: MessageEvent) => this.onFrame(ev.data));
    ws.addEventListener("error", (ev: Event) => {
      const msg = (ev as ErrorEvent).message;
      this.log.debug({ err: msg }, "live: socket error");
    });
    ws.addEventListener("close", (ev: CloseEvent) => this.finish(ev.code, ev.reason));
  }

  private onFrame(data: unknown): void {
    if (this.ended) return;
    let msg: ServerMessage;
    try {
      msg = parseServerFrame(data as string | ArrayBuffer);
    } catch (err) {
      this.log.warn({ err: err instanceof Error ? err.message : String(err) }, "live: unparseable frame");
      return;
    }
    if (msg.setupComplete !== undefined && !this.ready) {
      this.ready = true;
      clearTimeout(this.setupTimer);
      this.events.setupComplete(this);
    }
    this.events.message(this, msg);
  }

  get isOpen(): boolean {
    return this.ws !== undefined && this.ws.readyState === WebSocket.OPEN && !this.byUs;
  }

  get bufferedAmount(): number {
    return this.ws?.bufferedAmount ?? 0;
  }

  /** Sends a text frame; false if the socket is not open (or we are closing it). */
  send(text: string): boolean {
    if (!this.isOpen) return false;
    this.ws!.send(text);
    return true;
  }

  /** Closes with a Close frame, terminates after CLOSE_GRACE_MS. Resolves when the socket has ended. */
  close(code = CLOSE_NORMAL, reason = ""): Promise<void> {
    if (this.ended) return Promise.resolve();
    const done = new Promise<void>((r) => this.endWaiters.push(r));
    if (this.byUs) return done;
    this.byUs = true;
    clearTimeout(this.connectTimer);
    clearTimeout(this.setupTimer);
    const ws = this.ws;
    if (ws === undefined || ws.readyState === WebSocket.CONNECTING) {
      this.kill(code, reason || "closed while connecting");
      return done;
    }
    try {
      ws.close(code, reason);
    } catch {
      this.kill(code, reason);
      return done;
    }
    this.killTimer = setTimeout(() => {
      this.log.debug("live: close not acknowledged, terminating");
      this.kill(CLOSE_ABNORMAL, "close timeout");
    }, CLOSE_GRACE_MS);
    return done;
  }

  /** Drops the socket without a handshake and reports it ended. */
  private kill(code: number, reason: string): void {
    try {
      this.ws?.terminate();
    } catch {
      /* already gone */
    }
    this.finish(code, reason);
  }

  private finish(code: number, reason: string): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.connectTimer);
    clearTimeout(this.setupTimer);
    clearTimeout(this.killTimer);
    // wss close leak (docs/bun.md#wss-close-leak): make sure the TCP socket is released even after a clean close.
    try {
      this.ws?.terminate();
    } catch {
      /* already gone */
    }
    this.log.debug({ code, reason, byUs: this.byUs }, "live: socket closed");
    for (const w of this.endWaiters.splice(0)) w();
    this.events.closed(this, code, reason, this.byUs);
  }
}
