// One Bun.serve, one port. WebSocket upgrades are checked and accepted in fetch, before Hono (hono/bun cannot
// choose the subprotocol: docs/bun.md#subprotocols); everything else goes to the Hono app. Every socket carries a
// `kind` in ws.data and the single `websocket` slot dispatches on it, so new socket kinds need no second server.
import type { Server, ServerWebSocket, WebSocketHandler } from "bun";
import type { CallManager } from "./call/manager.ts";
import type { Config } from "./config.ts";
import { createApp } from "./http/app.ts";
import { clip, type Logger } from "./log.ts";
import { audioSocketHandlers, socketData, SUBPROTOCOL, type SocketData as MediaSocketData } from "./telephony/audio-socket.ts";
import { isSafeCallId } from "./telephony/call-id.ts";
import { SeenCalls } from "./telephony/seen-calls.ts";
import { MemoryStreamClaims, type ClaimResult, type StreamClaims } from "./telephony/stream-claims.ts";
import { checkStreamToken } from "./telephony/stream-token.ts";

/** Union of every socket kind's data; add a kind here and a handler in `handlers`. */
export type SocketData = MediaSocketData;
type Kind = SocketData["kind"];

export interface Relay {
  server: Server<SocketData>;
  port: number;
  stop(): Promise<void>;
}

export interface RelayOptions {
  /** Where the "stream URL used" mark lives; in memory (this instance only) unless a shared store is given. */
  claims?: StreamClaims;
}

/** A claim store that does not answer within this is skipped (the socket is accepted): a slow store must not hold calls up. */
const CLAIM_TIMEOUT_MS = 2000;

function offersProtocol(req: Request): boolean {
  const h = req.headers.get("sec-websocket-protocol");
  return h !== null && h.split(",").some((p) => p.trim() === SUBPROTOCOL);
}

/** One handler object per kind; the dispatcher below routes each event to the socket's own. */
function dispatcher(handlers: { [K in Kind]: WebSocketHandler<Extract<SocketData, { kind: K }>> }): WebSocketHandler<SocketData> {
  const of = (ws: ServerWebSocket<SocketData>) => handlers[ws.data.kind] as WebSocketHandler<SocketData>;
  const media = handlers.media;
  return {
    data: {} as SocketData,
    // Per-server limits apply to every kind; the media socket's are the strictest that still fit its frames.
    maxPayloadLength: media.maxPayloadLength,
    backpressureLimit: media.backpressureLimit,
    closeOnBackpressureLimit: media.closeOnBackpressureLimit,
    idleTimeout: media.idleTimeout,
    sendPings: media.sendPings,
    perMessageDeflate: media.perMessageDeflate,
    open: (ws) => of(ws).open?.(ws),
    message: (ws, msg) => of(ws).message?.(ws, msg),
    drain: (ws) => of(ws).drain?.(ws),
    close: (ws, code, reason) => of(ws).close?.(ws, code, reason),
  };
}

export function startRelay(config: Config, log: Logger, calls: CallManager, modelLabel: string, opts: RelayOptions = {}): Relay {
  const seen = new SeenCalls(config.seenCallsMax, config.seenCallsTtlS * 1000);
  const claims = opts.claims ?? new MemoryStreamClaims(config.streamTokenTtlS * 1000, config.seenCallsMax);
  const app = createApp({ config, log, seen, calls, modelLabel });
  const rest = config.sautikitApiKey ? { apiUrl: config.sautikitApiUrl, apiKey: config.sautikitApiKey } : undefined;

  const claim = async (callId: string): Promise<ClaimResult> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((r) => (timer = setTimeout(() => r("late"), CLAIM_TIMEOUT_MS)));
    try {
      const r = await Promise.race([claims.claim(callId), late]);
      if (r !== "late") return r;
      log.warn({ callId, timeoutMs: CLAIM_TIMEOUT_MS }, "stream claim store did not answer: accepting the socket unchecked");
    } catch (err) {
      log.warn({ callId, err: String(err) }, "stream claim store failed: accepting the socket unchecked");
    } finally {
      clearTimeout(timer);
    }
    return "ok";
  };
  const release = (callId: string, ended: boolean): void => {
    claims.release(callId, ended).catch((err: unknown) => log.warn({ callId, ended, err: String(err) }, "stream claim release failed"));
  };

  const mediaUpgrade = async (req: Request, url: URL, srv: Server<SocketData>): Promise<Response | undefined> => {
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("websocket upgrade required\n", { status: 426 });
    }
    if (!offersProtocol(req)) {
      log.warn({ offered: clip(req.headers.get("sec-websocket-protocol")) }, "stream upgrade rejected: subprotocol");
      return new Response(`subprotocol ${SUBPROTOCOL} required\n`, { status: 400 });
    }
    const callId = url.searchParams.get("call") ?? "";
    const token = url.searchParams.get("token") ?? "";
    if (!isSafeCallId(callId)) {
      log.warn({ callIdLength: callId.length }, "stream upgrade rejected: malformed call id");
      return new Response("bad request: call\n", { status: 400 });
    }
    const check = checkStreamToken(config.streamTokenSecret, callId, token);
    if (!check.ok) {
      log.warn({ callId, reason: check.reason }, "stream upgrade rejected: token");
      return new Response("unauthorized\n", { status: 401 });
    }
    // One live socket per call: a second one would open a second model session for the same call.
    const c = await claim(callId);
    if (c === "busy") {
      calls.counters.streamBusy++;
      log.warn({ callId }, "stream upgrade refused: a socket for this call is already open");
      return new Response("conflict: this call's stream is already open\n", { status: 409 });
    }
    if (c === "ended") {
      calls.counters.streamEnded++;
      log.warn({ callId }, "stream upgrade refused: this call has ended");
      return new Response("gone: this call has ended\n", { status: 410 });
    }
    const ok = srv.upgrade(req, {
      // Always name the protocol: left alone, Bun echoes the client's first offer (docs/bun.md#subprotocols).
      headers: { "Sec-WebSocket-Protocol": SUBPROTOCOL },
      data: socketData(callId, log.child({ callId })),
    });
    if (ok) return undefined;
    release(callId, false); // a failed handshake does not use the URL up
    return new Response("upgrade failed\n", { status: 400 });
  };

  const server = Bun.serve<SocketData>({
    port: config.port,
    hostname: config.host,
    // Several instances on one host share the port (docs/bun.md#reuseport); the token, not memory, binds socket to call.
    reusePort: true,
    fetch(req, srv) {
      const url = new URL(req.url);
      if (url.pathname === "/stream") return mediaUpgrade(req, url, srv);
      return app.fetch(req, srv);
    },
    websocket: dispatcher({
      media: audioSocketHandlers((socket, callLog) => calls.startCall(socket, callLog), {
        rest,
        silenceTimeoutMs: config.callerSilenceTimeoutS * 1000,
        closed: (callId) => release(callId, true),
      }),
    }),
  });

  return {
    server,
    port: server.port ?? config.port,
    async stop() {
      await calls.stop();
      await server.stop(true);
    },
  };
}
