// Call events over a real call: caller socket ⇄ relay ⇄ Live spy on loopback. Two observers see every event kind,
// in order; a third that throws on every event changes nothing for the call or for the others.
import { expect, test } from "bun:test";
import type { Agent, CallTool } from "../../src/call/agent.ts";
import { KILL_AUDIO } from "../../src/telephony/audio-socket.ts";
import type { CallEvent } from "../../src/call/events.ts";
import { singleAgent } from "../../src/call/agent.ts";
import { Caller, startHarness, until } from "./harness.ts";


const lookup: CallTool = {
  declaration: { name: "lookup_order", description: "Find an order.", parameters: { type: "object", properties: { order: { type: "string" } } } },
  timeoutMs: 2000,
  run: async (args) => ({ order: args.order, status: "ok", eta: "16:00" }),
};

const agent: Agent = { name: "support", model: "gemini-3.8-live", voice: "Puck", prompt: "Test.", greeting: "", tools: [lookup], maxCallSeconds: 0, idleSeconds: 0 };

test("two observers see every event kind of a real call in order; a throwing observer harms nothing", async () => {
  await using h = await startHarness({}, {}, { router: singleAgent(agent) });
  const a: CallEvent[] = [];
  const b: CallEvent[] = [];
  let thrown = 0;
  h.calls.events.subscribe((e) => void a.push(e));
  h.calls.events.subscribe(() => {
    thrown++;
    throw new Error("observer bug");
  });
  h.calls.events.subscribe(async (e) => {
    await Bun.sleep(1); // an async observer too
    b.push(e);
  });

  await using c = await new Caller(await h.streamUrlFor("HD_events")).open();
  c.ws.send(JSON.stringify({ streamSid: "MZ1", callSid: "HD_events" }));
  await until(() => h.standin.sessions.length > 0 && h.standin.sessions[0]!.ready, "live ready");
  const live = h.standin.sessions[0]!;
  expect((live.setup!.generationConfig as { speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName: string } } } }).speechConfig.voiceConfig.prebuiltVoiceConfig.voiceName).toBe("Puck");

  // The caller speaks (as transcribed by the model), the agent answers, uses a tool, and is cut by barge-in.
  live.send({ serverContent: { inputTranscription: { text: "Where is my", finished: false } } });
  live.send({ serverContent: { inputTranscription: { text: " order?", finished: true } } });
  live.speak({ ms: 400, transcript: "Let me check that for you." });
  await until(() => a.some((e) => e.type === "usage"), "first answer complete");
  live.toolCall("lookup_order", { order: "A1" });
  await until(() => live.toolResponses.length === 1, "tool answered");
  live.speak({ ms: 5000, transcript: "Your order arrives at four in the afternoon, and the courier will call you first." });
  await until(() => c.audioMs() > 800, "second answer playing", 10000);
  live.interrupt();
  await until(() => c.texts.includes(KILL_AUDIO), "killAudio");
  c.ws.close();
  await until(() => b.some((e) => e.type === "ended"), "ended seen by the async observer", 10000);

  const kinds = a.map((e) => e.type);
  const firstOf = (k: CallEvent["type"]) => kinds.indexOf(k);
  for (const k of ["started", "metadata", "transcript", "toolCall", "toolResult", "bargeIn", "turn", "usage", "ended"] as const) {
    expect(firstOf(k)).toBeGreaterThanOrEqual(0);
  }
  expect(kinds[0]).toBe("started");
  expect(kinds.at(-1)).toBe("ended");
  expect(firstOf("metadata")).toBeLessThan(firstOf("turn"));
  expect(firstOf("turn")).toBeLessThan(firstOf("toolCall"));
  expect(firstOf("toolCall")).toBeLessThan(firstOf("toolResult"));
  expect(firstOf("toolResult")).toBeLessThan(firstOf("bargeIn"));
  expect(b.map((e) => e.type)).toEqual(kinds);
  expect(thrown).toBe(a.length);

  const started = a[0] as Extract<CallEvent, { type: "started" }>;
  expect(started).toMatchObject({ callId: "HD_events", agent: "support", source: "phone", caller: "+254700000001", callee: "+254700000002" });
  const finals = a.filter((e): e is Extract<CallEvent, { type: "transcript" }> => e.type === "transcript" && e.final);
  expect(finals.map((t) => [t.role, t.text, t.interrupted])).toEqual([
    ["caller", "Where is my order?", false],
    ["agent", "Let me check that for you.", false],
    ["agent", expect.any(String), true],
  ]);
  const cut = finals[2]!;
  // Only what was generated before the cut, and the caller heard part of the 5 s answer, not all of it.
  expect(cut.text.length).toBeGreaterThan(0);
  expect("Your order arrives at four in the afternoon, and the courier will call you first.".startsWith(cut.text)).toBe(true);
  expect(cut.heardMs!).toBeGreaterThan(0);
  expect(cut.heardMs!).toBeLessThan(5000);
  const result = a.find((e) => e.type === "toolResult") as Extract<CallEvent, { type: "toolResult" }>;
  expect(result).toMatchObject({ name: "lookup_order", outcome: "ok", result: { order: "A1", status: "ok", eta: "16:00" } });
  const ended = a.at(-1) as Extract<CallEvent, { type: "ended" }>;
  expect(ended.reason).toBe("caller_hangup");
  expect(ended.agentTurns).toBe(2);
  expect(ended.bargeIns).toBe(1);
  expect(ended.firstAudioMs!.max).toBeGreaterThanOrEqual(ended.firstAudioMs!.p50);
  expect(ended.usage.totalTokens).toBeGreaterThan(0);
  // The throwing observer was logged, not fatal: the call played its audio.
  expect(c.loudSamples()).toBeGreaterThan(16000 * 0.3);
  expect(h.logs.some((l) => l.includes("call observer failed"))).toBe(true);
});
