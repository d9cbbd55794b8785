// Where a process's agents come from: the agents file when AGENTS_FILE is set, otherwise one default agent built
// from the settings (so nothing changes for deployments without a file). SIGHUP reloads the file.
import type { AgentRouter } from "../call/agent.ts";
import type { CallManager } from "../call/manager.ts";
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import { singleAgent } from "../call/agent.ts";
import { defaultAgent } from "./default-agent.ts";
import { AgentsFileError, loadAgentsFile, type AgentCheck } from "./load.ts";
import { NumberRouter } from "./router.ts";

export { AgentsFileError, type AgentCheck };

/**
 * Builds the router from the settings; throws AgentsFileError when the agents file is not valid. `check` is the
 * model provider's look at each agent (main.ts and assemble.ts pass Gemini's), so what the provider cannot send
 * is refused here, with the file, and never on a call.
 */
export function agentRouter(config: Config, env: Record<string, string | undefined> = process.env, check?: AgentCheck): AgentRouter {
  if (config.agentsFile === undefined) {
    const agent = defaultAgent(config);
    check?.(agent, "the default agent");
    return singleAgent(agent);
  }
  return new NumberRouter(
    loadAgentsFile(config.agentsFile, {
      env,
      defaults: {
        model: config.gemini.model,
        voice: config.gemini.voice,
        greeting: config.agentGreeting,
        maxCallSeconds: config.maxCallSeconds,
        record: config.recordings.recordByDefault,
        recordingNotice: config.recordings.notice,
        ...config.agentTuning,
      },
      toolSigningSecret: config.toolSigningSecret,
      check,
      handoffSigning: config.handoff.secret !== undefined,
      sautikitApi: config.sautikitApiKey !== undefined,
      analysisSchemaForm: config.analysis.schemaForm,
    }),
  );
}

/** For the log: which agents there are and which one is the default. */
export function describeRouter(r: AgentRouter): Record<string, unknown> {
  const list = r.list();
  return { agents: list.map((e) => e.agent.name), default: list.find((e) => e.numbers === null)?.agent.name ?? null };
}

/**
 * Re-reads the agents file and swaps the manager's router. A file that does not load is refused: the log says why
 * and the agents in use stay. Calls in progress keep the agent they started with (each call holds its Agent).
 */
export function reloadAgents(
  config: Config,
  calls: CallManager,
  log: Logger,
  env: Record<string, string | undefined> = process.env,
  check?: AgentCheck,
): boolean {
  if (config.agentsFile === undefined) {
    log.info("SIGHUP: no AGENTS_FILE configured, nothing to reload");
    return false;
  }
  try {
    calls.router = agentRouter(config, env, check);
  } catch (err) {
    // Whatever went wrong, a reload never takes the process down.
    const problems = err instanceof AgentsFileError ? err.problems : [String(err)];
    log.error({ file: config.agentsFile, problems }, "agents file reload refused; the agents in use stay");
    return false;
  }
  log.info({ file: config.agentsFile, ...describeRouter(calls.router) }, "agents file reloaded");
  return true;
}
