// What a call needs to know about the agent that answers it: how it sounds, what it is told, what it may do.
// Where agents come from (the settings or the agents file, src/agents/) is not the call layer's business.
import type { Logger } from "../log.ts";
import type { CallPurpose, CallSource, Parties } from "./data.ts";

/** blocking: the model waits for the result; non_blocking: it keeps talking while the tool runs. */
export type ToolBehavior = "blocking" | "non_blocking";
/** How a non-blocking tool's result reaches the conversation: cut in (interrupt), once the model is quiet
 *  (when_idle), or into its context only, with nothing said (silent). */
export type ToolScheduling = "interrupt" | "when_idle" | "silent";

/** A function the model may call, declared in the provider-neutral form; each provider translates it. */
export interface ToolDeclaration {
  name: string;
  description?: string;
  /** JSON Schema (draft 2020-12) of the arguments object, as the agents file has it. */
  parameters?: Record<string, unknown>;
  /** Unset: the model's own default (docs/gemini-live.md#async-tools). */
  behavior?: ToolBehavior;
  /** For non_blocking tools; when_idle when unset. */
  scheduling?: ToolScheduling;
  /** Where it was declared (`agents[0].tools[1]`), so a provider refusing it can say where. */
  origin?: string;
}

/** Checks a model's arguments before the tool runs; a refusal is the answer the model gets instead. */
export interface ArgumentCheck {
  check(args: Record<string, unknown>): { ok: true } | { ok: false; result: Record<string, unknown> };
}

/** When the model hears the caller start and stop speaking; unset fields are left to the model. */
export interface TurnTaking {
  /** high: speech is detected sooner (short words, but also noise); low: fewer false starts on noisy lines. */
  startSensitivity?: "low" | "high";
  /** high: the turn ends sooner after speech stops; low: the caller may pause longer mid-sentence. */
  endSensitivity?: "low" | "high";
  /** Speech needed before its start counts. */
  prefixPaddingMs?: number;
  /** Silence needed before the caller's turn counts as over. */
  silenceDurationMs?: number;
}

/** What a running tool may do to its call. */
export interface CallControl {
  /** Ends the call politely: the agent finishes what it is saying, the caller hears all of it, then hang-up. */
  endCall(reason: "agent_end_call", detail?: string): void;
  /** The handoff tool: tells a person about the call (and, with `handoff.live`, asks for one on the line); resolves
   *  with what the model should hear, by `deadline` (performance.now()). Absent where no handoff desk is wired. */
  handOff?(reason: string, summary: string, deadline: number): Promise<Record<string, unknown>>;
  /** The voicemail tool: an answering machine took the call. Undefined on calls that cannot have one. */
  voicemail?(): VoicemailAnswer;
  /** The opt_out tool: the callee asked not to be called again. */
  optOut?(): void;
}

/** What the call did about an answering machine, for the model's tool result. */
export type VoicemailAnswer = { ok: true; action: VoicemailSettings["action"] } | { ok: false; reason: string };

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
  /** Applied to the model's arguments before run(); a refusal goes back to the model and run() is not called. */
  readonly argsCheck?: ArgumentCheck;
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
  /** Its calls are recorded (a stereo WAV, src/recordings). Absent = false. */
  record?: boolean;
  /** On a recorded call, said to the caller word for word before anything else (call/opening.ts); absent or "" = nothing. */
  recordingNotice?: string;
  // Unset below = the model's own behaviour.
  turnTaking?: TurnTaking;
  /** BCP-47 tags: the language the agent speaks, then others its callers mix in. */
  languages?: string[];
  /** Sampling temperature. */
  temperature?: number | undefined;
  /** The model may search the public web; the provider runs the search, not the relay. */
  webSearch?: boolean;
  /** Post-call analysis; undefined: none. */
  analysis?: AnalysisSpec;
  /** The handoff tool's settings; undefined: the agent has no handoff tool. */
  handoff?: HandoffSpec;
  /** Set when the agent places outbound calls (src/outbound). */
  outbound?: OutboundSettings;
  /** What an outbound call does when an answering machine takes it (the voicemail tool). */
  voicemail?: VoicemailSettings;
}

export interface OutboundSettings {
  /** The number calls are placed from (E.164): one of the workspace's Sautikit numbers. */
  from: string;
  /** The callee speaks first: the greeting goes after their first words, or after this much silence. */
  greetAfterMs: number;
}

export interface VoicemailSettings {
  /** hang up at once, or wait for the beep (or the end of the machine's greeting) and leave `message`. */
  action: "hangup" | "leave_message";
  /** What the agent says on the machine ({{variables}} filled per call); "" with action hangup. */
  message: string;
}

/** Who a call is between and which agent answers it, as known before its socket opens. The agent is the call's
 *  own: its texts already filled with the call's variables. */
export interface CallParties extends Omit<Parties, "agent"> {
  agent: Agent;
  /** Inbound when left out. */
  purpose?: CallPurpose;
}

/** Who is on a call and where it came from. */
export interface CallInfo extends CallParties {
  callId: string;
  source: CallSource;
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
