// Entry point: settings, logger, agents, model provider (Gemini, or the offline echo model), one Bun.serve, and
// the drain that SIGTERM/SIGINT start (ops/drain.ts).
import { agentRouter, AgentsFileError, describeRouter, reloadAgents, type AgentCheck } from "./agents/index.ts";
import { assemble } from "./assemble.ts";
import type { AgentRouter } from "./call/agent.ts";
import { ConfigError, loadConfig, type Config } from "./config.ts";
import { geminiAgentCheck, startOfflineModel, type GeminiEndpoint } from "./gemini/index.ts";
import { localBaseUrl } from "./http/local-url.ts";
import { createLogger, type Logger } from "./log.ts";
import { IdleCollector } from "./memory/idle-collect.ts";
import { runCheck } from "./ops/check.ts";
import { Drain, handleSignals } from "./ops/drain.ts";

function readConfig(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`sauti-relay: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

/** The agents, read before anything starts: an invalid agents file exits 2 naming the file and the places in it. */
function readAgents(config: Config, check: AgentCheck): AgentRouter {
  try {
    return agentRouter(config, process.env, check);
  } catch (err) {
    if (err instanceof AgentsFileError) {
      process.stderr.write(`sauti-relay: invalid agents file ${err.file}\n${err.problems.map((p) => `  ${p}\n`).join("")}`);
      process.exit(2);
    }
    throw err;
  }
}

/** Starts the server; a port another process listens on exits 2 (sharing it is REUSE_PORT's job, on purpose). */
function listen<T>(start: () => T, config: Config): T {
  try {
    return start();
  } catch (err) {
    if ((err as { code?: string }).code === "EADDRINUSE") {
      process.stderr.write(
        `sauti-relay: port ${config.port} on ${config.host} is already in use (is an older sauti-relay still running?): stop that process, set another PORT, or set REUSE_PORT=true on every process meant to share the port\n`,
      );
      process.exit(2);
    }
    throw err;
  }
}

async function modelEndpoint(config: Config, log: Logger): Promise<{ endpoint: GeminiEndpoint; stop: () => Promise<void> }> {
  const g = config.gemini;
  if (g.apiKey) {
    return { endpoint: { url: g.liveUrl, alphaUrl: g.alphaUrl, apiKey: g.apiKey, label: g.model }, stop: async () => {} };
  }
  const offline = await startOfflineModel(log.child({ component: "offline-model" }));
  log.warn(
    "OFFLINE MODE: GEMINI_API_KEY is not set, so calls talk to a local echo model, not Gemini. Set GEMINI_API_KEY for real calls.",
  );
  return { endpoint: { url: offline.url, apiKey: "offline", label: "offline" }, stop: offline.stop };
}

async function main(): Promise<void> {
  const config = readConfig();
  const log = createLogger(config.logLevel);
  // Gemini's look at each agent (tool schemas in GEMINI_TOOL_SCHEMA's form), at start and at every reload.
  const check = geminiAgentCheck(config.gemini, log);
  const router = readAgents(config, check);
  if (config.streamTokenSecretGenerated) {
    log.warn("STREAM_TOKEN_SECRET is not set: using a random per-process secret; several instances need one shared value");
  }
  if (!config.webhookSecret) {
    log.warn(
      config.gemini.apiKey
        ? "SAUTIKIT_WEBHOOK_SECRET is not set and ALLOW_UNSIGNED_WEBHOOKS=true: webhook signatures are not checked; anyone who can reach the webhook can open billed Gemini sessions"
        : "SAUTIKIT_WEBHOOK_SECRET is not set: webhook signatures are not checked",
    );
  }
  if (!config.sautikitApiKey) {
    // Said once here; each such call then logs only at info.
    log.warn(
      "SAUTIKIT_API_KEY is not set: calls the relay has to end (model failed or stalled, media lost, limits, shutdown) cannot be hung up; their callers stay on dead air until they hang up. No outbound call or campaign can be placed either",
    );
  }

  const { endpoint, stop: stopModel } = await modelEndpoint(config, log);
  const { calls, relay, readiness, admission, outbound } = listen(() => assemble(config, endpoint, log, router), config);
  log.info({ port: relay.port, host: config.host, publicUrl: config.publicUrl, model: endpoint.label }, "sauti-relay listening");
  log.info(
    {
      url: `${localBaseUrl(config.host, relay.port)}/console`,
      // Without ADMIN_TOKEN only this machine's loopback gets in; with it, the API wants the token.
      access: config.records.adminToken === undefined ? "loopback only (ADMIN_TOKEN unset)" : "Bearer ADMIN_TOKEN",
    },
    "console: open this URL in a browser on this machine",
  );
  log.info({ file: config.agentsFile ?? null, ...describeRouter(router) }, "agents loaded");
  // SIGHUP re-reads the agents file; a broken file is refused and the agents in use stay.
  process.on("SIGHUP", () => void reloadAgents(config, calls, log, process.env, check));
  if (config.idleGc) {
    const mlog = log.child({ component: "memory" });
    const idle = new IdleCollector({
      activeCalls: () => calls.activeCalls,
      rss: () => process.memoryUsage.rss(),
      collect: () => Bun.gc(true),
      collected: (c) => mlog.debug({ ms: Math.round(c.ms * 10) / 10, rssBeforeMiB: mib(c.rssBefore), rssAfterMiB: mib(c.rssAfter) }, "idle: garbage collected"),
    });
    calls.events.subscribe((e) => {
      if (e.type === "started") idle.callStarted();
      else if (e.type === "ended") idle.callEnded();
    });
  }

  const drain = new Drain({
    calls,
    requests: relay.requests,
    stopAdmitting: () => admission.close(),
    timeoutMs: config.drainTimeoutS * 1000,
    log: log.child({ component: "drain" }),
    stop: async () => {
      await relay.stop();
      await stopModel();
    },
    exit: (code) => process.exit(code),
  });
  readiness.add("draining", () => drain.draining);
  // Flushers run in this order once no call is left. Records and end-of-call deliveries register theirs after
  // this one, so they see every call's last events.
  drain.onBeforeExit("call events", () => calls.events.flush());
  // The first signal stops dialing at once (no new outbound call, no campaign contact claimed); calls in progress
  // finish with the drain, and attempts still ringing are followed by whichever instance takes them over.
  for (const sig of ["SIGTERM", "SIGINT"] as const) process.on(sig, () => outbound.stopDialing());
  handleSignals(drain);
}

const mib = (b: number) => Math.round(b / 104857.6) / 10;
// `sauti-relay check`: validate and print, start nothing (src/ops/check.ts).
if (process.argv[2] === "check") {
  process.exit(runCheck(process.env, (s) => process.stdout.write(s), (s) => process.stderr.write(s)));
}

// No top-level await: `bun build --bytecode` compiles to CommonJS, which has none (docs/bun.md#bytecode-and-top-level-await).
main().catch((err: unknown) => {
  process.stderr.write(`sauti-relay: ${String(err)}\n`);
  process.exit(1);
});
