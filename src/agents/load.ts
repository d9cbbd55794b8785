// Reads the agents file (YAML or JSON by extension, parsed by Bun; a YAML mistake is located by the `yaml`
// library), resolves ${VAR} from the environment, checks it against the schema and builds the agents. Any problem is an AgentsFileError naming the file, the place in it
// (`agents[1].tools[0].url`) and what was expected; main.ts turns it into exit code 2, a reload into a refusal.
import { readFileSync } from "node:fs";
import { dirname, extname, resolve } from "node:path";
import { parseDocument } from "yaml";
import type { z } from "zod";
import { checkAnalysisSpec, type SchemaForm } from "../analysis/answer.ts";
import type { Agent, AnalysisSpec, HandoffSpec, RoutedAgent, TurnTaking } from "../call/agent.ts";
import type { AgentTuning } from "../config.ts";
import { toE164 } from "../phone-numbers.ts";
import { ToolSchemaError } from "../tools/schema-error.ts";
import { agentsFileSchema, type AgentEntry } from "./schema.ts";
import { buildTools, wantsWebSearch, withOutboundTools } from "./tools.ts";
import { INBOUND_VARIABLES, variablesIn } from "./variables.ts";

export class AgentsFileError extends Error {
  constructor(
    readonly file: string,
    /** One line per problem: "<path>: <what was expected>", or just the problem for the file as a whole. */
    readonly problems: string[],
  ) {
    super(`invalid agents file ${file}: ${problems.join("; ")}`);
  }
}

/** What agents inherit from the settings when the file does not say. */
export interface AgentDefaults extends Partial<AgentTuning> {
  model: string;
  voice: string;
  greeting: string;
  maxCallSeconds: number;
  /** RECORD_CALLS (absent = false) and RECORDING_NOTICE (absent = none). */
  record?: boolean;
  recordingNotice?: string;
}

/**
 * What the model provider checks once the agents are built (Gemini: each tool schema in GEMINI_TOOL_SCHEMA's
 * form). Throws ToolSchemaError naming the place; `path` is the agent's place in the file (`agents[1]`).
 */
export type AgentCheck = (agent: Agent, path: string) => void;

export interface LoadOptions {
  env: Record<string, string | undefined>;
  defaults: AgentDefaults;
  /** TOOL_SIGNING_SECRET: HTTP tool requests are signed when set. */
  toolSigningSecret: string | undefined;
  check?: AgentCheck | undefined;
  /** A secret signs call.handoff events (HANDOFF_WEBHOOK_SECRET or CALL_WEBHOOK_SECRET): `handoff` needs one. */
  handoffSigning?: boolean;
  /** SAUTIKIT_API_KEY is set: `handoff.live` needs it (supervision is a REST request). */
  sautikitApi?: boolean;
  /** ANALYSIS_SCHEMA: `analysis.data` must be one this form can state. */
  analysisSchemaForm?: SchemaForm;
}


type Path = ReadonlyArray<PropertyKey>;

