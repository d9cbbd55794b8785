// The built-in voicemail tool (outbound calls): the model heard an answering machine, a voicemail greeting or a
// call-screening assistant. The call then does what the agent's `voicemail` says: hang up at once, or wait for the
// beep (or the end of the machine's greeting) and have the agent leave its message (Call.voicemail).
import type { CallTool, ToolContext } from "../call/agent.ts";

export const VOICEMAIL = "voicemail";

const DESCRIPTION =
  "Call this as soon as you hear an answering machine, a voicemail greeting (\"leave a message after the tone\") or an automated call-screening assistant instead of a person. " +
  "Do not call it for a person who is simply brief or hard to hear. After calling it, say nothing until you are told what to do.";

export function voicemailTool(description = DESCRIPTION): CallTool {
  return {
    declaration: { name: VOICEMAIL, description, parameters: { type: "object", properties: {} } },
    timeoutMs: 1000,
    run(_args: Record<string, unknown>, ctx: ToolContext) {
      const r = ctx.call.voicemail?.();
      if (r === undefined || !r.ok) {
        return Promise.resolve({ status: "error", retryable: false, message: r?.reason ?? "There is no voicemail on this call; carry on with the conversation." });
      }
      ctx.log.info({ action: r.action }, "voicemail: the agent heard an answering machine");
      return Promise.resolve({
        status: "ok",
        message:
          r.action === "hangup"
            ? "The call is being ended. Say nothing."
            : "Say nothing now. Wait: you will be told when to speak and exactly what message to leave.",
      });
    },
  };
}
