// `sauti-relay check` (and `bun run check`): reads the settings and the agents file exactly as a start does,
// including the model provider's look at each agent, and prints what every agent would be: its numbers, its
// settings, its tools and the setup message its Gemini sessions would open with. Nothing is started and nothing
// is sent. Secrets stay out of the output: header values, URL credentials and query values are masked, the API
// key is only said to be set. Exit 0 when everything loads, 2 (naming the setting or the place in the file) when
// something does not.
import { agentRouter, AgentsFileError, type AgentCheck } from "../agents/index.ts";
import type { Agent, RoutedAgent } from "../call/agent.ts";
import { ConfigError, loadConfig, type Config } from "../config.ts";
import { agentPlan, agentSetupParams } from "../gemini/agent-plan.ts";
import { buildSetup } from "../gemini/setup.ts";
import { END_CALL } from "../tools/end-call.ts";
import { HttpTool, maskUrl } from "../tools/http-tool.ts";

const MASK = "****";

function describeTool(a: Agent, i: number): string[] {
  const t = a.tools[i]!;
  const d = t.declaration;
  const mode = d.behavior === undefined ? "" : `, ${d.behavior}${d.scheduling !== undefined ? ` (results ${d.scheduling})` : ""}`;
  if (t instanceof HttpTool) {
    const x = t.target();
    const headers = x.headerNames.length === 0 ? "" : `, headers ${x.headerNames.map((h) => `${h}: ${MASK}`).join(", ")}`;
    return [`${d.name}: POST ${x.url}, timeout ${t.timeoutMs} ms${headers}${x.signed ? ", signed" : ""}${mode}`];
  }
  return [`${d.name}: built in${d.name === END_CALL ? " (hangs up once the goodbye is heard)" : ""}${mode}`];
}

function tuningLines(a: Agent): string[] {
  const tt = a.turnTaking ?? {};
  const fields = Object.entries(tt).filter(([, v]) => v !== undefined);
  return [
    `turn-taking: ${fields.length === 0 ? "the model's defaults" : fields.map(([k, v]) => `${k} ${v}`).join(", ")}`,
    `language: ${(a.languages ?? []).length === 0 ? "the model picks" : a.languages!.join(", ")}`,
    `temperature: ${a.temperature ?? "the model's default"}`,
  ];
}

function describeAgent(r: RoutedAgent, config: Config): string[] {
  const a = r.agent;
  const plan = agentPlan(a, config.gemini);
  const out = [
    `agent ${a.name}`,
    `  numbers: ${r.numbers === null ? "every number no other agent has (the default agent)" : r.numbers.join(", ")}`,
    `  model: ${a.model} (${plan.family}${plan.alpha ? ", on the v1alpha endpoint" : ""}), voice ${a.voice}`,
    `  maxCallSeconds: ${a.maxCallSeconds}, idleSeconds: ${a.idleSeconds}, greeting: ${a.greeting === "" ? "none (the caller speaks first)" : JSON.stringify(a.greeting)}`,
    ...tuningLines(a).map((l) => `  ${l}`),
    `  tools:${a.tools.length === 0 && a.webSearch !== true ? " none" : ""}`,
    ...a.tools.flatMap((_, i) => describeTool(a, i)).map((l) => `    ${l}`),
    ...(a.webSearch === true ? ["    google_search: built in, run by Google (search grounding)"] : []),
  ];
  if (plan.leftOut.length > 0) {
    out.push(`  left out of what Gemini sees (GEMINI_TOOL_SCHEMA=openapi; the argument check still applies them):`);
    for (const l of plan.leftOut) out.push(`    ${l.path}`);
  }
  if (plan.ignored.length > 0) {
    out.push("  not sent (its model does not take them):");
    for (const l of plan.ignored) out.push(`    ${l}`);
  }
  const setup = buildSetup(agentSetupParams(a, config.gemini));
  out.push("  setup message:", ...JSON.stringify(setup, null, 2).split("\n").map((l) => `    ${l}`));
  return out;
}

/** Runs the check; writes the report to `out` and problems to `err`; returns the exit code. */
export function runCheck(env: Record<string, string | undefined>, out: (s: string) => void, err: (s: string) => void): number {
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) {
      err(`sauti-relay check: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  // The provider's check, without a log: its findings are printed per agent below.
  const check: AgentCheck = (a) => void agentPlan(a, config.gemini);
  let routed: RoutedAgent[];
  try {
    routed = agentRouter(config, env, check).list();
  } catch (e) {
    if (e instanceof AgentsFileError) {
      err(`sauti-relay check: invalid agents file ${e.file}\n${e.problems.map((p) => `  ${p}\n`).join("")}`);
      return 2;
    }
    throw e;
  }
  const g = config.gemini;
  const lines = [
    "sauti-relay check: the settings and the agents are valid.",
    "",
    `model endpoint: ${g.apiKey === undefined ? "offline mode (GEMINI_API_KEY is not set: a local echo model)" : `${maskUrl(g.liveUrl)} (GEMINI_API_KEY set)`}`,
    ...(g.alphaUrl !== undefined ? [`v1alpha endpoint (2.5 with affective dialog or proactive audio): ${maskUrl(g.alphaUrl)}`] : []),
    `tool schemas: ${g.toolSchema} (GEMINI_TOOL_SCHEMA)`,
    `agents: ${config.agentsFile ?? "one default agent from the settings (AGENTS_FILE is not set)"}`,
    `tool requests: ${config.toolSigningSecret === undefined ? "unsigned (TOOL_SIGNING_SECRET is not set)" : "signed"}`,
  ];
  for (const r of routed) lines.push("", ...describeAgent(r, config));
  out(`${lines.join("\n")}\n`);
  return 0;
}
