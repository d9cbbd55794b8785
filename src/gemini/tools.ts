// Function-calling plumbing: handlers by name, their declarations for setup, and running a toolCall into
// functionResponses. Every id gets an answer (an unknown tool or a throwing handler answers a structured error),
// because an unanswered id leaves the model waiting (gemini-live.md §3.4, §7.6).
import type { FunctionCall, FunctionDeclaration, FunctionResponse } from "./protocol.ts";

export type ToolHandler = (args: Record<string, unknown>) => unknown | Promise<unknown>;

export interface ToolError {
  status: "error";
  retryable: boolean;
  message: string;
}

export function toolError(message: string, retryable = false): ToolError {
  return { status: "error", retryable, message };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export class ToolRegistry {
  private readonly tools = new Map<string, { decl: FunctionDeclaration; handler: ToolHandler }>();

  register(decl: FunctionDeclaration, handler: ToolHandler): void {
    if (this.tools.has(decl.name)) throw new Error(`tool ${decl.name} registered twice`);
    this.tools.set(decl.name, { decl, handler });
  }

  has(name: string): boolean {
    return this.tools.has(name);
  }

  get size(): number {
    return this.tools.size;
  }

  /** The functionDeclarations sent in setup. */
  declarations(): FunctionDeclaration[] {
    return [...this.tools.values()].map((t) => t.decl);
  }

  /**
   * Runs one call and always resolves with a response object (never `{}`: the 3.8 guide asks for a status).
   * A handler's object result that already carries `status` is sent as is; anything else is wrapped as output.
   */
  async run(call: FunctionCall): Promise<FunctionResponse> {
    const id = call.id ?? "";
    const name = call.name ?? "";
    const tool = this.tools.get(name);
    if (tool === undefined) return { id, name, response: { ...toolError(`unknown tool: ${name}`) } };
    try {
      const out = await tool.handler(isPlainObject(call.args) ? call.args : {});
      const response = isPlainObject(out) && "status" in out ? out : { status: "ok", output: out ?? null };
      return { id, name, response };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      return { id, name, response: { ...toolError(`tool ${name} failed: ${message}`) } };
    }
  }
}
