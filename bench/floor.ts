// The floor: the least a Bun relay can do, to show what the machine and the load generator cost.
// Answers the webhook, accepts the socket with audio.drachtio.org, forwards each caller frame at once as
// realtimeInput.audio and each model chunk as it comes (base64-decoded PCM: no resampling, pacing or checks).
// Env: PORT, HOST, GEMINI_LIVE_URL, GEMINI_API_KEY.
import type { ServerWebSocket } from "bun";
import { PROTO } from "../test/support/caller.ts";

const port = Number(process.env.PORT ?? 0);
const host = process.env.HOST ?? "127.0.0.1";
const liveUrl = process.env.GEMINI_LIVE_URL ?? "ws://127.0.0.1:1/";
const key = process.env.GEMINI_API_KEY ?? "floor";
const SETUP = JSON.stringify({ setup: { model: "models/gemini-3.8-live", generationConfig: { responseModalities: ["AUDIO"] } } });
const HEAD = `{"realtimeInput":{"audio":{"mimeType":"audio/pcm;rate=16000","data":"`;
const TAIL = `"}}}`;
const decoder = new TextDecoder();

interface Call {
  live: WebSocket;
  ready: boolean;
  early: string[]; // frames before setupComplete (the stand-in requires setup first)
}

const server: Bun.Server<{ c?: Call }> = Bun.serve({
  hostname: host,
  port,
  fetch(req, srv): Response | undefined {
    const url = new URL(req.url);
    if (url.pathname === "/stream") {
      const offered = (req.headers.get("sec-websocket-protocol") ?? "").split(",").map((s) => s.trim());
      if (!offered.includes(PROTO)) return new Response("audio.drachtio.org required", { status: 400 });
      return srv.upgrade(req, { headers: { "Sec-WebSocket-Protocol": PROTO }, data: {} as { c?: Call } })
        ? undefined
        : new Response("upgrade failed", { status: 426 });
    }
    if (url.pathname === "/voice" && req.method === "POST") {
      const id = crypto.randomUUID();
      const wsUrl: string = `ws://${host}:${server.port}/stream?call=${id}`;
      return new Response(
        `<?xml version="1.0" encoding="UTF-8"?><Response><Stream url="${wsUrl}" track="inbound_track" connect="true" outputSamplingRate="16000" bidirectionalSamplingRate="16000"/></Response>`,
        { headers: { "content-type": "application/xml" } },
      );
    }
    if (url.pathname === "/healthz") return Response.json({ ok: true });
    return new Response("not found", { status: 404 });
  },
  websocket: {
    data: {} as { c?: Call },
    open(ws) {
      const live = new WebSocket(liveUrl, { headers: { "x-goog-api-key": key } } as unknown as string[]);
      live.binaryType = "arraybuffer";
      const c: Call = { live, ready: false, early: [] };
      ws.data.c = c;
      live.onopen = () => live.send(SETUP);
      live.onmessage = (ev) => onModel(ws, c, ev.data as ArrayBuffer | string);
      live.onclose = () => ws.close();
    },
    message(ws, msg) {
      const c = ws.data.c;
      if (!c || typeof msg === "string") return;
      const frame = HEAD + msg.toBase64() + TAIL;
      if (c.ready) c.live.send(frame);
      else c.early.push(frame);
    },
    close(ws) {
      ws.data.c?.live.close();
    },
  },
});

function onModel(ws: ServerWebSocket<{ c?: Call }>, c: Call, data: ArrayBuffer | string): void {
  const m = JSON.parse(typeof data === "string" ? data : decoder.decode(data)) as {
    setupComplete?: unknown;
    serverContent?: { modelTurn?: { parts?: Array<{ inlineData?: { data?: string } }> } };
  };
  if (m.setupComplete !== undefined) {
    c.ready = true;
    for (const f of c.early) c.live.send(f);
    c.early = [];
    return;
  }
  for (const p of m.serverContent?.modelTurn?.parts ?? []) {
    if (p.inlineData?.data) ws.sendBinary(Buffer.from(p.inlineData.data, "base64"));
  }
}

console.log(JSON.stringify({ msg: "floor listening", port: server.port }));
