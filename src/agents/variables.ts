// Call variables: `{{name}}` in an agent's prompt, greeting and voicemail message, filled per call. Outbound
// requests and campaign rows bring their own; every call gets `caller` and `callee`, and inbound calls also `date`
// and `time` (local, CALL_TIMEZONE, when the call is set up). An outbound call gets date and time only from its
// request, so an appointment's {{time}} left out is refused, never silently the current time. One pass over the
// text: a value is inserted as plain text and never read again as a template, so "{{x}}" in a value stays so.
import type { Agent, CallParties } from "../call/agent.ts";
import type { CallVariables } from "../call/data.ts";

/** `{{ name }}`: a letter or _, then letters, digits, _ . - (at most 64); spaces inside the braces are allowed. */
const VARIABLE = /\{\{\s*([A-Za-z_][\w.-]{0,63})\s*\}\}/g;

export const VARIABLE_NAME = /^[A-Za-z_][\w.-]{0,63}$/;

/** What every call supplies, whoever placed it. */
export const CALL_VARIABLES = ["caller", "callee"] as const;
/** What an inbound call supplies. */
export const INBOUND_VARIABLES = ["caller", "callee", "date", "time"] as const;

/** The distinct variable names `text` uses, in order of first use. */
export function variablesIn(text: string): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(VARIABLE)) out.add(m[1]!);
  return [...out];
}

/** `text` with each `{{name}}` replaced by its value; names without a value become "" and are listed in `missing`. */
export function fill(text: string, vars: CallVariables, missing?: Set<string>): string {
  if (!text.includes("{{")) return text;
  return text.replace(VARIABLE, (_, name: string) => {
    const v = vars[name];
    if (v !== undefined) return v;
    missing?.add(name);
    return "";
  });
}

/** The texts of an agent that take variables. */
function texts(a: Pick<Agent, "prompt" | "greeting" | "voicemail">): string[] {
  return [a.prompt, a.greeting, a.voicemail?.message ?? ""];
}

/** Every variable an agent's texts use. */
export function agentVariables(a: Pick<Agent, "prompt" | "greeting" | "voicemail">): string[] {
  return [...new Set(texts(a).flatMap(variablesIn))];
}

/** What an outbound request must give for `a`: the variables its texts use but caller and callee. */
export function requiredVariables(a: Pick<Agent, "prompt" | "greeting" | "voicemail">): string[] {
  return agentVariables(a).filter((n) => !(CALL_VARIABLES as readonly string[]).includes(n));
}

/** The call's own agent: prompt, greeting and voicemail message filled with `vars`. */
export function renderAgent(a: Agent, vars: CallVariables): { agent: Agent; missing: string[] } {
  const missing = new Set<string>();
  const agent: Agent = { ...a, prompt: fill(a.prompt, vars, missing), greeting: fill(a.greeting, vars, missing) };
  if (a.voicemail !== undefined) agent.voicemail = { ...a.voicemail, message: fill(a.voicemail.message, vars, missing) };
  return { agent, missing: [...missing] };
}

const dateFormats = new Map<string, { date: Intl.DateTimeFormat; time: Intl.DateTimeFormat }>();

function formats(timeZone: string): { date: Intl.DateTimeFormat; time: Intl.DateTimeFormat } {
  let f = dateFormats.get(timeZone);
  if (f === undefined) {
    f = {
      date: new Intl.DateTimeFormat("en-GB", { timeZone, weekday: "long", day: "numeric", month: "long", year: "numeric" }),
      time: new Intl.DateTimeFormat("en-GB", { timeZone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" }),
    };
    dateFormats.set(timeZone, f);
  }
  return f;
}

/** True when Intl knows the IANA time zone (e.g. "Africa/Nairobi"). */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-GB", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** What an inbound call gets: `caller`, `callee`, `date` ("Monday, 5 January 2026") and `time` ("14:05") in `timeZone`. */
export function callVariables(caller: string, callee: string, now: number, timeZone: string): CallVariables {
  const f = formats(timeZone);
  const d = new Date(now);
  return { caller, callee, date: f.date.format(d), time: f.time.format(d) };
}

/** An inbound call's parties: the routed agent with its texts filled with what every call supplies. */
export function inboundParties(agent: Agent, caller: string, callee: string, now: number, timeZone: string): CallParties {
  const variables = callVariables(caller, callee, now, timeZone);
  return { caller, callee, agent: renderAgent(agent, variables).agent, purpose: { direction: "inbound", attemptId: null, variables } };
}
