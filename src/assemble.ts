// Wires one relay from its settings: the model provider's leg factory, the agents, the call manager and the
// server. main.ts and the tests assemble the relay the same way.
import { defaultAgent } from "./agents/default-agent.ts";
import { CallManager, singleAgent, type AgentRouter } from "./call/manager.ts";
import type { Config } from "./config.ts";
import { geminiLegFactory, type GeminiEndpoint } from "./gemini/index.ts";
import type { Logger } from "./log.ts";
import { startRelay, type Relay, type RelayOptions } from "./server.ts";

export interface Assembled {
  calls: CallManager;
  relay: Relay;
}

export function assemble(config: Config, endpoint: GeminiEndpoint, log: Logger, router?: AgentRouter, relayOpts: RelayOptions = {}): Assembled {
  const calls = new CallManager({
    settings: config,
    legs: geminiLegFactory(config.gemini, endpoint),
    router: router ?? singleAgent(defaultAgent(config)),
    prewarm: config.prewarm,
    prewarmWaitMs: config.prewarmWaitMs,
    prewarmIdleMs: config.prewarmIdleMs,
    modelLabel: endpoint.label,
    maxCalls: config.maxCalls,
    log,
  });
  const relay = startRelay(config, log, calls, endpoint.label, relayOpts);
  return { calls, relay };
}
