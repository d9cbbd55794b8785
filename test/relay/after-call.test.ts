// What came of the call, through the whole relay: real calls over the audio socket against the Live stand-in, the
// generateContent stand-in as the analysis model, a Standard Webhooks receiver as CALL_WEBHOOK_URL and as the
// handoff's notify URL, and the Sautikit fake for supervision. A slow model never holds up the record or the
// call.ended report; the analysis lands on the record, in GET /api/calls/:id and in call.analyzed; the model's
// handoff reaches a person, and a person on the line silences the agent until they leave.
import { afterEach, describe, expect, test } from "bun:test";
import { singleAgent, type Agent } from "../../src/call/agent.ts";
import { NUDGE_BACK } from "../../src/call/handoff.ts";
import type { CallRecord } from "../../src/records/record.ts";
import { OFFLINE_SKIP } from "../../src/analysis/worker.ts";
import { handoffTool } from "../../src/tools/handoff.ts";
import { cleanupAfterEach } from "../support/cleanup.ts";
import { GenerateStandin } from "../support/generate-standin.ts";
import { fakeSautikitRest } from "../support/sautikit-rest.ts";
import { WebhookReceiver, whsecret } from "../support/webhook-receiver.ts";
import { ADMIN_ENV, agent as support, getJson, openCall, recordWhen, talkAndHangUp } from "../records/helpers.ts";
import { GOOD_ANSWER, SPEC } from "../analysis/helpers.ts";
import { startHarness, until, type Harness } from "./harness.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
}, 20000);
const cleanup = cleanupAfterEach();

function model(): GenerateStandin {
  const s = new GenerateStandin("test-key");
  s.start();
  cleanup(() => s.stop());
  return s;
}

function receiver(path = "/hooks"): WebhookReceiver {
  const r = new WebhookReceiver(whsecret(), path).up();
  cleanup(() => r.stop());
  return r;
}

const adminPost = (path: string) => fetch(h!.base + path, { method: "POST", headers: { authorization: `Bearer ${ADMIN_ENV.ADMIN_TOKEN}` } });

