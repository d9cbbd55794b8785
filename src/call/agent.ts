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
  /** Its calls are recorded (a stereo WAV, src/recordings). Absent = false. */
  record?: boolean;
  /** On a recorded call, said to the caller word for word before anything else (call/opening.ts); absent or "" = nothing. */
  recordingNotice?: string;
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
