// The tutorial's design, as its readers build it: Node.js + ws + express. No pacing, no resampling, no flush
// on interrupt, `mediaChunks` uplink (JSON.stringify per frame), key in the `?key=` query. Model audio is
// 24 kHz and goes straight into a 16 kHz call. Kept deliberately naive: it is the reference to beat.
// Env: PORT, HOST, GEMINI_LIVE_URL, GEMINI_API_KEY.
import express from "express";
import http from "node:http";
import { WebSocketServer, WebSocket } from "ws";

const PORT = Number(process.env.PORT || 8080);
const HOST = process.env.HOST || "127.0.0.1";
const GEMINI_URL = process.env.GEMINI_LIVE_URL;
const API_KEY = process.env.GEMINI_API_KEY;

const app = express();
app.use(express.urlencoded({ extended: true }));

app.post("/voice", (req, res) => {
  res.type("application/xml");
  res.send(
    `<Response><Stream url="ws://${req.headers.host}/stream" track="inbound_track" outputSamplingRate="16000"/></Response>`,
  );
});

app.get("/healthz", (_req, res) => res.json({ ok: true }));

const server = http.createServer(app);
const wss = new WebSocketServer({ server, path: "/stream" });

wss.on("connection", (callWs) => {
  const gemini = new WebSocket(`${GEMINI_URL}?key=${API_KEY}`);

  gemini.on("open", () => {
    gemini.send(
      JSON.stringify({
        setup: { model: "models/gemini-3.8-live", generationConfig: { responseModalities: ["AUDIO"] } },
      }),
    );
  });

  gemini.on("message", (data) => {
    const msg = JSON.parse(data.toString());
    const parts = msg.serverContent?.modelTurn?.parts || [];
    for (const part of parts) {
      if (part.inlineData) {
        callWs.send(Buffer.from(part.inlineData.data, "base64"));
      }
    }
  });

  gemini.on("close", () => callWs.close());
  gemini.on("error", (err) => console.error("gemini error", err.message));

  callWs.on("message", (data, isBinary) => {
    if (!isBinary) return; // the metadata frame
    if (gemini.readyState !== WebSocket.OPEN) return;
    gemini.send(
      JSON.stringify({
        realtimeInput: { mediaChunks: [{ mimeType: "audio/pcm;rate=16000", data: data.toString("base64") }] },
      }),
    );
  });

  callWs.on("close", () => gemini.close());
});

server.listen(PORT, HOST, () => console.log(JSON.stringify({ msg: "baseline listening", port: PORT })));
