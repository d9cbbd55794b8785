// Agents from a file, through the real relay: the dialed number picks the agent (prompt, voice and function
// declarations reach that call's Live setup), unknown numbers get the default or the fallback, and a reload
// leaves calls in progress on the agent they started with.
import { afterEach, describe, expect, test } from "bun:test";
import pino from "pino";
import { reloadAgents } from "../../src/agents/index.ts";
import type { CallEvent } from "../../src/call/events.ts";
import type { StandinSession } from "../support/gemini-spy.ts";
import { agentsFile, cleanupAgentFiles } from "./fixtures.ts";
import { Caller, startHarness, until, type Harness } from "./harness.ts";

let h: Harness | undefined;
const callers: Caller[] = [];
afterEach(async () => {
  for (const c of callers.splice(0)) c.ws.close();
  await h?.stop();
  h = undefined;
  cleanupAgentFiles();
});

const TWO_AGENTS = `
agents:
  - name: support
    numbers: ["+254711000000"]
    voice: Kore
    prompt: "You answer for Duka Ltd support."
    tools:
      - builtin: end_call
      - name: lookup_order
        description: "Look up an order's status by its number."
        parameters: { type: object, properties: { order: { type: string } }, required: [order] }
        url: http://127.0.0.1:9/lookup-order
  - name: sales
    numbers: ["+254 722 000 000"]
    voice: Puck
    prompt: "You sell Duka Ltd's products."
    tools:
      - name: price_of
        description: "The price of a product."
        url: http://127.0.0.1:9/price
`;

type Setup = {
  systemInstruction?: { parts: Array<{ text: string }> };
  generationConfig: { speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName: string } } } };
  tools?: Array<{ functionDeclarations: Array<{ name: string; description?: string; parameters?: unknown }> }>;
};

/** Places a call to `to` and returns its caller and its Live session (once set up). */
async function dial(hh: Harness, callId: string, to: string): Promise<{ c: Caller; s: StandinSession }> {
  const before = hh.standin.sessions.length;
  const c = await new Caller(await hh.streamUrlFor(callId, to)).open();
  callers.push(c);
  await until(() => hh.standin.sessions.length > before && hh.standin.sessions[before]!.ready, "live session ready");
  return { c, s: hh.standin.sessions[before]! };
}

const setupOf = (s: StandinSession) => s.setup as unknown as Setup;
const voiceOf = (s: StandinSession) => setupOf(s).generationConfig.speechConfig.voiceConfig.prebuiltVoiceConfig.voiceName;
const functionsOf = (s: StandinSession) => (setupOf(s).tools ?? []).flatMap((t) => t.functionDeclarations.map((f) => f.name));

