// One Bun.serve, one port: WebSocket upgrades on /stream are checked and accepted here, before Hono
// (hono/bun cannot choose the subprotocol; bun.md §2); everything else goes to the Hono app.
import type { Server } from "bun";
import type { CallManager } from "./call/manager.ts";
import type { Config } from "./config.ts";
import { createApp } from "./http/app.ts";
import type { Logger } from "./log.ts";
import { audioSocketHandlers, socketData, SUBPROTOCOL, type SocketData } from "./telephony/audio-socket.ts";
import { SeenCalls } from "./telephony/seen-calls.ts";
import { checkStreamToken } from "./telephony/stream-token.ts";

export interface Relay {
  server: Server<SocketData>;
  port: number;
  stop(): Promise<void>;
}

function offersProtocol(req: Request): boolean {
  const h = req.headers.get("sec-websocket-protocol");
  return h !== null && h.split(",").some((p) => p.trim() === SUBPROTOCOL);
}

export function startRelay(config: Config, log: Logger, calls: CallManager, modelLabel: string): Relay {
  const seen = new SeenCalls(config.seenCallsMax, config.seenCallsTtlS * 1000);
  const app = createApp({ config, log, seen, calls, modelLabel });

  const server = Bun.serve({
    port: config.port,
    hostname: config.host,
    // Several instances on one host share the port (bun.md §8); the token, not memory, binds socket to call.
    reusePort: true,
    fetch(req, srv) {
      const url = new URL(req.url);
      if (url.pathname !== "/stream") return app.fetch(req, srv);
      if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
        return new Response("websocket upgrade required\n", { status: 426 });
      }
      if (!offersProtocol(req)) {
        log.warn({ offered: req.headers.get("sec-websocket-protocol") }, "stream upgrade rejected: subprotocol");
        return new Response(`subprotocol ${SUBPROTOCOL} required\n`, { status: 400 });
      }
      const callId = url.searchParams.get("call") ?? "";
      const token = url.searchParams.get("token") ?? "";
      const check = callId ? checkStreamToken(config.streamTokenSecret, callId, token) : ({ ok: false, reason: "malformed" } as const);
      if (!check.ok) {
        log.warn({ callId, reason: check.reason }, "stream upgrade rejected: token");
        return new Response("unauthorized\n", { status: 401 });
      }
      const ok = srv.upgrade(req, {
        // Always name the protocol: left alone, Bun echoes the client's first offer (bun.md §1.2).
        headers: { "Sec-WebSocket-Protocol": SUBPROTOCOL },
        data: socketData(callId, log.child({ callId })),
      });
      return ok ? undefined : new Response("upgrade failed\n", { status: 400 });
    },
    websocket: audioSocketHandlers((socket, callLog) => calls.startCall(socket, callLog)),
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
