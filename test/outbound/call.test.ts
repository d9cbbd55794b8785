// One outbound call end to end, through the real relay and the Sautikit fake: POST /api/outbound places it
// (Bearer key, Idempotency-Key and client_request_id = the attempt id), the answered call's webhook runs the
// requested agent with its variables (not the agent routed by number), the callee speaks first, and the attempt
// and the call record say how it went.
import { afterEach, describe, expect, test } from "bun:test";
import { cleanupAgentFiles } from "../relay/fixtures.ts";
import { API_KEY, FROM, startOutbound, until, type OutboundHarness } from "./support.ts";

let oh: OutboundHarness | undefined;
afterEach(async () => {
  await oh?.stop();
  oh = undefined;
  cleanupAgentFiles();
});

type Setup = { systemInstruction?: { parts: Array<{ text: string }> }; generationConfig: { speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName: string } } } } };

/** Audio messages the model got before its first text (the greeting): 20 ms each, the caller's audio time. */
function audioBeforeFirstText(received: readonly string[]): number {
  const i = received.indexOf("text");
  return (i < 0 ? received : received.slice(0, i)).filter((k) => k === "audio").length;
}

describe("POST /api/outbound", () => {
  test("places the call, runs the requested agent with its variables, greets after the callee's Hello?, records it as outbound", async () => {
    oh = await startOutbound({ fake: { script: () => ({ kind: "answer", helloMs: 400, hangUpAfterMs: 3000 }) } });
    const { h, rest } = oh;
    const r = await oh.post("/api/outbound", { agent: "reminders", to: "+254 712 345 678", variables: { name: "Wanjiru", time: "10:30" } });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ status: "dialing", agent: "reminders", from: FROM, to: "+254712345678", variables: { name: "Wanjiru", time: "10:30" }, outcome: null });
    const id = String(r.body.id);
    expect(id).toMatch(/^att_[0-9a-f]{32}$/);

    await until(() => rest.calls.length === 1, "the fake placed the call");
    const o = rest.originates[0]!;
    expect(o.auth).toBe(`Bearer ${API_KEY}`);
    expect(o.idempotencyKey).toBe(id);
    expect(o.body).toEqual({ from: FROM, to: ["+254712345678"], voice_callback_url: `${h.base}/voice`, client_request_id: id });

    await until(() => h.standin.sessions.length === 1 && h.standin.sessions[0]!.texts.length === 1, "the greeting reached the model", 10000);
    const live = h.standin.sessions[0]!;
    const setup = live.setup as unknown as Setup;
    // The agent asked for, not the one routed by number, its texts filled with the request's variables.
    expect(setup.generationConfig.speechConfig.voiceConfig.prebuiltVoiceConfig.voiceName).toBe("Puck");
    expect(setup.systemInstruction!.parts[0]!.text).toBe("You call Wanjiru to remind them of their appointment at 10:30. Their number is +254712345678.");
    expect(live.texts[0]).toBe("Greet Wanjiru and remind them of the appointment at 10:30.");
    // Not into the ringing line, not over "Hello?" (200-600 ms of the call's audio): after its end and a pause.
    const call = rest.calls[0]!;
    expect(audioBeforeFirstText(live.received) * 20).toBeGreaterThanOrEqual(call.wordsEndMs + 300);
    // …and not after waiting out the silence timeout either.
    expect(audioBeforeFirstText(live.received) * 20).toBeLessThan(1500);

    const mid = await oh.attemptWhen(id, (a) => a.status === "in_call", "the attempt is in a call");
    expect(mid).toMatchObject({ sautikitCallId: call.callId, callId: call.sessionId });

    const done = await oh.attemptWhen(id, (a) => a.status === "done", "the attempt ended", 15000);
    expect(done).toMatchObject({ outcome: "completed", endReason: "caller_hangup", callId: call.sessionId, sautikitCallId: call.callId });
    let rec = await oh.get(`/api/calls/${call.sessionId}`);
    for (let i = 0; i < 200 && rec.body.endReason == null; i++) {
      await Bun.sleep(20);
      rec = await oh.get(`/api/calls/${call.sessionId}`);
    }
    expect(rec.status).toBe(200);
    expect(rec.body).toMatchObject({ direction: "outbound", attemptId: id, agent: "reminders", caller: FROM, callee: "+254712345678", endReason: "caller_hangup" });
    expect(rec.body.variables).toMatchObject({ name: "Wanjiru", time: "10:30", caller: FROM, callee: "+254712345678" });
    const list = await oh.get("/api/calls?limit=5");
    expect((list.body.calls as Array<Record<string, unknown>>)[0]).toMatchObject({ id: call.sessionId, direction: "outbound", attemptId: id });
    // Variables may be personal data: never at info level.
    const infoLines = h.logs.filter((l) => (JSON.parse(l) as { level: number }).level >= 30).join("\n");
    expect(infoLines).not.toContain("Wanjiru");
    expect(infoLines).not.toContain("+254712345678");
    const text = await (await fetch(`${h.base}/metrics`)).text();
    expect(text).toContain('sauti_outbound_attempts_total{agent="reminders",outcome="completed"} 1');
  }, 30000);

  test("a callee who says nothing hears the greeting after outbound.greetAfterMs of silence", async () => {
    oh = await startOutbound({ fake: { script: () => ({ kind: "answer", helloMs: 0, hangUpAfterMs: 2500 }) } });
    const { h } = oh;
    const r = await oh.post("/api/outbound", { agent: "surveys", to: "+254712345679" });
    expect(r.status).toBe(201);
    await until(() => h.standin.sessions.length === 1 && h.standin.sessions[0]!.texts.length === 1, "the greeting reached the model", 10000);
    const before = audioBeforeFirstText(h.standin.sessions[0]!.received) * 20;
    // surveys: greetAfterMs 800.
    expect(before).toBeGreaterThanOrEqual(800);
    expect(before).toBeLessThan(1500);
    await oh.attemptWhen(String(r.body.id), (a) => a.status === "done", "the attempt ended");
  }, 30000);

  test("an inbound call gets caller, callee, date and time in its agent's prompt; inbound greeting unchanged", async () => {
    oh = await startOutbound();
    const { h } = oh;
    const url = await h.streamUrlFor("HD_inbound1", "+254711000000");
    const { Caller } = await import("../relay/harness.ts");
    const c = await new Caller(url).open();
    await until(() => h.standin.sessions.length === 1 && h.standin.sessions[0]!.ready, "live ready");
    const setup = h.standin.sessions[0]!.setup as unknown as Setup;
    expect(setup.systemInstruction!.parts[0]!.text).toMatch(/^You answer for Duka Ltd\. The caller is \+254700000001; it is \d\d:\d\d on \w+day, \d{1,2} \w+ \d{4}\.$/);
    // Inbound: the leg greets by itself once ready (nothing waits for the caller).
    await until(() => h.standin.sessions[0]!.texts.length === 1, "inbound greeting");
    expect(h.standin.sessions[0]!.texts[0]).toBe("Greet the caller.");
    c.ws.close();
  }, 20000);
});

