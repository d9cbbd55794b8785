// One Bun.serve, one port. WebSocket upgrades are checked and accepted in fetch, before Hono (hono/bun cannot
// choose the subprotocol: docs/bun.md#subprotocols); everything else goes to the Hono app. Every socket carries a
// `kind` in ws.data and the single `websocket` slot dispatches on it, so new socket kinds need no second server.
// The console's pages are `routes` (Bun's HTML imports, bundled into the binary), and so is /favicon.ico; routes
// win over fetch.
import type { Server, ServerWebSocket, WebSocketHandler } from "bun";
import type { CallAdmission, CallClaim } from "./admission/admission.ts";
import { inboundParties, renderAgent } from "./agents/variables.ts";
import type { CallParties } from "./call/agent.ts";
import type { CallManager } from "./call/manager.ts";
import type { Config } from "./config.ts";
import type { AnalysisWorker } from "./analysis/worker.ts";
import type { HandoffService } from "./handoff/desk.ts";
import { createConsole, SOFTPHONE_PATH, type Console } from "./console/index.ts";
import { createApp, type OutboundApp } from "./http/app.ts";
import { noCounters, type HttpCounters } from "./http/counters.ts";
import { FAVICON } from "./http/favicon.ts";
import { RefusalLog } from "./log-limit.ts";
import { clip, type Logger } from "./log.ts";
import { InFlight } from "./ops/in-flight.ts";
import type { Readiness } from "./ops/readiness.ts";
import type { Records } from "./records/index.ts";
import {
  audioSocketHandlers,
  socketData,
  softphoneSocketData,
  SUBPROTOCOL,
  type SocketData as MediaSocketData,
  type SoftphoneSocketData,
} from "./telephony/audio-socket.ts";
import { isSafeCallId } from "./telephony/call-id.ts";
import { MemoryStreamClaims, type ClaimResult, type StreamClaims } from "./telephony/stream-claims.ts";
import { checkStreamToken } from "./telephony/stream-token.ts";
import { within } from "./within.ts";

/** Union of every socket kind's data; add a kind here and a handler in `handlers`. */
export type SocketData = MediaSocketData | SoftphoneSocketData;
type Kind = SocketData["kind"];

/** Operations hooks (assemble.ts wires them): request counters, readiness, the metrics route, and where the
 *  "stream URL used" mark lives (in memory, this instance only, unless a shared store is given). All optional. */
export interface RelayOps {
  counters?: HttpCounters;
  readiness?: Readiness;
  metrics?: (req: Request) => Promise<Response>;
  claims?: StreamClaims;
  /** The handoff desk, for its routes (supervision, Sautikit's events). */
  handoffs?: HandoffService;
  /** The analysis queue, for POST /api/calls/:id/analyze. */
  analysis?: AnalysisWorker;
  /** Outbound calls and campaigns (src/outbound): the answered-call hooks and their API. */
  outbound?: OutboundApp;
}

