// What a call needs to know about the agent that answers it: how it sounds, what it is told, what it may do.
// Where agents come from (the settings or the agents file, src/agents/) is not the call layer's business.
import type { Logger } from "../log.ts";
import type { Parties } from "./data.ts";

/** A function the model may call, declared in the provider-neutral JSON-schema form. */
export interface ToolDeclaration {
  name: string;
  description?: string;
  /** JSON Schema (OpenAPI subset) of the arguments object. */
  parameters?: Record<string, unknown>;
}

/** What a running tool may do to its call. */
export interface CallControl {
  /** Ends the call politely: the agent finishes what it is saying, the caller hears all of it, then hang-up. */
  endCall(reason: "agent_end_call", detail?: string): void;
  /** The handoff tool: tells a person about the call (and, with `handoff.live`, asks for one on the line); resolves
   *  with what the model should hear, by `deadline` (performance.now()). Absent where no handoff desk is wired. */
  handOff?(reason: string, summary: string, deadline: number): Promise<Record<string, unknown>>;
}

/** Handed to every tool run. The tool must stop when `signal` aborts (cancelled by the model, or past deadline). */
export interface ToolContext {
  callId: string;
  agent: string;
  caller: string;
  callee: string;
  signal: AbortSignal;
  /** performance.now() value after which the result is no longer wanted. */
  deadline: number;
  log: Logger;
  call: CallControl;
}

export interface CallTool {
  readonly declaration: ToolDeclaration;
  /** The call never waits longer than this for the result. */
  readonly timeoutMs: number;
  /** Resolves with the function's result (any JSON value); throwing is reported to the model as an error. */
  run(args: Record<string, unknown>, ctx: ToolContext): Promise<unknown>;
}

/** What to learn from a call once it has ended (the agents file's `analysis`; src/analysis). */
export interface AnalysisSpec {
  /** Two or three sentences on what the call was about and how it ended. */
  summary: boolean;
  /** A yes/no question about the call: answered true, false or null, with a one-line reason. */
  success: string | undefined;
  /** JSON Schema (draft 2020-12) of what to extract; an object. */
  data: Record<string, unknown> | undefined;
  /** Text model; undefined: ANALYSIS_MODEL. */
  model: string | undefined;
}

/** Handing a caller to a person (the agents file's `handoff`; src/handoff). */
export interface HandoffSpec {
  /** Where the signed call.handoff event goes. */
  notify: { url: string; headers: Record<string, string> };
  /** What the agent tells the caller once a person has been told (e.g. "a colleague calls you back within the hour"). */
  say: string | undefined;
  /** Bring `number` onto the live call (Sautikit supervision, barge); when the person leaves, the agent resumes or
   *  the call ends. Undefined: notify only. */
  live: { number: string; after: "resume" | "end" } | undefined;
  /** The most the model waits for the tool's answer. */
  timeoutMs: number;
}

export interface Agent {
  /** Unique; shows in logs, records and metrics. */
  name: string;
  model: string;
  voice: string;
  prompt: string;
  /** Sent once the model is ready; "" = the caller speaks first. */
  greeting: string;
  tools: CallTool[];
  /** Hard cap on a call's length (0 = none). */
  maxCallSeconds: number;
  /** Caller and agent both silent this long → nudge, then end (0 = never). */
  idleSeconds: number;
  /** Post-call analysis; undefined: none. */
  analysis?: AnalysisSpec;
  /** The handoff tool's settings; undefined: the agent has no handoff tool. */
  handoff?: HandoffSpec;
}

/** Who a call is between and which agent answers it, as known before its socket opens. */
export interface CallParties extends Omit<Parties, "agent"> {
  agent: Agent;
}

/** An agent and the dialed numbers (E.164) routed to it; `numbers` is null for the default agent. */
export interface RoutedAgent {
  agent: Agent;
  numbers: string[] | null;
}

/** Which agent answers which dialed number. The agents file implements it; a single agent is the simplest. */
export interface AgentRouter {
  /** The agent for a dialed number, or the default agent; undefined when nobody answers it. */
  route(callee: string): Agent | undefined;
  /** Every agent this router can answer with, and its numbers (the console offers them all). */
  list(): RoutedAgent[];
}

/** One agent that answers every number. */
export function singleAgent(agent: Agent): AgentRouter {
  return { route: () => agent, list: () => [{ agent, numbers: null }] };
}
