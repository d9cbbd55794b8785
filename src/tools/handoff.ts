// The built-in handoff tool: the model hands the caller to a person when they ask for one or the agent cannot help.
// The call does the work (Call.handOff → the handoff desk, src/handoff): a signed call.handoff event to the agent's
// `handoff.notify.url` and, with `handoff.live`, a person brought onto the line. The model hears back whether the
// event was delivered and what to tell the caller.
import type { CallTool, ToolContext } from "../call/agent.ts";
import { ToolFailure } from "../call/tool-runner.ts";

export const HANDOFF = "handoff";

const DESCRIPTION =
  "Hand the caller over to a person: use it when the caller asks for a human, or when you cannot help them. " +
  "Give the reason and a short summary of the call so far; the answer says what to tell the caller next.";

export function handoffTool(timeoutMs: number, description = DESCRIPTION): CallTool {
  return {
    declaration: {
      name: HANDOFF,
      description,
      parameters: {
        type: "object",
        properties: {
          reason: { type: "string", description: "Why a person is needed, in a few words." },
          summary: { type: "string", description: "What the caller wants and what has been said or done so far, in two or three sentences." },
        },
        required: ["reason", "summary"],
      },
    },
    timeoutMs,
    async run(args: Record<string, unknown>, ctx: ToolContext) {
      const reason = typeof args.reason === "string" ? args.reason.trim() : "";
      const summary = typeof args.summary === "string" ? args.summary.trim() : "";
      if (reason === "" || summary === "") throw new ToolFailure("handoff needs a reason and a summary (both non-empty text); call it again with both", false);
      if (ctx.call.handOff === undefined) throw new ToolFailure("handoff is not available on this relay", false);
      // Arguments are the call's content: debug level only.
      ctx.log.debug({ reason, summary }, "handoff requested by the agent");
      return ctx.call.handOff(reason.slice(0, 500), summary.slice(0, 4000), ctx.deadline);
    },
  };
}