describe("refusals", () => {
  test("400 names the field: unknown agent, an agent without outbound.from, a number not E.164, a missing variable, a bad variable", async () => {
    oh = await startOutbound();
    const cases: Array<[unknown, string, RegExp]> = [
      [{ agent: "nobody", to: "+254712345678" }, "agent", /no agent named "nobody"/],
      [{ agent: "front-desk", to: "+254712345678" }, "agent", /has no outbound\.from number/],
      [{ agent: "reminders", to: "0712345678", variables: { name: "A", time: "1" } }, "to", /E\.164/],
      [{ agent: "reminders", to: "+254712345678", variables: { name: "Wanjiru" } }, "variables.time", /uses \{\{time\}\}/],
      [{ agent: "reminders", to: "+254712345678", variables: { name: { first: "W" }, time: "1" } }, "variables.name", /text/],
      [{ agent: "reminders", to: "+254712345678", variables: ["x"] }, "variables", /object/],
    ];
    for (const [body, field, re] of cases) {
      const r = await oh.post("/api/outbound", body);
      expect([JSON.stringify(body), r.status]).toEqual([JSON.stringify(body), 400]);
      expect(r.body.field).toBe(field);
      expect(String(r.body.error)).toMatch(re);
    }
    expect(oh.rest.originates).toHaveLength(0);
  });

  test("409 for a number on the do-not-call list; DELETE takes it off and the call goes", async () => {
    oh = await startOutbound({ fake: { script: () => ({ kind: "busy" }) } });
    expect((await oh.post("/api/dnc", { number: "254712345678" })).status).toBe(201);
    expect((await oh.post("/api/dnc", { number: "+254712345678" })).body).toMatchObject({ added: false });
    const list = await oh.get("/api/dnc");
    expect(list.body.numbers).toMatchObject([{ number: "+254712345678", source: "api" }]);
    const r = await oh.post("/api/outbound", { agent: "surveys", to: "+254712345678" });
    expect(r.status).toBe(409);
    expect(oh.rest.originates).toHaveLength(0);
    const del = await fetch(`${oh.h.base}/api/dnc/${encodeURIComponent("+254712345678")}`, { method: "DELETE", headers: { authorization: `Bearer ${oh.h.config.records.adminToken}` } });
    expect(del.status).toBe(204);
    expect((await oh.post("/api/outbound", { agent: "surveys", to: "+254712345678" })).status).toBe(201);
  });

  test("a viewer without ADMIN_TOKEN (loopback) sees the numbers called as …678, in the attempt and its variables", async () => {
    oh = await startOutbound({ env: { ADMIN_TOKEN: "" }, fake: { script: () => ({ kind: "busy" }) } });
    const r = await oh.post("/api/outbound", { agent: "reminders", to: "+254712345678", variables: { name: "W", time: "1", callback: "+254799000111" } });
    expect(r.status).toBe(201);
    const a = await oh.get(`/api/outbound/${r.body.id}`);
    expect(a.body).toMatchObject({ to: "…678", from: "+254711000100", variables: { name: "W", time: "1", callback: "…111" } });
    expect(JSON.stringify(a.body)).not.toContain("254712345678");
  });

  test("without SAUTIKIT_API_KEY: 503 saying so, for one call and for a campaign (which would never dial), nothing placed", async () => {
    oh = await startOutbound({ env: { SAUTIKIT_API_KEY: "" }, loop: false });
    const r = await oh.post("/api/outbound", { agent: "surveys", to: "+254712345678" });
    expect(r.status).toBe(503);
    expect(String(r.body.error)).toContain("SAUTIKIT_API_KEY");
    const c = await oh.post("/api/campaigns", { name: "c", agent: "surveys", contacts: [{ to: "+254712345678" }] });
    expect(c.status).toBe(503);
    expect(String(c.body.error)).toContain("SAUTIKIT_API_KEY");
    expect(((await oh.get("/api/campaigns")).body as { campaigns: unknown[] }).campaigns).toHaveLength(0);
    await oh.h.outbound.runOnce();
    expect(oh.rest.originates).toHaveLength(0);
  });

  test("the admin guard: no token, 401", async () => {
    oh = await startOutbound();
    const res = await fetch(`${oh.h.base}/api/outbound`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ agent: "surveys", to: "+254712345678" }) });
    expect(res.status).toBe(401);
    expect((await fetch(`${oh.h.base}/api/dnc`)).status).toBe(401);
  });
});