/** ["agents", 1, "tools", 0, "url"] → "agents[1].tools[0].url". */
export function formatPath(path: Path): string {
  let out = "";
  for (const k of path) {
    if (typeof k === "number") out += `[${k}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(String(k))) out += (out === "" ? "" : ".") + String(k);
    else out += `[${JSON.stringify(String(k))}]`;
  }
  return out === "" ? "(top level)" : out;
}

function issueLine(i: z.core.$ZodIssue): string {
  if (i.code === "unrecognized_keys") {
    return i.keys.map((k) => `${formatPath([...i.path, k])}: unknown field (check its spelling)`).join("; ");
  }
  const missing = /^Invalid input: expected (\w+), received undefined$/.exec(i.message);
  const msg = missing ? `missing (expected ${missing[1]})` : i.message;
  return `${formatPath(i.path)}: ${msg}`;
}

const VAR = /\$\$\{|\$\{([^}]*)\}/g;

/** Replaces ${NAME} in every string value with the environment's value; `$${` stands for a literal `${`. */
export function expandVars(v: unknown, env: LoadOptions["env"], path: PropertyKey[] = [], problems: string[] = []): unknown {
  if (typeof v === "string") {
    return v.replace(VAR, (m, name: string | undefined) => {
      if (m === "$${") return "${";
      const n = (name ?? "").trim();
      if (!/^[A-Za-z_]\w*$/.test(n)) {
        problems.push(`${formatPath(path)}: expected \${NAME} with a variable name, got \${${n}}`);
        return m;
      }
      const value = env[n];
      if (value === undefined) {
        problems.push(`${formatPath(path)}: unknown environment variable ${n} (set it, or write $\${ for a literal \${)`);
        return m;
      }
      return value;
    });
  }
  if (Array.isArray(v)) return v.map((x, i) => expandVars(x, env, [...path, i], problems));
  if (typeof v === "object" && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = expandVars(x, env, [...path, k], problems);
    return out;
  }
  return v;
}

/**
 * Where a YAML text Bun refused goes wrong. Bun's YAML error says what but not where (its line and column are
 * those of the JavaScript call), so the maintained `yaml` library reads the text again, only on this path, for
 * the line, the column and its own words. Undefined when it finds no error where Bun did.
 */
function yamlMistake(text: string): string | undefined {
  const e = parseDocument(text).errors[0];
  const at = e?.linePos?.[0];
  if (e === undefined || at === undefined) return undefined;
  const what = e.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
  return `at line ${at.line}, column ${at.col}: ${what}`;
}

function parse(file: string, text: string): unknown {
  const ext = extname(file).toLowerCase();
  try {
    if (ext === ".yaml" || ext === ".yml") return Bun.YAML.parse(text);
    if (ext === ".json") return JSON.parse(text);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    if (ext === ".json") throw new AgentsFileError(file, [`not valid JSON: ${msg}`]);
    const where = yamlMistake(text);
    throw new AgentsFileError(file, [where === undefined ? `not valid YAML: ${msg}` : `not valid YAML ${where}`]);
  }
  throw new AgentsFileError(file, [`expected a .yaml, .yml or .json file, got "${ext || "no extension"}"`]);
}

function promptOf(a: AgentEntry, i: number, baseDir: string, file: string): string {
  if (a.prompt !== undefined) return a.prompt;
  const p = resolve(baseDir, a.promptFile!);
  try {
    const text = readFileSync(p, "utf8").trim();
    if (text === "") throw new Error("empty");
    return text;
  } catch {
    throw new AgentsFileError(file, [`${formatPath(["agents", i, "promptFile"])}: expected a readable, non-empty text file (looked at ${p})`]);
  }
}

/** Reads, checks and builds every agent of the file. Throws AgentsFileError. */
export function loadAgentsFile(file: string, o: LoadOptions): RoutedAgent[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new AgentsFileError(file, [`expected a readable file (${code ?? String(err)})`]);
  }
  const raw = parse(file, text);
  const problems: string[] = [];
  const expanded = expandVars(raw, o.env, [], problems);
  if (problems.length > 0) throw new AgentsFileError(file, problems);
  const r = agentsFileSchema.safeParse(expanded);
  if (!r.success) throw new AgentsFileError(file, r.error.issues.map(issueLine));
  const baseDir = dirname(resolve(file));
  const later: string[] = [];
  const analyses = r.data.agents.map((a, i) => {
    if (a.analysis === undefined) return undefined;
    const spec: AnalysisSpec = { summary: a.analysis.summary, success: a.analysis.success, data: a.analysis.data, model: a.analysis.model?.replace(/^models\//, "") };
    try {
      checkAnalysisSpec(spec, formatPath(["agents", i, "analysis"]), o.analysisSchemaForm ?? "json");
    } catch (e) {
      if (!(e instanceof ToolSchemaError)) throw e;
      later.push(e.message);
    }
    return spec;
  });
  const handoffs = r.data.agents.map((a, i): HandoffSpec | undefined => {
    const h = a.handoff;
    if (h === undefined) return undefined;
    if (o.handoffSigning === false) later.push(`${formatPath(["agents", i, "handoff"])}: needs a secret to sign its events: set HANDOFF_WEBHOOK_SECRET (or CALL_WEBHOOK_SECRET)`);
    if (h.live !== undefined && o.sautikitApi === false) later.push(`${formatPath(["agents", i, "handoff", "live"])}: needs SAUTIKIT_API_KEY (a person is brought on the line through Sautikit's API)`);
    return {
      notify: { url: h.notify.url, headers: h.notify.headers ?? {} },
      say: h.say,
      live: h.live === undefined ? undefined : { number: toE164(h.live.number)!, after: h.live.after },
      timeoutMs: h.timeoutMs,
    };
  });
  if (later.length > 0) throw new AgentsFileError(file, later);
  const d = o.defaults;
  let agents: RoutedAgent[];
  try {
    agents = r.data.agents.map((a, i): RoutedAgent => {
      const path = formatPath(["agents", i]);
      const tools = buildTools(a.tools, { signingSecret: o.toolSigningSecret, path: `${path}.tools`, handoffTimeoutMs: handoffs[i]?.timeoutMs });
      const agent: Agent = {
        name: a.name,
        model: (a.model ?? d.model).replace(/^models\//, ""),
        voice: a.voice ?? d.voice,
        prompt: promptOf(a, i, baseDir, file),
        greeting: a.greeting ?? d.greeting,
        tools: a.outbound === undefined ? tools : withOutboundTools(tools),
        maxCallSeconds: a.maxCallSeconds ?? d.maxCallSeconds,
        idleSeconds: a.idleSeconds ?? 0,
        // Field by field: an agent that sets only silenceDurationMs keeps the settings' sensitivities.
        turnTaking: { ...(d.turnTaking ?? {}), ...definedOnly(a.turnTaking ?? {}) },
        languages: a.language === undefined ? (d.languages ?? []) : [...new Set(Intl.getCanonicalLocales(a.language))],
        temperature: a.temperature ?? d.temperature,
        webSearch: wantsWebSearch(a.tools),
        record: a.record ?? d.record ?? false,
        recordingNotice: (a.recordingNotice ?? d.recordingNotice ?? "").trim(),
        ...(analyses[i] === undefined ? {} : { analysis: analyses[i] }),
        ...(handoffs[i] === undefined ? {} : { handoff: handoffs[i] }),
      };
      if (a.outbound !== undefined) agent.outbound = { from: toE164(a.outbound.from)!, greetAfterMs: a.outbound.greetAfterMs };
      if (a.voicemail !== undefined) agent.voicemail = { action: a.voicemail.action, message: a.voicemail.message ?? "" };
      o.check?.(agent, path);
      // An agent with `outbound` and no numbers answers no inbound call (it is not the default): no numbers routed.
      const numbers = a.numbers === undefined ? (a.outbound === undefined ? null : []) : a.numbers.map((n) => toE164(n)!);
      return { numbers, agent };
    });
  } catch (err) {
    if (err instanceof ToolSchemaError) throw new AgentsFileError(file, [err.message]);
    throw err;
  }
  const unfilled = agents.flatMap((e, i) => unfillable(e.agent, i));
  if (unfilled.length > 0) throw new AgentsFileError(file, unfilled);
  return agents;
}

function definedOnly(t: TurnTaking): TurnTaking {
  return Object.fromEntries(Object.entries(t).filter(([, v]) => v !== undefined));
}

/**
 * {{x}} that no call could ever fill: an agent that places no outbound calls only ever gets what an inbound call
 * supplies (caller, callee, date, time). An outbound agent's variables come with each request, which is checked then.
 */
function unfillable(a: RoutedAgent["agent"], i: number): string[] {
  if (a.outbound !== undefined) return [];
  const known = INBOUND_VARIABLES as readonly string[];
  const out: string[] = [];
  for (const [field, text] of [["prompt", a.prompt], ["greeting", a.greeting]] as const) {
    const bad = variablesIn(text).filter((n) => !known.includes(n));
    if (bad.length > 0) {
      out.push(
        `${formatPath(["agents", i, field])}: ${bad.map((n) => `{{${n}}}`).join(", ")} can never be filled: this agent places no outbound calls (no \`outbound\`), and inbound calls supply only ${known.join(", ")}`,
      );
    }
  }
  return out;
}
