// Entry point: settings, logger, model endpoint (Gemini, or the offline stand-in), one Bun.serve.
import { CallManager, type Model } from "./call/manager.ts";
import { ConfigError, loadConfig, type Config } from "./config.ts";
import { startOfflineStandin } from "./gemini/index.ts";
import { createLogger, type Logger } from "./log.ts";
import { startRelay } from "./server.ts";

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

async function modelEndpoint(config: Config, log: Logger): Promise<{ model: Model; stop: () => Promise<void> }> {
  if (config.geminiApiKey) {
    return { model: { url: config.geminiLiveUrl, apiKey: config.geminiApiKey, label: config.geminiModel }, stop: async () => {} };
  }
  const standin = await startOfflineStandin(log.child({ component: "standin" }));
  log.warn(
    "OFFLINE MODE: GEMINI_API_KEY is not set, so calls talk to a local echo stand-in, not Gemini. Set GEMINI_API_KEY for real calls.",
  );
  return { model: { url: standin.url, apiKey: "offline", label: "offline" }, stop: standin.stop };
}

async function main(): Promise<void> {
  const config = readConfig();
  const log = createLogger(config.logLevel);
  if (config.streamTokenSecretGenerated) {
    log.warn("STREAM_TOKEN_SECRET is not set: using a random per-process secret; several instances need one shared value");
  }
  if (!config.webhookSecret) log.warn("SAUTIKIT_WEBHOOK_SECRET is not set: webhook signatures are not checked");
  if (!config.sautikitApiKey) log.warn("SAUTIKIT_API_KEY is not set: a failed model session cannot hang up its call");

  const { model, stop: stopModel } = await modelEndpoint(config, log);
  const calls = new CallManager(config, model, log);
  const relay = startRelay(config, log, calls, model.label);
  log.info({ port: relay.port, host: config.host, publicUrl: config.publicUrl, model: model.label }, "sauti-relay listening");

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

// No top-level await: `bun build --bytecode` compiles to CommonJS, which has none.
main().catch((err: unknown) => {
  process.stderr.write(`sauti-relay: ${String(err)}\n`);
  process.exit(1);
});
