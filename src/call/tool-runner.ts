// Runs the model's function calls for one call, in the call layer (not inside a provider's session): each run
// gets a context (who is calling, an AbortSignal, a deadline), every call id gets exactly one answer unless the
// model cancelled it, and nothing a tool does can throw into the call. Answer shapes: docs/gemini-live.md#tools.
import type { Logger } from "../log.ts";
import type { CallControl, CallTool, ToolContext } from "./agent.ts";
import type { ToolOutcome, ToolSettlement } from "./data.ts";
import type { ToolCallRequest } from "./model-leg.ts";

export type ToolError = Record<string, unknown> & {
  status: "error";
  retryable: boolean;
  message: string;
};

export function toolError(message: string, retryable = false): ToolError {
  return { status: "error", retryable, message };
}

/** Thrown by a tool to say exactly what the model should hear about the failure. */
export class ToolFailure extends Error {
  constructor(
    message: string,
    readonly retryable = false,
  ) {
    super(message);
  }
}

export interface ToolRunReport extends ToolSettlement {
  id: string;
  name: string;
}

export interface ToolRunnerDeps {
  tools: readonly CallTool[];
  who: { callId: string; agent: string; caller: string; callee: string };
  call: CallControl;
  log: Logger;
  /** Sends the answer back through the model leg. */
  answer(id: string, name: string, response: Record<string, unknown>): void;
  /** Told once per call id when it is settled (answered or cancelled). */
  settled(r: ToolRunReport): void;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A result with `status` goes as it is; anything else is wrapped as output (never `{}`). */
export function toResponse(out: unknown): Record<string, unknown> {
  return isPlainObject(out) && "status" in out ? out : { status: "ok", output: out ?? null };
}

export class ToolRunner {
  private readonly byName = new Map<string, CallTool>();
  private readonly running = new Map<string, { ac: AbortController; name: string; t0: number }>();

  constructor(private readonly d: ToolRunnerDeps) {
    for (const t of d.tools) this.byName.set(t.declaration.name, t);
  }

  get pending(): number {
    return this.running.size;
  }

  run(req: ToolCallRequest): void {
    const t0 = performance.now();
    const tool = this.byName.get(req.name);
    if (tool === undefined) {
      this.finish(req, t0, "error", toolError(`unknown tool: ${req.name}`), "unknown tool");
      return;
    }
    // Arguments outside the tool's schema never reach it; the model reads what was wrong and may call again.
    const verdict = tool.argsCheck?.check(req.args);
    if (verdict !== undefined && !verdict.ok) {
      this.finish(req, t0, "error", verdict.result, "invalid arguments");
      return;
    }
    const ac = new AbortController();
    this.running.set(req.id, { ac, name: req.name, t0 });
    const deadline = t0 + tool.timeoutMs;
    const timer = setTimeout(() => ac.abort(new ToolFailure(`tool ${req.name} timed out after ${tool.timeoutMs} ms`, true)), tool.timeoutMs);
    const ctx: ToolContext = { ...this.d.who, signal: ac.signal, deadline, log: this.d.log, call: this.d.call };
    const aborted = new Promise<never>((_, reject) => ac.signal.addEventListener("abort", () => reject(ac.signal.reason), { once: true }));
    aborted.catch(() => undefined);
    this.d.log.debug({ id: req.id, tool: req.name, args: req.args }, "tool call");
    let work: Promise<unknown>;
    try {
      work = Promise.resolve(tool.run(req.args, ctx));
    } catch (err) {
      work = Promise.reject(err);
    }
    Promise.race([work, aborted]).then(
      (out) => {
        clearTimeout(timer);
        if (this.running.get(req.id)?.ac !== ac) return; // cancelled meanwhile
        const response = toResponse(out);
        this.finish(req, t0, response.status === "error" ? "error" : "ok", response);
      },
      (err: unknown) => {
        clearTimeout(timer);
        if (this.running.get(req.id)?.ac !== ac) return;
        const timedOut = ac.signal.aborted;
        const message = err instanceof Error ? err.message : String(err);
        const retryable = err instanceof ToolFailure ? err.retryable : false;
        const msg = err instanceof ToolFailure ? message : `tool ${req.name} failed: ${message}`;
        // Our own failure messages name the tool and the kind of fault, never arguments or results: safe for info logs.
        this.finish(req, t0, timedOut ? "timeout" : "error", toolError(msg, retryable), msg);
      },
    );
  }

  /** The model withdrew these calls: abort their work; they get no answer. */
  cancel(ids: readonly string[]): void {
    for (const id of ids) {
      const r = this.running.get(id);
      if (r === undefined) continue;
      this.running.delete(id);
      r.ac.abort(new ToolFailure("cancelled by the model"));
      this.d.log.info({ id, tool: r.name }, "tool call cancelled");
      this.d.settled({ id, name: r.name, outcome: "cancelled", durationMs: performance.now() - r.t0, result: undefined });
    }
  }

  /** Call over: abort everything still running, answer nothing. */
  abortAll(): void {
    for (const r of this.running.values()) r.ac.abort(new ToolFailure("call ended"));
    this.running.clear();
  }

  private finish(req: ToolCallRequest, t0: number, outcome: ToolOutcome, response: Record<string, unknown>, why?: string): void {
    this.running.delete(req.id);
    const durationMs = performance.now() - t0;
    const level = outcome === "ok" ? "info" : "warn";
    this.d.log[level]({ id: req.id, tool: req.name, outcome, ms: Math.round(durationMs), ...(why ? { why } : {}) }, "tool call done");
    this.d.log.debug({ id: req.id, tool: req.name, response }, "tool result");
    this.d.answer(req.id, req.name, response);
    this.d.settled({ id: req.id, name: req.name, outcome, durationMs, result: response });
  }
}
