// A tool run from the console's tools panel, through the exact path a call's function call takes: the ToolRunner
// (argument check against the full schema, timeout, abort) and the tool itself (an HttpTool with its `${VAR}`
// headers and signature). What comes back is the answer the model would get, as the runner built it.
import type { Agent, CallControl } from "../call/agent.ts";
import type { ToolOutcome } from "../call/data.ts";
import { ToolRunner } from "../call/tool-runner.ts";
import type { Logger } from "../log.ts";
import { HttpTool } from "../tools/http-tool.ts";

/** A tool as the panel lists it: enough to fill in arguments and know where the request goes (no header values). */
export interface ToolInfo {
  name: string;
  description: string | null;
  kind: "http" | "builtin";
  parameters: Record<string, unknown> | null;
  behavior: string | null;
  scheduling: string | null;
  timeoutMs: number;
  url: string | null;
  headerNames: string[];
  signed: boolean;
}

export function toolInfo(agent: Agent): ToolInfo[] {
  return agent.tools.map((t) => {
    const d = t.declaration;
    const http = t instanceof HttpTool ? t.target() : undefined;
    return {
      name: d.name,
      description: d.description ?? null,
      kind: http ? "http" : "builtin",
      parameters: d.parameters ?? null,
      behavior: d.behavior ?? null,
      scheduling: d.scheduling ?? null,
      timeoutMs: t.timeoutMs,
      url: http?.url ?? null,
      headerNames: http?.headerNames ?? [],
      signed: http?.signed ?? false,
    };
  });
}

export interface ToolTrial {
  outcome: ToolOutcome;
  durationMs: number;
  /** The functionResponse.response the model would get. */
  response: Record<string, unknown>;
  /** end_call asked to hang up (nothing is hung up from the console). */
  endedCall: boolean;
}

/** Runs `tool` of `agent` once with `args`; never throws (the runner turns every failure into an answer). */
export function tryTool(agent: Agent, tool: string, args: Record<string, unknown>, callId: string, log: Logger): Promise<ToolTrial> {
  return new Promise((resolve) => {
    let endedCall = false;
    const call: CallControl = { endCall: () => void (endedCall = true) };
    const runner = new ToolRunner({
      tools: agent.tools,
      // The tool service sees who asked: a console run, not a phone number.
      who: { callId, agent: agent.name, caller: "console", callee: "" },
      call,
      log,
      answer: () => {},
      settled: (r) => resolve({ outcome: r.outcome, durationMs: Math.round(r.durationMs), response: r.result ?? {}, endedCall }),
    });
    runner.run({ id: callId, name: tool, args });
  });
}