export interface Relay {
  server: Server<SocketData>;
  port: number;
  /** The web console (its hub is what tests and observers may inspect). */
  console: Console;
  /** HTTP requests being answered; the drain waits for them. */
  requests: InFlight;
  stop(): Promise<void>;
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
  // Both audio kinds share the media limits (the softphone sends the same 20 ms PCM frames).
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

export function startRelay(
  config: Config,
  log: Logger,
  calls: CallManager,
  modelLabel: string,
  records: Records,
  admission: CallAdmission,
  ops: RelayOps = {},
): Relay {
  const counters = ops.counters ?? noCounters;
  const claims = ops.claims ?? new MemoryStreamClaims(config.streamTokenTtlS * 1000, config.seenCallsMax);
  const requests = new InFlight();
  // Refusals anyone can cause without a secret: a few lines per kind a minute, the rest counted.
  const refusals = new RefusalLog(log);
  const app = createApp({
    config,
    log,
    records,
    calls,
    admission,
    modelLabel,
    counters,
    refusals,
    readiness: ops.readiness,
    metrics: ops.metrics,
    handoffs: ops.handoffs,
    analysis: ops.analysis,
    outbound: ops.outbound,
  });
  const rest = config.sautikitApiKey ? { apiUrl: config.sautikitApiUrl, apiKey: config.sautikitApiKey } : undefined;

  const consoleUi = createConsole({ config, log, calls });
  app.route("/", consoleUi.api);

  const claim = async (callId: string): Promise<ClaimResult> => {
    try {
      const r = await within(claims.claim(callId), CLAIM_TIMEOUT_MS);
      if (r !== "timeout") return r;
      log.warn({ callId, timeoutMs: CLAIM_TIMEOUT_MS }, "stream claim store did not answer: accepting the socket unchecked");
    } catch (err) {
      log.warn({ callId, err: String(err) }, "stream claim store failed: accepting the socket unchecked");
    }
    return "ok";
  };
  const release = (callId: string, ended: boolean): void => {
    claims.release(callId, ended).catch((err: unknown) => log.warn({ callId, ended, err: String(err) }, "stream claim release failed"));
  };

  /** The checks both audio socket kinds share; undefined when the upgrade may go ahead. */
  const refuse = (req: Request, what: string): Response | undefined => {
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      counters.upgrade("not_websocket");
      return new Response("websocket upgrade required\n", { status: 426 });
    }
    if (!offersProtocol(req)) {
      counters.upgrade("no_subprotocol");
      refusals.warn(`${what}_subprotocol`, { offered: clip(req.headers.get("sec-websocket-protocol")) }, `${what} upgrade rejected: subprotocol`);
      return new Response(`subprotocol ${SUBPROTOCOL} required\n`, { status: 400 });
    }
    return undefined;
  };

  /** Parties found at upgrade for a call this instance did not answer, taken when its socket opens. */
  const claimedParties = new Map<string, CallParties>();
  /** The claim's agent by name (the agents file is shared by the instances), else the agent of its dialed number;
   *  filled with the variables the webhook's instance filled it with (an outbound attempt's, or an inbound call's). */
  const partiesOf = (c: CallClaim | undefined): CallParties | undefined => {
    if (c === undefined) return undefined;
    const agent = calls.router.list().find((r) => r.agent.name === c.agent)?.agent ?? calls.router.route(c.callee);
    if (agent === undefined) return undefined;
    if (c.purpose === undefined) return inboundParties(agent, c.caller, c.callee, Date.now(), config.callTimezone);
    return { caller: c.caller, callee: c.callee, agent: renderAgent(agent, c.purpose.variables).agent, purpose: c.purpose };
  };
  /** No claim to read (the store did not answer): the default agent, as for an inbound call from nobody known. */
  const fallbackParties = (): CallParties | undefined => {
    const agent = calls.router.route("");
    return agent === undefined ? undefined : inboundParties(agent, "", "", Date.now(), config.callTimezone);
  };
  const takeParties = (callId: string): CallParties | undefined => {
    const p = claimedParties.get(callId);
    claimedParties.delete(callId);
    return p;
  };

