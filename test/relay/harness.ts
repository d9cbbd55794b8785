// Starts the real relay in-process on a loopback port, against the Gemini stand-in on another port.
import pino from "pino";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { assemble } from "../../src/assemble.ts";
import type { AgentRouter, CallManager } from "../../src/call/manager.ts";
import { loadConfig, type Config } from "../../src/config.ts";
import { StandinServer, type StandinOptions } from "../support/gemini-spy.ts";
import { signBody } from "../../src/http/signature.ts";
import type { Logger } from "../../src/log.ts";
import type { Records } from "../../src/records/index.ts";
import type { Relay } from "../../src/server.ts";
import { until } from "../gemini/helpers.ts";

export { until };

export const SECRET = "whsec_test_secret";
export const PROTO = "audio.drachtio.org";

export interface Harness {
  config: Config;
  relay: Relay;
  calls: CallManager;
  records: Records;
  standin: StandinServer;
  base: string;
  logs: string[];
  post(path: string, body: string, opts?: { type?: string; sig?: string | null }): Promise<Response>;
  /** Posts the voice webhook and returns the stream URL from the XML (unescaped). */
  streamUrlFor(callId: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startHarness(
  env: Record<string, string> = {},
  standinOpts: Partial<StandinOptions> = {},
  opts: { router?: AgentRouter } = {},
): Promise<Harness> {
  const logs: string[] = [];
  const log: Logger = pino({ level: "debug" }, { write: (s: string) => void logs.push(s) });
  const standin = new StandinServer({ mode: "tone", speechRms: 30000, ...standinOpts });
  const standinUrl = await standin.start();
  // Each relay gets its own throwaway SQLite file unless the test names a database.
  const scratchDb = env.DATABASE_URL === undefined ? `${tmpdir()}/sauti-test-${process.pid}-${crypto.randomUUID()}.db` : undefined;
  const config = loadConfig({
    ...(scratchDb !== undefined ? { DATABASE_URL: `sqlite://${scratchDb}` } : {}),
    PORT: "0",
    HOST: "127.0.0.1",
    SAUTIKIT_WEBHOOK_SECRET: SECRET,
    STREAM_TOKEN_SECRET: "stream-secret",
    GEMINI_API_KEY: "test-key",
    GEMINI_LIVE_URL: standinUrl,
    AGENT_GREETING: "",
    PREWARM_WAIT_MS: "3000",
    ...env,
  });
  const { calls, relay, records } = assemble(config, { url: config.gemini.liveUrl, apiKey: "test-key", label: config.gemini.model }, log, opts.router);
  // The stream URL must name the real port, known only after listening; the app reads publicUrl per request.
  if (!env.PUBLIC_URL) config.publicUrl = `http://127.0.0.1:${relay.port}`;
  const base = `http://127.0.0.1:${relay.port}`;
  const h: Harness = {
    config,
    relay,
    calls,
    records,
    standin,
    base,
    logs,
    post(path, body, opts = {}) {
      const headers: Record<string, string> = { "content-type": opts.type ?? "application/x-www-form-urlencoded" };
      const sig = opts.sig === undefined ? signBody(SECRET, body) : opts.sig;
      if (sig !== null) headers["x-sautikit-signature"] = sig;
      return fetch(base + path, { method: "POST", headers, body });
    },
    async streamUrlFor(callId) {
      const res = await h.post("/voice", `sessionId=${encodeURIComponent(callId)}&callerNumber=%2B254700000001&destinationNumber=%2B254700000002`);
      const xml = await res.text();
      const m = /url="([^"]+)"/.exec(xml);
      if (!m) throw new Error(`no stream url in ${xml}`);
      return m[1]!.replaceAll("&amp;", "&");
    },
    async stop() {
      await relay.stop();
      await standin.stop();
      if (scratchDb !== undefined) for (const f of ["", "-wal", "-shm"]) rmSync(scratchDb + f, { force: true });
    },
  };
  return h;
}

/** A Sautikit-like caller: a real WebSocket client recording every frame it gets. */
export class Caller {
  readonly ws: WebSocket;
  readonly frames: Uint8Array[] = [];
  readonly texts: string[] = [];
  readonly frameAt: number[] = [];
  opened = false;
  closed: { code: number; reason: string } | undefined;
  error = false;

  constructor(url: string, protocols: string[] = [PROTO]) {
    this.ws = new WebSocket(url, protocols);
    this.ws.binaryType = "arraybuffer";
    this.ws.onopen = () => (this.opened = true);
    this.ws.onerror = () => (this.error = true);
    this.ws.onclose = (e) => (this.closed = { code: e.code, reason: e.reason });
    this.ws.onmessage = (e) => {
      if (typeof e.data === "string") this.texts.push(e.data);
      else {
        this.frames.push(new Uint8Array(e.data as ArrayBuffer));
        this.frameAt.push(performance.now());
      }
    };
  }

  async open(): Promise<this> {
    await until(() => this.opened || this.closed !== undefined, "caller socket open");
    if (!this.opened) throw new Error(`caller socket did not open: ${JSON.stringify(this.closed)}`);
    return this;
  }

  /** Samples the caller heard that are not silence. */
  loudSamples(from = 0): number {
    let n = 0;
    for (let i = from; i < this.frames.length; i++) {
      const f = this.frames[i]!;
      const v = new DataView(f.buffer, f.byteOffset, f.byteLength);
      for (let j = 0; j + 1 < f.byteLength; j += 2) if (Math.abs(v.getInt16(j, true)) > 200) n++;
    }
    return n;
  }
}

/** Quiet 16 kHz PCM (below the stand-in's speech threshold) with a running sample counter, for exact-stream checks. */
export function numberedPcm(samples: number, start: number): Uint8Array {
  const out = new Uint8Array(samples * 2);
  const v = new DataView(out.buffer);
  for (let i = 0; i < samples; i++) v.setInt16(i * 2, ((start + i) % 200) - 100, true);
  return out;
}
