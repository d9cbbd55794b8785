// The built-in end_call tool: the model decides the conversation is over. The call answers the function call,
// lets the agent finish its goodbye and the caller hear all of it, then hangs up (Call.endCall).
import type { CallTool, ToolContext } from "../call/agent.ts";

export const END_CALL = "end_call";

const DESCRIPTION =
  "End the phone call. Use it when the conversation is finished and you have said goodbye, or when the caller asks to hang up. " +
  "Say your goodbye before or while calling it; the caller hears the whole goodbye before the line is closed.";

export function endCallTool(description = DESCRIPTION): CallTool {
  return {
    declaration: {
      name: END_CALL,
      description,
      parameters: {
        type: "object",
        properties: { reason: { type: "string", description: "Why the call is ending, in a few words." } },
      },
    },
    timeoutMs: 1000,
    run(args: Record<string, unknown>, ctx: ToolContext) {
      // The reason is a tool argument: debug level only (it may repeat what the caller said).
      ctx.log.debug({ reason: args.reason }, "end_call requested by the agent");
      ctx.call.endCall("agent_end_call", "the agent called end_call");
      return Promise.resolve({ status: "ok", message: "The line closes once your goodbye has been heard. If you have not said goodbye yet, say it briefly now; otherwise say nothing more." });
    },
  };
}