describe("routing by dialed number", () => {
  test("two numbers reach two agents: their setups differ in prompt, voice and function declarations", async () => {
    h = await startHarness({ AGENTS_FILE: agentsFile(TWO_AGENTS) });
    const events: CallEvent[] = [];
    h.calls.events.subscribe((e) => void events.push(e));

    const a = await dial(h, "HD_support", "+254711000000");
    const b = await dial(h, "HD_sales", "254722000000"); // no "+": normalised to E.164 before routing

    expect(setupOf(a.s).systemInstruction?.parts[0]?.text).toBe("You answer for Duka Ltd support.");
    expect(setupOf(b.s).systemInstruction?.parts[0]?.text).toBe("You sell Duka Ltd's products.");
    expect(voiceOf(a.s)).toBe("Kore");
    expect(voiceOf(b.s)).toBe("Puck");
    expect(functionsOf(a.s)).toEqual(["end_call", "lookup_order"]);
    expect(functionsOf(b.s)).toEqual(["price_of"]);
    const lookup = setupOf(a.s).tools![0]!.functionDeclarations[1]!;
    // The file's JSON Schema in Google's Schema subset (GEMINI_TOOL_SCHEMA's default form), not passed through.
    expect(lookup.parameters).toEqual({ type: "OBJECT", properties: { order: { type: "STRING" } }, required: ["order"] });

    await until(() => events.filter((e) => e.type === "started").length === 2, "started events");
    const started = events.flatMap((e) => (e.type === "started" ? [[e.callId, e.agent, e.callee]] : []));
    expect(started).toEqual([
      ["HD_support", "support", "+254711000000"],
      ["HD_sales", "sales", "254722000000"],
    ]);
    // The agent's name is in the call's log lines; the full numbers are not.
    const newCall = h.logs.filter((l) => l.includes('"new call: answered with <Stream>"'));
    expect(newCall.map((l) => (JSON.parse(l) as { agent: string }).agent)).toEqual(["support", "sales"]);
    expect(newCall.join("\n")).not.toContain("711000000");
  });

  test("a number nobody answers gets the fallback <Say> and <Hangup/> and a warning when there is no default agent", async () => {
    h = await startHarness({ AGENTS_FILE: agentsFile(TWO_AGENTS), FALLBACK_MESSAGE: "Nobody here." });
    const res = await h.post("/voice", "sessionId=HD_nobody&callerNumber=%2B254700000001&destinationNumber=%2B254733000000");
    const xml = await res.text();
    expect(xml).toContain("<Say>Nobody here.</Say>");
    expect(xml).toContain("<Hangup/>");
    expect(xml).not.toContain("<Stream");
    expect(h.standin.sessions.length).toBe(0);
    const warn = h.logs.find((l) => l.includes("no agent answers this number"));
    expect(warn).toBeDefined();
    expect(JSON.parse(warn!)).toMatchObject({ level: 40, callId: "HD_nobody", callee: "…000" });
  });

  test("with a default agent, an unknown number reaches it; `To` is used when destinationNumber is absent", async () => {
    const file = agentsFile(TWO_AGENTS + `  - name: reception\n    prompt: "You are the receptionist."\n    voice: Aoede\n`);
    h = await startHarness({ AGENTS_FILE: file });
    const res = await h.post("/voice", "sessionId=HD_other&From=%2B254700000001&To=%2B254722000000");
    expect(await res.text()).toContain("<Stream");
    const other = await dial(h, "HD_reception", "+254799999999");
    expect(voiceOf(other.s)).toBe("Aoede");
    expect(functionsOf(other.s)).toEqual([]);
    const agents = h.logs.filter((l) => l.includes('"new call: answered with <Stream>"')).map((l) => (JSON.parse(l) as { agent: string }).agent);
    expect(agents).toEqual(["sales", "reception"]);
  });
});

describe("reload", () => {
  test("calls in progress (and calls already answered by the webhook) keep the agent they started with", async () => {
    const file = agentsFile(`agents:\n  - name: old\n    prompt: "Old prompt."\n    tools:\n      - builtin: end_call\n`);
    h = await startHarness({ AGENTS_FILE: file });
    const events: CallEvent[] = [];
    h.calls.events.subscribe((e) => void events.push(e));
    const inCall = await dial(h, "HD_in_progress", "+254711000000");
    const answeredUrl = await h.streamUrlFor("HD_answered", "+254711000000"); // webhook done, socket not yet open

    await Bun.write(file, `agents:\n  - name: new\n    prompt: "New prompt."\n`);
    expect(reloadAgents(h.config, h.calls, pino({ level: "silent" }))).toBe(true);

    const fresh = await dial(h, "HD_after", "+254711000000");
    expect(setupOf(fresh.s).systemInstruction?.parts[0]?.text).toBe("New prompt.");
    const answered = await new Caller(answeredUrl).open();
    callers.push(answered);
    await until(() => events.some((e) => e.type === "started" && e.callId === "HD_answered"), "answered call started");
    const agentOf = (id: string) => events.find((e) => e.type === "started" && e.callId === id) as { agent: string } | undefined;
    expect(agentOf("HD_in_progress")?.agent).toBe("old");
    expect(agentOf("HD_answered")?.agent).toBe("old");
    expect(agentOf("HD_after")?.agent).toBe("new");
    // The old call still has the old agent's tools: its end_call still works after the reload.
    inCall.s.speak({ ms: 300 }); // the goodbye, with end_call while it is spoken
    inCall.s.toolCall("end_call", {});
    await until(() => events.some((e) => e.type === "ended" && e.callId === "HD_in_progress"), "old call ended", 10000);
    expect(events.find((e) => e.type === "ended" && e.callId === "HD_in_progress")).toMatchObject({ reason: "agent_end_call" });
  });
});
