// Turns the agents file's tool entries into the CallTools a call runs.
import type { CallTool } from "../call/agent.ts";
import type { ToolEntry } from "../agents/schema.ts";
import { endCallTool } from "./end-call.ts";
import { HttpTool } from "./http-tool.ts";

export interface ToolBuildOptions {
  signingSecret: string | undefined;
}

export function buildTools(entries: readonly ToolEntry[], o: ToolBuildOptions): CallTool[] {
  return entries.map((e): CallTool => {
    if (e.builtin === "end_call") return endCallTool(e.description);
    return new HttpTool({
      declaration: { name: e.name, description: e.description, ...(e.parameters ? { parameters: e.parameters } : {}) },
      url: e.url,
      headers: e.headers ?? {},
      timeoutMs: e.timeoutMs,
      signingSecret: o.signingSecret,
    });
  });
}
