// Entry point: settings, logger, model provider (Gemini, or the offline echo model), one Bun.serve.
import { assemble } from "./assemble.ts";
import { ConfigError, loadConfig, type Config } from "./config.ts";
import { startOfflineModel, type GeminiEndpoint } from "./gemini/index.ts";
import { createLogger, type Logger } from "./log.ts";

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

async function modelEndpoint(config: Config, log: Logger): Promise<{ endpoint: GeminiEndpoint; stop: () => Promise<void> }> {
  if (config.gemini.apiKey) {
    return { endpoint: { url: config.gemini.liveUrl, apiKey: config.gemini.apiKey, label: config.gemini.model }, stop: async () => {} };
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
  if (config.streamTokenSecretGenerated) {
    log.warn("STREAM_TOKEN_SECRET is not set: using a random per-process secret; several instances need one shared value");
  }
  if (!config.webhookSecret) log.warn("SAUTIKIT_WEBHOOK_SECRET is not set: webhook signatures are not checked");
  if (!config.sautikitApiKey) {
    // Said once here; each such call then logs only at info.
    log.warn(
      "SAUTIKIT_API_KEY is not set: calls the relay has to end (model failed or stalled, media lost, limits, shutdown) cannot be hung up; their callers stay on dead air until they hang up",
    );
  }

  const { endpoint, stop: stopModel } = await modelEndpoint(config, log);
  const { calls, relay } = assemble(config, endpoint, log);
  log.info({ port: relay.port, host: config.host, publicUrl: config.publicUrl, model: endpoint.label }, "sauti-relay listening");

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, activeCalls: calls.activeCalls }, "shutting down");
    await relay.stop();
    await stopModel();
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

// No top-level await: `bun build --bytecode` compiles to CommonJS, which has none (docs/bun.md#bytecode-and-top-level-await).
main().catch((err: unknown) => {
  process.stderr.write(`sauti-relay: ${String(err)}\n`);
  process.exit(1);
});