  const mediaUpgrade = async (req: Request, url: URL, srv: Server<SocketData>): Promise<Response | undefined> => {
    const no = refuse(req, "stream");
    if (no) return no;
    const callId = url.searchParams.get("call") ?? "";
    const token = url.searchParams.get("token") ?? "";
    if (!isSafeCallId(callId)) {
      counters.upgrade("bad_call_id");
      refusals.warn("stream_call_id", { callIdLength: callId.length }, "stream upgrade rejected: malformed call id");
      return new Response("bad request: call\n", { status: 400 });
    }
    const check = checkStreamToken(config.streamTokenSecret, callId, token);
    if (!check.ok) {
      counters.upgrade(check.reason === "expired" ? "expired_token" : "bad_token");
      refusals.warn("stream_token", { callId, reason: check.reason }, "stream upgrade rejected: token");
      return new Response("unauthorized\n", { status: 401 });
    }
    // One live socket per call: a second one would open a second model session for the same call.
    const c = await claim(callId);
    if (c === "busy") {
      counters.upgrade("busy");
      log.warn({ callId }, "stream upgrade refused: a socket for this call is already open");
      return new Response("conflict: this call's stream is already open\n", { status: 409 });
    }
    if (c === "ended") {
      counters.upgrade("ended");
      log.warn({ callId }, "stream upgrade refused: this call has ended");
      return new Response("gone: this call has ended\n", { status: 410 });
    }
    // The webhook may have reached another instance: its claim says who calls whom and which agent answers.
    const callLog = log.child({ callId });
    const parties = calls.expects(callId) ? undefined : (partiesOf(await admission.claimed(callId, callLog)) ?? fallbackParties());
    if (parties !== undefined) claimedParties.set(callId, parties);
    const ok = srv.upgrade(req, {
      // Always name the protocol: left alone, Bun echoes the client's first offer (docs/bun.md#subprotocols).
      headers: { "Sec-WebSocket-Protocol": SUBPROTOCOL },
      data: socketData(callId, callLog),
    });
    counters.upgrade(ok ? "ok" : "failed");
    if (ok) return undefined;
    claimedParties.delete(callId);
    release(callId, false); // a failed handshake does not use the URL up
    return new Response("upgrade failed\n", { status: 400 });
  };

  /** The console's softphone: same protocol, but a one-use ticket from POST /api/softphone instead of a signed token. */
  const softphoneUpgrade = (req: Request, url: URL, srv: Server<SocketData>): Response | undefined => {
    const no = refuse(req, "softphone");
    if (no) return no;
    const callId = url.searchParams.get("call") ?? "";
    const ticket = consoleUi.claim(callId, url.searchParams.get("token") ?? "");
    if (!ticket.ok) {
      refusals.warn("softphone_ticket", { callId: clip(callId), reason: ticket.reason }, "softphone upgrade rejected: ticket");
      return new Response("unauthorized\n", { status: 401 });
    }
    const ok = srv.upgrade(req, {
      headers: { "Sec-WebSocket-Protocol": SUBPROTOCOL },
      data: softphoneSocketData(callId, log.child({ callId })),
    });
    return ok ? undefined : new Response("upgrade failed\n", { status: 400 });
  };

  const server = Bun.serve<SocketData>({
    port: config.port,
    hostname: config.host,
    // Only on purpose (REUSE_PORT): a forgotten old process would silently take half the calls
    // (docs/bun.md#reuseport). When shared, the token, not memory, binds socket to call.
    reusePort: config.reusePort,
    // Serve the console's bundles as built (cached, minified), never Bun's dev server with hot reload.
    development: false,
    routes: { ...consoleUi.routes, "/favicon.ico": FAVICON },
    fetch(req, srv) {
      return requests.track(() => {
        const url = new URL(req.url);
        if (url.pathname === "/stream") return mediaUpgrade(req, url, srv);
        if (url.pathname === SOFTPHONE_PATH) return softphoneUpgrade(req, url, srv);
        return app.fetch(req, srv);
      });
    },
    websocket: dispatcher({
      media: audioSocketHandlers<MediaSocketData>((socket, callLog) => calls.startCall(socket, callLog, takeParties(socket.callId)), {
        rest,
        sendKillAudio: config.sendKillAudio,
        silenceTimeoutMs: config.callerSilenceTimeoutS * 1000,
        closed: (callId) => release(callId, true),
      }),
      softphone: audioSocketHandlers<SoftphoneSocketData>((socket, callLog) => calls.startCall(socket, callLog, consoleUi.opened(socket.callId)), {
        rest: undefined,
        sendKillAudio: true,
        silenceTimeoutMs: config.callerSilenceTimeoutS * 1000,
      }),
    }),
  });

  return {
    server,
    port: server.port ?? config.port,
    console: consoleUi,
    requests,
    async stop() {
      refusals.stop();
      consoleUi.stop();
      await calls.stop();
      await server.stop(true);
      await records.stop();
    },
  };
}
