// Checking what an API request asks to call: the agent, the number, the variables. Each refusal names the field
// (the HTTP answer is 400 with it), so a request is fixed without guessing.
import { requiredVariables, VARIABLE_NAME } from "../agents/variables.ts";
import type { Agent } from "../call/agent.ts";
import type { CallVariables } from "../call/data.ts";
import { toE164 } from "../phone-numbers.ts";

export class FieldError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export const MAX_VARIABLES = 100;
export const MAX_VARIABLE_CHARS = 2000;

/** An agent that may place calls: known by name, with an `outbound.from` number. */
export function outboundAgent(name: unknown, agents: readonly Agent[], field = "agent"): Agent & { outbound: NonNullable<Agent["outbound"]> } {
  if (typeof name !== "string" || name === "") throw new FieldError(field, "expected the name of an agent from the agents file");
  const a = agents.find((x) => x.name === name);
  if (a === undefined) throw new FieldError(field, `no agent named ${JSON.stringify(name.slice(0, 64))}`);
  if (a.outbound === undefined) throw new FieldError(field, `agent ${JSON.stringify(a.name)} has no outbound.from number: add \`outbound: {from: "+254…"}\` to it in the agents file`);
  return a as Agent & { outbound: NonNullable<Agent["outbound"]> };
}

/** A number to call, in E.164. */
export function callee(v: unknown, field = "to"): string {
  const n = typeof v === "string" ? toE164(v) : undefined;
  if (n === undefined) throw new FieldError(field, 'expected a phone number in E.164 form, like "+254712345678"');
  return n;
}

/** Variables as plain strings (numbers and booleans are written out); names as the templates spell them. */
export function variables(v: unknown, field = "variables"): CallVariables {
  if (v === undefined || v === null) return {};
  if (typeof v !== "object" || Array.isArray(v)) throw new FieldError(field, "expected an object of name: value");
  const entries = Object.entries(v as Record<string, unknown>);
  if (entries.length > MAX_VARIABLES) throw new FieldError(field, `expected at most ${MAX_VARIABLES} variables`);
  const out: CallVariables = {};
  for (const [k, x] of entries) {
    if (!VARIABLE_NAME.test(k)) throw new FieldError(`${field}.${k.slice(0, 64)}`, "expected a name of a letter or _, then letters, digits, _ . - (at most 64)");
    if (typeof x !== "string" && typeof x !== "number" && typeof x !== "boolean") throw new FieldError(`${field}.${k}`, "expected text (or a number)");
    const s = String(x);
    if (s.length > MAX_VARIABLE_CHARS) throw new FieldError(`${field}.${k}`, `expected at most ${MAX_VARIABLE_CHARS} characters`);
    out[k] = s;
  }
  return out;
}

/** Every variable the agent's texts need is there and not empty (what every call supplies aside). */
export function checkVariables(agent: Agent, vars: CallVariables, field = "variables"): void {
  for (const name of requiredVariables(agent)) {
    if (vars[name] === undefined || vars[name] === "") throw new FieldError(`${field}.${name}`, `agent ${JSON.stringify(agent.name)} uses {{${name}}} in its prompt, greeting or voicemail message, and no value was given`);
  }
}
