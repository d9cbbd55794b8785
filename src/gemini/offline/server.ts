// Offline mode: a Live-API-compatible echo model on loopback, so a new user hears the whole relay path work
// without an API key. It speaks the wire protocol the relay speaks to Gemini (docs/gemini-live.md) and answers
// with the caller's own last utterance. Built to run for as long as the relay does: it records nothing, and a
// socket's state goes when the socket does.
import type { ServerWebSocket } from "bun";
import type { Logger } from "../../log.ts";
import { HandleBook } from "./handles.ts";
import { EchoSession } from "./session.ts";

export const LIVE_PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent";

export interface OfflineModel {
  /** ws URL of the BidiGenerateContent endpoint; any API key is accepted. */
  url: string;
  stop: () => Promise<void>;
  /** Sockets open right now. */
  liveSessions(): number;
}

interface SocketData {
  session: EchoSession | undefined;
}

export async function startOfflineModel(log?: Logger): Promise<OfflineModel> {
  const book = new HandleBook();
  const live = new Set<EchoSession>();
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req, srv) {
      if (new URL(req.url).pathname !== LIVE_PATH) return new Response("not found", { status: 404 });
      if (srv.upgrade(req, { data: { session: undefined } })) return undefined;
      return new Response("expected a websocket upgrade", { status: 426 });
    },
    websocket: {
      data: {} as SocketData,
      perMessageDeflate: false,
      // Setup with a long prompt and tools is the largest message; audio chunks are a few KB.
      maxPayloadLength: 4 * 1024 * 1024,
      open(ws: ServerWebSocket<SocketData>) {
        const s = new EchoSession(ws, book);
        ws.data.session = s;
        live.add(s);
      },
      message(ws: ServerWebSocket<SocketData>, msg: string | Buffer) {
        ws.data.session?.onFrame(msg);
      },
      close(ws: ServerWebSocket<SocketData>, code: number) {
        const s = ws.data.session;
        if (s === undefined) return;
        s.dispose();
        live.delete(s);
        ws.data.session = undefined;
        log?.debug({ code, liveSessions: live.size }, "OFFLINE MODE: echo model socket closed");
      },
    },
  });
  const url = `ws://127.0.0.1:${server.port}${LIVE_PATH}`;
  log?.info({ url }, "OFFLINE MODE: local echo model listening");
  return {
    url,
    liveSessions: () => live.size,
    stop: async () => {
      for (const s of live) s.close(1001, "offline model stopping");
      live.clear();
      await server.stop(true);
      book.clear();
    },
  };
}
