// The voicemail and opt_out tools on real outbound calls: an answering machine (a greeting, a 1 kHz beep, then
// silence) gets the agent's message after the beep, with the call's variables, and nothing the model says before it
// reaches the machine; action hangup hangs up at once; a callee who asks not to be called again goes on the
// do-not-call list.
import { afterEach, describe, expect, test } from "bun:test";
import { cleanupAgentFiles } from "../relay/fixtures.ts";
import { startOutbound, until, type OutboundHarness } from "./support.ts";

let oh: OutboundHarness | undefined;
afterEach(async () => {
  await oh?.stop();
  oh = undefined;
  cleanupAgentFiles();
});

const MESSAGE = "Hello Wanjiru, this is Duka Ltd reminding you of your appointment at 10:30. Goodbye.";

describe("voicemail", () => {
  test("leave_message: the message goes after the beep, filled with the call's variables; then the call ends as voicemail", async () => {
    oh = await startOutbound({ fake: { script: () => ({ kind: "voicemail", greetingMs: 2500, beepMs: 1500 }) } });
    const { h, rest } = oh;
    const r = await oh.post("/api/outbound", { agent: "reminders", to: "+254712345678", variables: { name: "Wanjiru", time: "10:30" } });
    const id = String(r.body.id);
    await until(() => h.standin.sessions.length === 1 && h.standin.sessions[0]!.texts.length === 1, "the greeting went (after the machine's words)", 15000);
    const live = h.standin.sessions[0]!;
    const call = rest.calls[0]!;
    const turns = () => live.sent.filter((k) => k.includes("usageMetadata")).length;
    await until(() => turns() === 1, "the greeting's turn is over");
    // The model hears a machine and says so; it also says something, which must not reach the recording.
    live.toolCall("voicemail", {});
    const toolAt = call.sentMs;
    live.speak({ ms: 400, transcript: "Oh, a voicemail." });
    await until(() => live.texts.length === 2, "the message was asked for", 15000);
    expect(live.texts[1]).toContain(`"${MESSAGE}"`);
    // Not before the beep had ended: the model got all the audio up to the beep's end first.
    const before = live.received.slice(0, live.received.lastIndexOf("text")).filter((k) => k === "audio").length * 20;
    expect(before).toBeGreaterThanOrEqual(call.beepEndMs);
    expect(call.sentMs).toBeGreaterThanOrEqual(call.beepEndMs);
    // Between the tool call and the message the machine heard nothing of the model.
    expect(call.heard.filter((f) => f.loud && f.atSentMs >= toolAt && f.atSentMs < call.beepEndMs)).toEqual([]);
    const done = await oh.attemptWhen(id, (a) => a.status === "done", "the attempt ended", 20000);
    expect(done).toMatchObject({ outcome: "voicemail", endReason: "voicemail", voicemailMessage: MESSAGE, callId: call.sessionId });
    expect(String(done.detail)).toContain("after the beep");
    // The relay hung the call up itself (after the agent said the message).
    expect(rest.hangups.map((x) => x.callId)).toContain(call.sessionId);
    // The message spoken by the model reached the machine.
    expect(call.heard.some((f) => f.loud && f.atSentMs >= call.beepEndMs)).toBe(true);
  }, 40000);

  test("hangup: the call is hung up as soon as the model says voicemail, and nothing is left", async () => {
    oh = await startOutbound({ fake: { script: () => ({ kind: "voicemail", greetingMs: 1500 }) } });
    const { h, rest } = oh;
    const r = await oh.post("/api/outbound", { agent: "surveys", to: "+254712345678" });
    await until(() => h.standin.sessions.length === 1 && h.standin.sessions[0]!.ready, "live ready", 15000);
    h.standin.sessions[0]!.toolCall("voicemail", {});
    const done = await oh.attemptWhen(String(r.body.id), (a) => a.status === "done", "ended", 15000);
    expect(done).toMatchObject({ outcome: "voicemail", endReason: "voicemail", voicemailMessage: "" });
    expect(rest.hangups.map((x) => x.callId)).toContain(rest.calls[0]!.sessionId);
  }, 30000);

  test("an inbound call's model asking for voicemail is told there is none; the call goes on", async () => {
    oh = await startOutbound({
      agents: `
agents:
  - name: desk
    prompt: "p"
    greeting: ""
    tools: [{ builtin: voicemail }]
`,
    });
    const { h } = oh;
    const { Caller } = await import("../relay/harness.ts");
    const c = await new Caller(await h.streamUrlFor("HD_in_vm")).open();
    await until(() => h.standin.sessions.length === 1 && h.standin.sessions[0]!.ready, "ready");
    const live = h.standin.sessions[0]!;
    live.toolCall("voicemail", {});
    await until(() => live.toolResponses.length === 1, "answered");
    expect(JSON.stringify(live.toolResponses[0])).toContain("not placed by the relay");
    expect(c.closed).toBeUndefined();
    c.ws.close();
  });
});

describe("opt_out", () => {
  test("the agent says goodbye, the number goes on the do-not-call list, the attempt is opted_out, and the number is not called again", async () => {
    oh = await startOutbound({ fake: { script: () => ({ kind: "answer", helloMs: 300 }) } });
    const { h, rest } = oh;
    const r = await oh.post("/api/outbound", { agent: "reminders", to: "+254712345678", variables: { name: "Wanjiru", time: "10:30" } });
    await until(() => h.standin.sessions.length === 1 && h.standin.sessions[0]!.texts.length === 1, "greeted", 15000);
    const live = h.standin.sessions[0]!;
    live.toolCall("opt_out", {});
    await until(() => live.toolResponses.length === 1, "opt_out answered");
    expect(JSON.stringify(live.toolResponses[0])).toContain("do-not-call list");
    live.speak({ ms: 500, transcript: "Of course. Goodbye." });
    const done = await oh.attemptWhen(String(r.body.id), (a) => a.status === "done", "ended", 20000);
    expect(done).toMatchObject({ outcome: "opted_out", endReason: "opted_out" });
    expect(rest.hangups.map((x) => x.callId)).toContain(rest.calls[0]!.sessionId);
    let dnc = await oh.get("/api/dnc");
    for (let i = 0; i < 100 && (dnc.body.numbers as unknown[]).length === 0; i++) {
      await Bun.sleep(20);
      dnc = await oh.get("/api/dnc");
    }
    expect(dnc.body.numbers).toMatchObject([{ number: "+254712345678", source: "opt_out" }]);
    const again = await oh.post("/api/outbound", { agent: "reminders", to: "+254712345678", variables: { name: "Wanjiru", time: "10:30" } });
    expect(again.status).toBe(409);
    expect(rest.originates).toHaveLength(1);
  }, 40000);
});
