// What one agent sends Gemini, worked out once per agent: its function declarations in GEMINI_TOOL_SCHEMA's form
// (docs/gemini-live.md#tool-schemas), the scheduling of its non-blocking results, whether its sessions need the
// v1alpha endpoint, and which of its settings its model generation does not take (said once, at load).
// The agents loader runs it as the provider's check (geminiAgentCheck), so a schema the form cannot carry stops
// the file from loading; calls then reuse the cached plan.
import type { Agent, ToolDeclaration } from "../call/agent.ts";
import type { GeminiSettings } from "../config.ts";
import type { Logger } from "../log.ts";
import { schemaPath } from "../tools/schema-error.ts";
import type { FunctionDeclaration, Scheduling } from "./protocol.ts";
import { CALL_MODES, modelFamily, takesAlphaTuning, type CallMode, type ModelFamily, type ModelTuning, type SetupParams } from "./setup.ts";
import { declarationParameters, type LeftOut, type ToolSchemaForm } from "./tool-schema.ts";

export interface AgentPlan {
  family: ModelFamily;
  declarations: FunctionDeclaration[];
  /** FunctionResponse.scheduling per tool name, for tools the model calls NON_BLOCKING because we said so. */
  scheduling: Map<string, Scheduling>;
  /** 2.5 with GEMINI_AFFECTIVE_DIALOG or GEMINI_PROACTIVE_AUDIO set: its sessions dial the v1alpha endpoint. */
  alpha: boolean;
  /** Keywords the openapi form leaves out (the argument check still applies them). */
  leftOut: Array<LeftOut & { tool: string }>;
  /** Settings of this agent its model does not take, for a person to read. */
  ignored: string[];
}

const MODE: Record<string, CallMode> = { blocking: "BLOCKING", non_blocking: "NON_BLOCKING" };
const SCHEDULING: Record<string, Scheduling> = { interrupt: "INTERRUPT", when_idle: "WHEN_IDLE", silent: "SILENT" };

function declaration(t: ToolDeclaration, form: ToolSchemaForm, family: ModelFamily, plan: AgentPlan): FunctionDeclaration {
  const out: FunctionDeclaration = { name: t.name };
  if (t.description !== undefined) out.description = t.description;
  if (t.parameters !== undefined) {
    const where = schemaPath(t.origin ?? t.name, ["parameters"]);
    const p = declarationParameters(form, t.parameters, where);
    Object.assign(out, p.fields);
    for (const l of p.leftOut) plan.leftOut.push({ ...l, tool: t.name });
  }
  if (t.behavior !== undefined) {
    const mode = MODE[t.behavior]!;
    const modes = CALL_MODES[family];
    if (modes.modes.includes(mode)) {
      out.behavior = mode;
      if (mode === "NON_BLOCKING") plan.scheduling.set(t.name, SCHEDULING[t.scheduling ?? "when_idle"]!);
    } else {
      plan.ignored.push(`tool ${t.name}: behavior ${t.behavior} (${family} calls functions ${modes.default === "BLOCKING" ? "blocking" : "non-blocking"} only)`);
    }
  }
  return out;
}

/** Throws ToolSchemaError naming the place of a schema the chosen form cannot carry. */
export function planAgent(agent: Agent, s: Pick<GeminiSettings, "toolSchema" | "tuning">): AgentPlan {
  const family = modelFamily(agent.model);
  const t: ModelTuning = s.tuning;
  const alphaAsked = t.affectiveDialog !== undefined || t.proactiveAudio !== undefined;
  const plan: AgentPlan = { family, declarations: [], scheduling: new Map(), alpha: alphaAsked && takesAlphaTuning(family), leftOut: [], ignored: [] };
  plan.declarations = agent.tools.map((tool) => declaration(tool.declaration, s.toolSchema, family, plan));
  if (alphaAsked && !takesAlphaTuning(family)) {
    if (t.affectiveDialog !== undefined) plan.ignored.push(`GEMINI_AFFECTIVE_DIALOG (2.5 native audio only; ${family} does not take it)`);
    if (t.proactiveAudio !== undefined) plan.ignored.push(`GEMINI_PROACTIVE_AUDIO (2.5 native audio only; ${family} does not take it)`);
  }
  return plan;
}

/** What every setup of the agent's sessions says (all but the resumption handle): the leg and `check` use it. */
export function agentSetupParams(agent: Agent, s: Pick<GeminiSettings, "toolSchema" | "tuning">): Omit<SetupParams, "handle"> {
  return {
    model: agent.model,
    voice: agent.voice,
    prompt: agent.prompt,
    tools: agentPlan(agent, s).declarations,
    search: agent.webSearch === true,
    tuning: s.tuning,
    turnTaking: agent.turnTaking,
    languages: agent.languages,
    temperature: agent.temperature,
  };
}

const cache = new WeakMap<Agent, { key: string; plan: AgentPlan }>();

/** planAgent, once per agent and settings. */
export function agentPlan(agent: Agent, s: Pick<GeminiSettings, "toolSchema" | "tuning">): AgentPlan {
  const key = `${s.toolSchema} ${JSON.stringify(s.tuning)}`;
  const hit = cache.get(agent);
  if (hit !== undefined && hit.key === key) return hit.plan;
  const plan = planAgent(agent, s);
  cache.set(agent, { key, plan });
  return plan;
}

/**
 * The agents loader's provider check: plans each agent (a ToolSchemaError refuses the file) and logs, once per
 * agent and load, what the openapi form left out (paths only, never values) and which settings its model ignores.
 */
export function geminiAgentCheck(s: Pick<GeminiSettings, "toolSchema" | "tuning">, log: Logger | undefined): (agent: Agent) => void {
  return (agent) => {
    const plan = agentPlan(agent, s);
    if (log === undefined) return;
    for (const [tool, paths] of groupBy(plan.leftOut)) {
      log.info({ agent: agent.name, tool, leftOut: paths }, "tool schema: keywords Gemini's Schema lacks are left out of what the model sees; the argument check still applies them");
    }
    if (plan.ignored.length > 0) log.warn({ agent: agent.name, model: agent.model, ignored: plan.ignored }, "agent settings its model does not take are not sent");
  };
}

function groupBy(list: AgentPlan["leftOut"]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const l of list) m.set(l.tool, [...(m.get(l.tool) ?? []), l.path]);
  return m;
}
