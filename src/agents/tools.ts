// Turns the agents file's tool entries into the CallTools a call runs.
import type { CallTool } from "../call/agent.ts";
import type { ToolEntry } from "./schema.ts";
import { endCallTool } from "../tools/end-call.ts";
import { HttpTool } from "../tools/http-tool.ts";

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