describe("analysis", () => {
  test("a slow model holds up nothing: the record and call.ended come at once; the analysis follows on the record, the API and call.analyzed", async () => {
    const m = model();
    m.answers.push({ hang: true });
    const hooks = receiver();
    const agent: Agent = { ...support, analysis: SPEC };
    h = await startHarness(
      { CALL_WEBHOOK_URL: hooks.url, CALL_WEBHOOK_SECRET: hooks.secret, CALL_WEBHOOK_BACKOFF_MS: "100", ...ADMIN_ENV, ...modelEnv(m) },
      {},
      { router: singleAgent(agent) },
    );
    await h.records.store.ready;
    await talkAndHangUp(h, "HD_an");
    await until(() => hooks.events("call.ended").length === 1, "call.ended delivered while the model is silent", 15000);
    await until(() => m.received.length === 1, "the analysis request is out (and hangs)", 15000);
    const pending = await getJson<CallRecord>(h, "/api/calls/HD_an");
    expect(pending.body.endReason).toBe("caller_hangup");
    expect(pending.body.analysis).toEqual({ pending: true, attempts: 0 });
    expect((hooks.events("call.ended")[0]!.data as unknown as CallRecord).analysis).toEqual({ pending: true, attempts: 0 });

    m.release({ json: GOOD_ANSWER });
    const rec = await recordWhen(h, "HD_an", (r) => r.analysis !== null && "summary" in r.analysis, "analysis on the record");
    expect(rec.analysis).toMatchObject({ ...GOOD_ANSWER, model: "gemini-flash-latest" });
    await until(() => hooks.events("call.analyzed").length === 1, "call.analyzed delivered", 15000);
    const analyzed = hooks.events("call.analyzed")[0]!;
    expect(analyzed.data.analysis).toEqual(rec.analysis);
    expect(analyzed.data.id).toBe("HD_an");
    expect(hooks.got.every((g) => g.error === undefined)).toBe(true);
    expect(m.accepted).toHaveLength(1);
    // The transcript the model read is the call's.
    expect(JSON.stringify(m.received[0]!.body)).toContain("Where is my order?");

    // Run it again (admin): a fresh analysis, a second call.analyzed.
    m.answers.push({ json: { ...GOOD_ANSWER, summary: "Looked at again." } });
    const again = await adminPost("/api/calls/HD_an/analyze");
    expect(again.status).toBe(202);
    expect(await again.json()).toEqual({ analysis: { pending: true, attempts: 0 } });
    await recordWhen(h, "HD_an", (r) => r.analysis !== null && "summary" in r.analysis && r.analysis.summary === "Looked at again.", "second analysis");
    await until(() => hooks.events("call.analyzed").length === 2, "second call.analyzed", 15000);
    expect((await adminPost("/api/calls/HD_nope/analyze")).status).toBe(404);
    const anon = await fetch(`${h.base}/api/calls/HD_an/analyze`, { method: "POST" });
    expect(anon.status).toBe(401);
  }, 40000);

  test("offline mode: nothing goes to Google; the record says the analysis was skipped and why", async () => {
    const m = model();
    h = await startHarness({ GEMINI_API_KEY: "", ...ADMIN_ENV, ...modelEnv(m) }, {}, { router: singleAgent({ ...support, analysis: SPEC }) });
    await h.records.store.ready;
    await talkAndHangUp(h, "HD_off");
    const rec = await recordWhen(h, "HD_off", (r) => r.analysis !== null && "skipped" in r.analysis, "skipped");
    expect(rec.analysis).toEqual({ skipped: OFFLINE_SKIP });
    expect(m.received).toHaveLength(0);
  }, 30000);

  test("an agent without analysis: none queued, and asking for one is 409", async () => {
    const m = model();
    h = await startHarness({ ...ADMIN_ENV, ...modelEnv(m) }, {}, { router: singleAgent(support) });
    await h.records.store.ready;
    await talkAndHangUp(h, "HD_no");
    const rec = await recordWhen(h, "HD_no", (r) => r.endedAt !== null, "ended");
    expect(rec.analysis).toBeNull();
    const r = await adminPost("/api/calls/HD_no/analyze");
    expect(r.status).toBe(409);
    expect(m.received).toHaveLength(0);
  }, 30000);
});

