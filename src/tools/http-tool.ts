// A tool served over HTTP by the user's own service: the model's function call becomes
//   POST <url>  {"tool": name, "args": {...}, "call": {"id", "agent", "caller", "callee"}}
// with the configured headers and, when a signing secret is set, `X-Sauti-Signature: t=<unix>,v1=<hex>` computed
// the way Sautikit signs its webhooks to us (docs/sautikit-stream.md#signatures), so the service can verify it
// with the same code. Failures never throw into the call: they become a ToolFailure the model can talk about.
import type { ArgumentCheck, CallTool, ToolContext, ToolDeclaration } from "../call/agent.ts";
import { ToolFailure } from "../call/tool-runner.ts";
import { signBody } from "../signing/sautikit.ts";

export const SIGNATURE_HEADER = "X-Sauti-Signature";
/** A tool's answer goes into the model's context; anything this big is a mistake, not an answer. */
export const MAX_ANSWER_BYTES = 256 * 1024;

export interface HttpToolSpec {
  declaration: ToolDeclaration;
  url: string;
  headers: Record<string, string>;
  timeoutMs: number;
  signingSecret: string | undefined;
  /** The model's arguments are checked with it before any request (the ToolRunner applies it). */
  argsCheck?: ArgumentCheck | undefined;
}

/** Credentials and query values of a URL replaced by ****; the host and path stay, so a typo still shows. */
export function maskUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return "****";
  }
  if (u.username !== "") u.username = "****";
  if (u.password !== "") u.password = "****";
  for (const k of [...new Set(u.searchParams.keys())]) u.searchParams.set(k, "****");
  return u.toString();
}

/** Worth asking again: the service is overloaded, restarting or timed out, not refusing the request. */
function retryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

export class HttpTool implements CallTool {
  readonly declaration: ToolDeclaration;
  readonly timeoutMs: number;
  readonly argsCheck: ArgumentCheck | undefined;

  constructor(private readonly spec: HttpToolSpec) {
    this.declaration = spec.declaration;
    this.timeoutMs = spec.timeoutMs;
    this.argsCheck = spec.argsCheck;
  }

  /** Where requests go, for `sauti-relay check` and the console: the URL masked, header names only (values may be secrets). */
  target(): { url: string; headerNames: string[]; signed: boolean } {
    return { url: maskUrl(this.spec.url), headerNames: Object.keys(this.spec.headers), signed: this.spec.signingSecret !== undefined };
  }

  async run(args: Record<string, unknown>, ctx: ToolContext): Promise<unknown> {
    const name = this.declaration.name;
    const body = JSON.stringify({ tool: name, args, call: { id: ctx.callId, agent: ctx.agent, caller: ctx.caller, callee: ctx.callee } });
    const headers = new Headers(this.spec.headers);
    headers.set("content-type", "application/json");
    if (!headers.has("accept")) headers.set("accept", "application/json");
    if (this.spec.signingSecret !== undefined) headers.set(SIGNATURE_HEADER, signBody(this.spec.signingSecret, body));
    let res: Response;
    try {
      // The ToolRunner aborts `signal` at the deadline or when the model cancels: fetch then drops the request.
      res = await fetch(this.spec.url, { method: "POST", headers, body, signal: ctx.signal, redirect: "manual" });
    } catch (err) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      const why = (err as { code?: string }).code ?? (err instanceof Error ? err.name : "error");
      throw new ToolFailure(`${name} failed: its service could not be reached (${why})`, true);
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      throw new ToolFailure(`${name} failed: its service answered HTTP ${res.status}`, retryableStatus(res.status));
    }
    const declared = Number(res.headers.get("content-length") ?? "0");
    if (declared > MAX_ANSWER_BYTES) {
      await res.body?.cancel().catch(() => undefined);
      throw new ToolFailure(`${name} failed: its answer is too large`, false);
    }
    const text = await res.text();
    if (text.length > MAX_ANSWER_BYTES) throw new ToolFailure(`${name} failed: its answer is too large`, false);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new ToolFailure(`${name} failed: its service answered something that is not JSON`, false);
    }
  }
}
