// Outcomes of calls that never reach /voice, learned both ways: signed per-number events (deduplicated, forged ones
// refused) and GET /v1/calls/{id} after OUTBOUND_RING_TIMEOUT_S with neither webhook nor event, asked again until
// the status is final. Dial errors are counted and the request sent again with its Idempotency-Key. The clock is
// a fake one: the ring timeout passes when the test says so.
import { afterEach, describe, expect, test } from "bun:test";
import { signBody } from "../../src/signing/sautikit.ts";
import { cleanupAgentFiles } from "../relay/fixtures.ts";
import { SECRET } from "../relay/harness.ts";
import { FakeClock } from "../support/fake-clock.ts";
import type { CalleeScript } from "../support/sautikit-rest.ts";
import { startOutbound, until, type OutboundHarness } from "./support.ts";

let oh: OutboundHarness | undefined;
afterEach(async () => {
  await oh?.stop();
  oh = undefined;
  cleanupAgentFiles();
});

const RING_S = 45;

async function start(script: (to: string) => CalleeScript, env: Record<string, string> = {}): Promise<{ oh: OutboundHarness; clock: FakeClock }> {
  const clock = new FakeClock();
  clock.t = Date.now();
  oh = await startOutbound({ fake: { script, eventsSecret: SECRET }, clock, loop: false, env: { OUTBOUND_RING_TIMEOUT_S: String(RING_S), ...env } });
  return { oh, clock };
}

async function place(o: OutboundHarness, to = "+254712345678"): Promise<string> {
  const r = await o.post("/api/outbound", { agent: "surveys", to });
  expect(r.status).toBe(201);
  return String(r.body.id);
}

/** One round of the outbound loop, and the requests to Sautikit it started. */
async function round(o: OutboundHarness): Promise<void> {
  await o.h.outbound.runOnce();
  await o.h.outbound.dialer.idle();
}

const metric = async (o: OutboundHarness, line: string) => (await (await fetch(`${o.h.base}/metrics`)).text()).split("\n").find((l) => l.startsWith(line));

describe("events", () => {
  test("a signed no_answer event settles the attempt at once; its redelivery is dropped; no poll is needed", async () => {
    const { oh } = await start(() => ({ kind: "no_answer", ringMs: 20, event: true, duplicate: true }));
    const id = await place(oh);
    const a = await oh.attemptWhen(id, (x) => x.status === "done", "settled by the event");
    expect(a).toMatchObject({ outcome: "no_answer", sautikitStatus: "no_answer", callId: null });
    expect(String(a.detail)).toContain("call.failed event");
    await until(() => oh.rest.calls[0]!.eventAnswers.length === 2, "both deliveries answered");
    expect(oh.rest.calls[0]!.eventAnswers).toEqual(["settled", "duplicate"]);
    expect(oh.rest.statusChecks).toEqual([]);
    expect(await metric(oh, 'sauti_outbound_attempts_total{agent="surveys",outcome="no_answer"}')).toEndWith(" 1");
  });

  test("an event that says only 'completed' with a NO_ANSWER hang-up cause is a no_answer; busy is busy", async () => {
    const { oh } = await start((to) => (to.endsWith("1") ? { kind: "no_answer", event: true, eventStyle: "cause" } : { kind: "busy", event: true }));
    const a = await place(oh, "+254712345671");
    const b = await place(oh, "+254712345672");
    expect(await oh.attemptWhen(a, (x) => x.status === "done", "a")).toMatchObject({ outcome: "no_answer" });
    expect(await oh.attemptWhen(b, (x) => x.status === "done", "b")).toMatchObject({ outcome: "busy" });
  });

  test("a forged, a stale and an unsigned event are refused; one about nobody's call is answered and dropped", async () => {
    const { oh } = await start(() => ({ kind: "answer" }));
    const body = JSON.stringify({ kind: "call.failed", event_id: "ev1", data: { call_id: "x", status: "busy" } });
    const post = (headers: Record<string, string>) => fetch(`${oh.h.base}/sautikit/events`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
    expect((await post({ "x-sautikit-signature": signBody("whsec_wrong", body) })).status).toBe(401);
    expect((await post({ "x-sautikit-signature": signBody(SECRET, body, Math.floor(Date.now() / 1000) - 3600) })).status).toBe(401);
    expect((await post({})).status).toBe(401);
    const ok = await post({ "x-sautikit-signature": signBody(SECRET, body) });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ status: "unknown" });
    expect(await (await post({ "x-sautikit-signature": signBody(SECRET, body) })).json()).toEqual({ status: "duplicate" });
  });

  test("a signed call.supervision.* event is passed to the handoff desk with the ids it names; an unsigned one is refused", async () => {
    const { oh } = await start(() => ({ kind: "answer" }));
    const hinted: string[][] = [];
    const desk = oh.h.handoffs.live;
    const hint = desk.hint.bind(desk);
    desk.hint = (ids) => {
      hinted.push([...ids]);
      return hint(ids);
    };
    const body = JSON.stringify({ kind: "call.supervision.connected", event_id: "sv1", data: { call_id: "uuid-1", supervision_id: "sup-1" } });
    const post = (headers: Record<string, string>) => fetch(`${oh.h.base}/sautikit/events`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
    expect((await post({})).status).toBe(401);
    expect(hinted).toEqual([]);
    const ok = await post({ "x-sautikit-signature": signBody(SECRET, body) });
    expect(await ok.json()).toEqual({ status: "supervision" });
    expect(hinted).toEqual([["uuid-1", "sup-1"]]);
  });
});

