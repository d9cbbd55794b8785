// The built-in opt_out tool: the person on the line asks not to be called again. Their number goes on the
// do-not-call list (src/outbound, from the call's optOut event), the agent says a short goodbye, the call ends.
import type { CallTool, ToolContext } from "../call/agent.ts";

export const OPT_OUT = "opt_out";

const DESCRIPTION =
  "Call this when the person asks not to be called again (\"stop calling me\", \"remove my number\", \"do not call\"). " +
  "Their number is put on the do-not-call list and the call ends after your goodbye.";

export function optOutTool(description = DESCRIPTION): CallTool {
  return {
    declaration: { name: OPT_OUT, description, parameters: { type: "object", properties: {} } },
    timeoutMs: 1000,
    run(_args: Record<string, unknown>, ctx: ToolContext) {
      if (ctx.call.optOut === undefined) return Promise.resolve({ status: "error", retryable: false, message: "Opting out is not available on this call." });
      ctx.call.optOut();
      return Promise.resolve({
        status: "ok",
        message: "Their number is on the do-not-call list and they will not be called again. Confirm that briefly, say a short goodbye, and say nothing more; the line closes after it.",
      });
    },
  };
}
