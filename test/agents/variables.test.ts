// {{variables}}: filled in one pass as plain text, names listed, what an outbound request must give, and the
// inbound call's own (caller, callee, date and time in the configured time zone).
import { describe, expect, test } from "bun:test";
import { callVariables, fill, inboundParties, renderAgent, requiredVariables, variablesIn } from "../../src/agents/variables.ts";
import type { Agent } from "../../src/call/agent.ts";

const agent: Agent = {
  name: "r",
  model: "m",
  voice: "v",
  prompt: "Remind {{ name }} of {{time}} ({{name}}).",
  greeting: "Hi {{name}}",
  tools: [],
  maxCallSeconds: 0,
  idleSeconds: 0,
  outbound: { from: "+254711000100", greetAfterMs: 1500 },
  voicemail: { action: "leave_message", message: "Call {{callee}} back about {{topic}}" },
};

describe("variables", () => {
  test("a value is inserted as plain text and never read again as a template", () => {
    expect(fill("Hello {{name}}, {{x}}", { name: "{{x}}", x: "$& $1 {{name}}" })).toBe("Hello {{x}}, $& $1 {{name}}");
  });

  test("names in order of first use; malformed braces stay literal", () => {
    expect(variablesIn("{{a}} {{ b.c }} {{a}} {{1x}} {{}} {x}")).toEqual(["a", "b.c"]);
  });

  test("renderAgent fills prompt, greeting and voicemail message, and says which had no value", () => {
    const { agent: a, missing } = renderAgent(agent, { name: "Wanjiru", callee: "+254712345678" });
    expect(a.prompt).toBe("Remind Wanjiru of  (Wanjiru).");
    expect(a.greeting).toBe("Hi Wanjiru");
    expect(a.voicemail!.message).toBe("Call +254712345678 back about ");
    expect(missing.sort()).toEqual(["time", "topic"]);
    expect(agent.prompt).toContain("{{ name }}");
  });

  test("an outbound request must give every variable but caller and callee (date and time too: never silently now)", () => {
    expect(requiredVariables(agent).sort()).toEqual(["name", "time", "topic"]);
  });

  test("an inbound call gets caller, callee, and the date and time where the business is", () => {
    const at = Date.UTC(2026, 0, 5, 21, 30); // Monday 21:30 UTC = Tuesday 00:30 in Nairobi (UTC+3)
    expect(callVariables("+254700000001", "+254711000000", at, "Africa/Nairobi")).toEqual({
      caller: "+254700000001",
      callee: "+254711000000",
      date: "Tuesday, 6 January 2026",
      time: "00:30",
    });
    const p = inboundParties({ ...agent, prompt: "{{caller}} at {{time}}" }, "+254700000001", "+254711000000", at, "UTC");
    expect(p.agent.prompt).toBe("+254700000001 at 21:30");
    expect(p.purpose).toEqual({ direction: "inbound", attemptId: null, variables: { caller: "+254700000001", callee: "+254711000000", date: "Monday, 5 January 2026", time: "21:30" } });
  });
});
