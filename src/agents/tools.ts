// Turns the agents file's tool entries into the CallTools a call runs.
import type { CallTool } from "../call/agent.ts";
import type { ToolEntry } from "./schema.ts";
import { endCallTool } from "../tools/end-call.ts";
import { HANDOFF, handoffTool } from "../tools/handoff.ts";
import { HttpTool } from "../tools/http-tool.ts";

export interface ToolBuildOptions {
  signingSecret: string | undefined;
  /** The agent's `handoff.timeoutMs` when it has a `handoff` block: the handoff tool is added if not listed. */
  handoffTimeoutMs?: number;
}

export function buildTools(entries: readonly ToolEntry[], o: ToolBuildOptions): CallTool[] {
  const tools = entries.map((e): CallTool => {
    if (e.builtin === "end_call") return endCallTool(e.description);
    if (e.builtin === "handoff") return handoffTool(o.handoffTimeoutMs ?? 8000, e.description);
    return new HttpTool({
      declaration: { name: e.name, description: e.description, ...(e.parameters ? { parameters: e.parameters } : {}) },
      url: e.url,
      headers: e.headers ?? {},
      timeoutMs: e.timeoutMs,
      signingSecret: o.signingSecret,
    });
  });
  if (o.handoffTimeoutMs !== undefined && !tools.some((t) => t.declaration.name === HANDOFF)) tools.push(handoffTool(o.handoffTimeoutMs));
  return tools;
}
