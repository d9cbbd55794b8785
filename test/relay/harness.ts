// Starts the real relay in-process on a loopback port, against the Gemini stand-in on another port.
import { assemble } from "../../src/assemble.ts";
import type { AgentRouter } from "../../src/call/agent.ts";
import type { Clock } from "../../src/outbound/clock.ts";
import type { HandoffService } from "../../src/handoff/desk.ts";
import type { Outbound } from "../../src/outbound/index.ts";
import type { CallManager } from "../../src/call/manager.ts";
import { loadConfig, type Config } from "../../src/config.ts";
import { StandinServer, type StandinOptions } from "../support/gemini-spy.ts";
import { signBody } from "../../src/signing/sautikit.ts";
import { captureLog } from "../support/log.ts";
import type { RelayMetrics } from "../../src/metrics/registry.ts";
import type { Readiness } from "../../src/ops/readiness.ts";
import type { CallAdmission } from "../../src/admission/admission.ts";
import type { Records } from "../../src/records/index.ts";
import type { Relay } from "../../src/server.ts";
import { streamUrlFrom } from "../support/caller.ts";
import { removeSqlite, scratchSqliteFile } from "../support/scratch-db.ts";
import { until } from "../support/wait.ts";

export { until };

export const SECRET = "whsec_test_secret";
export { Caller, numberedPcm, PROTO } from "../support/caller.ts";

export interface Harness {
  config: Config;
  relay: Relay;
  calls: CallManager;
  metrics: RelayMetrics;
  readiness: Readiness;
  records: Records;
  admission: CallAdmission;
  outbound: Outbound;
  /** The handoff desk (notifications, a person on the line). */
  handoffs: HandoffService;
  standin: StandinServer;
  base: string;
  logs: string[];
  post(path: string, body: string, opts?: { type?: string; sig?: string | null }): Promise<Response>;
  /** Posts the voice webhook (dialed number `to`) and returns the stream URL from the XML (unescaped). */
  streamUrlFor(callId: string, to?: string): Promise<string>;
  stop(): Promise<void>;
  /** `await using h = await startHarness()`: relay and spy stop when the test scope ends. */
  [Symbol.asyncDispose](): Promise<void>;
}

export async function startHarness(
  env: Record<string, string> = {},
  standinOpts: Partial<StandinOptions> = {},
  opts: { router?: AgentRouter; alphaUrl?: boolean; clock?: Clock; outboundLoop?: boolean } = {},
): Promise<Harness> {
  const { log, lines: logs } = captureLog("debug");
  const standin = new StandinServer({ mode: "tone", speechRms: 30000, ...standinOpts });
  const standinUrl = await standin.start();
  // Each relay gets its own throwaway SQLite file unless the test names a database.
  const scratchDb = env.DATABASE_URL === undefined ? scratchSqliteFile() : undefined;
  const config = loadConfig({
    ...(scratchDb !== undefined ? { DATABASE_URL: `sqlite://${scratchDb}` } : {}),
    PORT: "0",
    HOST: "127.0.0.1",
    SAUTIKIT_WEBHOOK_SECRET: SECRET,
    STREAM_TOKEN_SECRET: "stream-secret",
    GEMINI_API_KEY: "test-key",
    GEMINI_LIVE_URL: opts.alphaUrl === true ? standinUrl.replace(".v1beta.", ".v1alpha.") : standinUrl,
    AGENT_GREETING: "",
    PREWARM_WAIT_MS: "3000",
    ...env,
  });
  // alphaUrl: GEMINI_LIVE_URL names the stand-in's v1alpha path (so GEMINI_AFFECTIVE_DIALOG and
  // GEMINI_PROACTIVE_AUDIO load), 2.5 sessions with either go there and every other session to v1beta, as main.ts
  // does with GeminiSettings.alphaUrl.
  const endpoint = {
    url: config.gemini.alphaUrl !== undefined ? standinUrl : config.gemini.liveUrl,
    alphaUrl: config.gemini.alphaUrl,
    apiKey: "test-key",
    label: config.gemini.model,
  };
  const { calls, relay, metrics, readiness, records, admission, outbound, handoffs } = assemble(config, endpoint, log, opts.router, {
    clock: opts.clock,
    outboundLoop: opts.outboundLoop,
  });
  // The stream URL must name the real port, known only after listening; the app reads publicUrl per request.
  if (!env.PUBLIC_URL) config.publicUrl = `http://127.0.0.1:${relay.port}`;
  const base = `http://127.0.0.1:${relay.port}`;
  let stopped: Promise<void> | undefined;
  const h: Harness = {
    config,
    relay,
    calls,
    metrics,
    readiness,
    records,
    admission,
    outbound,
    handoffs,
    standin,
    base,
    logs,
    post(path, body, opts = {}) {
      const headers: Record<string, string> = { "content-type": opts.type ?? "application/x-www-form-urlencoded" };
      const sig = opts.sig === undefined ? signBody(SECRET, body) : opts.sig;
      if (sig !== null) headers["x-sautikit-signature"] = sig;
      return fetch(base + path, { method: "POST", headers, body });
    },
    async streamUrlFor(callId, to = "+254700000002") {
      const res = await h.post("/voice", `sessionId=${encodeURIComponent(callId)}&callerNumber=%2B254700000001&destinationNumber=${encodeURIComponent(to)}`);
      return streamUrlFrom(await res.text());
    },
    // Idempotent: a test may stop the relay itself before its scope ends (and `await using` stops it again).
    stop() {
      stopped ??= (async () => {
        await relay.stop();
        await standin.stop();
        if (scratchDb !== undefined) removeSqlite(scratchDb);
      })();
      return stopped;
    },
    [Symbol.asyncDispose]() {
      return h.stop();
    },
  };
  return h;
}
