// Turns the agents file's tool entries into the CallTools a call runs. An HTTP tool's parameter schema is
// compiled into its argument check here, once per load, so a schema that cannot be used is refused with the
// file (ToolSchemaError naming its place); google_search is not a CallTool (the model's provider runs it).
import type { CallTool } from "../call/agent.ts";
import type { ToolEntry } from "./schema.ts";
import { ArgsCheck } from "../tools/args-check.ts";
import { endCallTool } from "../tools/end-call.ts";
import { HANDOFF, handoffTool } from "../tools/handoff.ts";
import { HttpTool } from "../tools/http-tool.ts";
import { schemaPath } from "../tools/schema-error.ts";
import { optOutTool } from "../tools/opt-out.ts";
import { voicemailTool } from "../tools/voicemail.ts";

export interface ToolBuildOptions {
  signingSecret: string | undefined;
  /** Where the list is in the file (`agents[0].tools`), for messages. */
  path: string;
  /** The agent's `handoff.timeoutMs` when it has a `handoff` block: the handoff tool is added if not listed. */
  handoffTimeoutMs?: number;
}

export function buildTools(entries: readonly ToolEntry[], o: ToolBuildOptions): CallTool[] {
  const out: CallTool[] = [];
  entries.forEach((e, i) => {
    const origin = schemaPath(o.path, [i]);
    switch (e.builtin) {
      case "google_search":
        return; // the model's provider runs it
      case "end_call":
        out.push(endCallTool(e.description));
        return;
      case "voicemail":
        out.push(voicemailTool(e.description));
        return;
      case "opt_out":
        out.push(optOutTool(e.description));
        return;
      case "handoff":
        out.push(handoffTool(o.handoffTimeoutMs ?? 8000, e.description));
        return;
    }
    const params = e.parameters;
    out.push(
      new HttpTool({
        declaration: {
          name: e.name,
          description: e.description,
          origin,
          ...(params ? { parameters: params } : {}),
          ...(e.behavior ? { behavior: e.behavior } : {}),
          ...(e.behavior === "non_blocking" ? { scheduling: e.scheduling ?? "when_idle" } : {}),
        },
        url: e.url,
        headers: e.headers ?? {},
        timeoutMs: e.timeoutMs,
        signingSecret: o.signingSecret,
        argsCheck: params ? ArgsCheck.compile(params, schemaPath(origin, ["parameters"])) : undefined,
      }),
    );
  });
  if (o.handoffTimeoutMs !== undefined && !out.some((t) => t.declaration.name === HANDOFF)) out.push(handoffTool(o.handoffTimeoutMs));
  return out;
}

/** True when the entries ask for search grounding. */
export function wantsWebSearch(entries: readonly ToolEntry[]): boolean {
  return entries.some((e) => e.builtin === "google_search");
}

/** Outbound agents always get voicemail and opt_out (listing them in `tools` only changes their description). */
export function withOutboundTools(tools: CallTool[]): CallTool[] {
  const has = (n: string) => tools.some((t) => t.declaration.name === n);
  return [...tools, ...(has("voicemail") ? [] : [voicemailTool()]), ...(has("opt_out") ? [] : [optOutTool()])];
}
