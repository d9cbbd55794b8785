// What the model is told to say first. On a recorded call with a recording notice, the notice comes before
// anything else, word for word (callers are to be told they are recorded before they say anything worth keeping),
// and then the agent's own greeting; one text turn, so nothing can come between the two. Without a notice, or on a
// call that is not recorded, it is the greeting as configured ("" = the caller speaks first).
import type { Agent } from "./agent.ts";

/** The first text turn for a call of `agent`; "" sends none. */
export function openingText(agent: Pick<Agent, "greeting" | "record" | "recordingNotice">): string {
  const notice = agent.record === true ? (agent.recordingNotice ?? "").trim() : "";
  if (notice === "") return agent.greeting;
  const say =
    `Start the call by saying exactly these words, word for word, before anything else and with nothing added, ` +
    `changed or left out: "${notice}"`;
  const greeting = agent.greeting.trim();
  return greeting === ""
    ? `${say} Then stop, and wait for the caller to speak.`
    : `${say} Right after that, do this: ${greeting}`;
}