describe("polling", () => {
  test("no webhook, no event: asked after the ring timeout, and again with backoff until the status is final", async () => {
    const { oh, clock } = await start(() => ({ kind: "no_answer", ringMs: 60_000 }));
    const id = await place(oh);
    await until(() => oh.rest.calls.length === 1, "placed");
    await oh.attemptWhen(id, (x) => x.status === "ringing", "ringing");
    await round(oh);
    expect(oh.rest.statusChecks).toEqual([]); // not before the ring timeout
    clock.t += RING_S * 1000 + 1;
    await round(oh);
    expect(oh.rest.statusChecks).toEqual([oh.rest.calls[0]!.callId]);
    expect(await oh.attemptWhen(id, () => true, "")).toMatchObject({ status: "ringing", sautikitStatus: "ringing" });
    await round(oh);
    expect(oh.rest.statusChecks).toHaveLength(1); // backoff: not asked again at once
    // Sautikit decides; the next question learns it.
    oh.rest.calls[0]!.status = "no_answer";
    clock.t += 5_000;
    await round(oh);
    expect(oh.rest.statusChecks).toHaveLength(2);
    expect(await oh.attemptWhen(id, (x) => x.status === "done", "done")).toMatchObject({ outcome: "no_answer", sautikitStatus: "no_answer" });
  });

  test("a status Sautikit does not document is logged and kept, not acted on", async () => {
    const { oh, clock } = await start(() => ({ kind: "no_answer", ringMs: 60_000 }));
    const id = await place(oh);
    await oh.attemptWhen(id, (x) => x.status === "ringing", "ringing");
    oh.rest.reportStatus = () => "parked_somewhere";
    clock.t += RING_S * 1000 + 1;
    await round(oh);
    expect(await oh.attemptWhen(id, () => true, "")).toMatchObject({ status: "ringing", sautikitStatus: "parked_somewhere", outcome: null });
    expect(oh.h.logs.some((l) => l.includes("does not document") && l.includes("parked_somewhere"))).toBe(true);
    oh.rest.reportStatus = undefined;
    oh.rest.calls[0]!.status = "busy";
    clock.t += 10_000;
    await round(oh);
    expect(await oh.attemptWhen(id, (x) => x.status === "done", "done")).toMatchObject({ outcome: "busy" });
  });

  test("a slow Sautikit is asked about a call once at a time, however many rounds pass meanwhile", async () => {
    const { oh, clock } = await start(() => ({ kind: "no_answer", ringMs: 60_000 }));
    const id = await place(oh);
    await oh.attemptWhen(id, (x) => x.status === "ringing", "ringing");
    oh.rest.slowMs = 300; // GET too
    clock.t += RING_S * 1000 + 1;
    for (let i = 0; i < 5; i++) {
      await oh.h.outbound.runOnce();
      clock.t += 1000;
    }
    await oh.h.outbound.dialer.idle();
    expect(oh.rest.statusChecks).toHaveLength(1);
  });

  test("a failed call: the poll says failed", async () => {
    const { oh, clock } = await start(() => ({ kind: "fail" }));
    const id = await place(oh);
    await until(() => oh.rest.calls[0]?.status === "failed", "the fake failed it");
    clock.t += RING_S * 1000 + 1;
    await round(oh);
    expect(await oh.attemptWhen(id, (x) => x.status === "done", "done")).toMatchObject({ outcome: "failed", sautikitStatus: "failed" });
  });
});

describe("dial errors", () => {
  test("402 (no money in the wallet): failed at once, counted by cause", async () => {
    const { oh } = await start(() => ({ kind: "fail", httpStatus: 402 }));
    const id = await place(oh);
    const a = await oh.attemptWhen(id, (x) => x.status === "done", "failed");
    expect(a.outcome).toBe("failed");
    expect(String(a.detail)).toContain("402");
    expect(oh.rest.originates).toHaveLength(1);
    expect(await metric(oh, 'sauti_outbound_dial_errors_total{cause="payment_required"}')).toEndWith(" 1");
  });

  test("Sautikit down: the same request (same Idempotency-Key) is sent again until it answers; one call is placed", async () => {
    const { oh, clock } = await start(() => ({ kind: "busy" }));
    oh.rest.down = true;
    const id = await place(oh);
    await until(() => oh.rest.originates.length === 1, "first try");
    await oh.h.outbound.dialer.idle();
    clock.t += 2_001;
    await round(oh);
    expect(oh.rest.originates).toHaveLength(2);
    oh.rest.down = false;
    clock.t += 4_001;
    await round(oh);
    expect(oh.rest.originates.map((r) => r.idempotencyKey)).toEqual([id, id, id]);
    expect(oh.rest.calls).toHaveLength(1);
    expect(await metric(oh, 'sauti_outbound_dial_errors_total{cause="server_error"}')).toEndWith(" 2");
    // A repeat of a key that did place a call answers that call and dials nothing.
    const again = await fetch(`${oh.rest.url}/v1/calls`, {
      method: "POST",
      headers: { authorization: "Bearer tsk_live_test_key", "idempotency-key": id, "content-type": "application/json" },
      body: JSON.stringify(oh.rest.originates[2]!.body),
    });
    expect(((await again.json()) as { call_id: string }).call_id).toBe(oh.rest.calls[0]!.callId);
    expect(oh.rest.calls).toHaveLength(1);
  });

  test("an inbound call is not held up by a Sautikit that does not answer", async () => {
    const { oh } = await start(() => ({ kind: "busy" }));
    oh.rest.slowMs = 3000;
    await place(oh);
    await until(() => oh.rest.originates.length === 1, "the originate request is in flight");
    const url = await oh.h.streamUrlFor("HD_inbound_slow", "+254711000000");
    expect(url).toContain("/stream?call=HD_inbound_slow");
    // Answered while Sautikit still sits on the originate request.
    expect(oh.rest.originates[0]!.status).toBe(0);
  });
});