describe("handoff", () => {
  test("the model hands the caller over: a signed call.handoff with the transcript so far and the console link; the model hears it was delivered", async () => {
    const hooks = receiver("/hooks/handoff");
    const agent: Agent = {
      ...support,
      tools: [...support.tools, handoffTool(8000)],
      handoff: { notify: { url: hooks.url, headers: { "x-team": "support" } }, say: "a colleague calls back within the hour", live: undefined, timeoutMs: 8000 },
    };
    h = await startHarness({ HANDOFF_WEBHOOK_SECRET: hooks.secret, ...ADMIN_ENV }, {}, { router: singleAgent(agent) });
    await h.records.store.ready;
    const { caller, live } = await openCall(h, "HD_ho");
    live.send({ serverContent: { inputTranscription: { text: "I want a real person.", finished: true } } });
    live.speak({ ms: 300, transcript: "Let me pass you to a colleague." });
    await until(() => live.sent.some((k) => k.includes("usageMetadata")) && caller.audioMs() > 300, "answer complete and heard", 10000);
    live.toolCall("handoff", { reason: "asks for a person", summary: "The caller wants to speak to a person about an order." });
    await until(() => live.toolResponses.length === 1, "handoff answered", 10000);
    const resp = live.toolResponses[0]!.response as Record<string, unknown>;
    expect(resp).toMatchObject({ status: "ok", delivered: true });
    expect(String(resp.message)).toContain("a colleague calls back within the hour");

    expect(hooks.got).toHaveLength(1);
    const g = hooks.got[0]!;
    expect(g.error).toBeUndefined();
    expect(g.headers["x-team"]).toBe("support");
    const data = g.event!.data as Record<string, unknown>;
    expect(data).toMatchObject({ callId: "HD_ho", agent: "support", caller: "+254700000001", callee: "+254700000002", reason: "asks for a person", live: null });
    expect(data.consoleUrl).toBe(`${h.config.publicUrl}/console/calls#call=HD_ho`);
    expect((data.transcript as Array<{ text: string }>).map((u) => u.text)).toEqual(["I want a real person.", "Let me pass you to a colleague."]);
    caller.ws.close();
    const rec = await recordWhen(h, "HD_ho", (r) => r.endedAt !== null && r.handoffs.length === 1, "handoff on the record");
    expect(rec.handoffs[0]).toMatchObject({ id: g.headers["webhook-id"], reason: "asks for a person", notify: { status: "delivered", attempts: 1 }, live: null });
    expect(rec.toolCalls.find((t) => t.name === "handoff")).toMatchObject({ outcome: "ok", args: { reason: "asks for a person" } });
  }, 30000);

  test("a person on the live call: Sautikit barges them in, the caller is not answered while they are on, and the agent takes the call back when they leave", async () => {
    const hooks = receiver("/hooks/handoff");
    const rest = fakeSautikitRest();
    cleanup(() => rest.stop());
    const agent: Agent = {
      ...support,
      tools: [...support.tools, handoffTool(8000)],
      handoff: { notify: { url: hooks.url, headers: {} }, say: undefined, live: { number: "+254711000999", after: "resume" }, timeoutMs: 8000 },
    };
    h = await startHarness(
      { HANDOFF_WEBHOOK_SECRET: hooks.secret, SAUTIKIT_API_KEY: "tsk_test", SAUTIKIT_API_URL: rest.url, SUPERVISION_POLL_S: "1", ...ADMIN_ENV },
      { mute: true },
      { router: singleAgent(agent) },
    );
    await h.records.store.ready;
    const { caller, live } = await openCall(h, "HD_lv");
    live.toolCall("handoff", { reason: "needs a nurse", summary: "The caller needs a nurse." });
    await until(() => live.toolResponses.length === 1, "handoff answered", 10000);
    expect(live.toolResponses[0]!.response).toMatchObject({ status: "ok", delivered: true, person: "connecting" });
    expect(rest.supervisionRequests[0]).toMatchObject({ method: "POST", callId: "HD_lv", body: { mode: "barge", supervisor: { type: "phone", number: "+254711000999" } }, auth: "Bearer tsk_test" });

    rest.setSupervision("HD_lv", "connected");
    await recordWhen(h, "HD_lv", (r) => r.handoffs[0]?.live?.state === "connected", "the person is on");
    const quietFrames = 25;
    for (let i = 0; i < quietFrames; i++) caller.ws.send(new Uint8Array(640));

    rest.setSupervision("HD_lv", "ended");
    await until(() => live.texts.includes(NUDGE_BACK), "the agent is told the caller is back", 10000);
    caller.ws.send(new Uint8Array(640));
    await until(() => live.audioFrames > 0, "caller audio reaches the model again", 10000);
    caller.ws.close();
    const rec = await recordWhen(h, "HD_lv", (r) => r.endedAt !== null && r.handoffs[0]?.live?.state === "ended", "ended");
    // Every caller frame reached the relay (and its recording); the ones while the person was on did not reach the model.
    expect(rec.audio!.framesIn - (rec.model!.callerChunks ?? 0)).toBe(quietFrames);
    expect(rec.handoffs[0]!.live).toMatchObject({ number: "+254711000999", state: "ended", error: null });
    expect(rec.endReason).toBe("caller_hangup");
  }, 30000);
});

/** The analysis model's settings for a harness: the stand-in's URL. */
function modelEnv(m: GenerateStandin): Record<string, string> {
  return { GEMINI_API_URL: m.url, ANALYSIS_BACKOFF_MS: "100" };
}
