// The handoff desk against real things: a SQLite records store with its recorder, the outbox on a fake clock, a real
// Standard Webhooks receiver (verified with `standardwebhooks`) that is down for a while, and the Sautikit fake's
// supervision endpoints. Retries and supervision polls happen when the test moves the clock.
import { describe, expect, test } from "bun:test";
import type { HandoffSpec } from "../../src/call/agent.ts";
import { CallEventHub } from "../../src/call/events.ts";
import type { HandoffLine, HandoffRequest } from "../../src/call/handoff.ts";
import type { HandoffService } from "../../src/handoff/desk.ts";
import { HandoffService as Desk, type HandoffEvent } from "../../src/handoff/desk.ts";
import { supervisionApi } from "../../src/handoff/api.ts";
import { Deliveries, retryDelayMs } from "../../src/records/delivery.ts";
import type { HandoffRecord } from "../../src/records/record.ts";
import { Recorder } from "../../src/records/recorder.ts";
import type { SqlStore } from "../../src/records/store.ts";
import { Hono } from "hono";
import { cleanupAfterEach } from "../support/cleanup.ts";
import { FakeClock } from "../support/fake-clock.ts";
import { captureLog } from "../support/log.ts";
import { fakeSautikitRest, type FakeSautikitRest } from "../support/sautikit-rest.ts";
import { until } from "../support/wait.ts";
import { WebhookReceiver, whsecret } from "../support/webhook-receiver.ts";
import { engines } from "../records/helpers.ts";

const defer = cleanupAfterEach();
const { sqliteUrl, open } = engines(defer);

const HANDOFF = { secret: whsecret(), retries: 4, backoffMs: 1000, timeoutMs: 5000, supervisionPollMs: 5000 };

class LineDouble implements HandoffLine {
  readonly said: string[] = [];
  joining(): void {
    this.said.push("joining");
  }
  joined(): void {
    this.said.push("joined");
  }
  left(failed: boolean): void {
    this.said.push(failed ? "left (never came)" : "left");
  }
}

interface Rig {
  store: SqlStore;
  desk: HandoffService;
  clock: FakeClock;
  receiver: WebhookReceiver;
  rest: FakeSautikitRest;
  events: CallEventHub;
  lines: string[];
  spec(o?: Partial<HandoffSpec>): HandoffSpec;
  request(o?: Partial<HandoffRequest>): HandoffRequest;
  handoffs(callId: string): Promise<HandoffRecord[]>;
}

async function rig(): Promise<Rig> {
  const { store } = await open(sqliteUrl(), "sqlite");
  const { log, lines } = captureLog("debug");
  const clock = new FakeClock();
  clock.t = Date.now();
  const receiver = new WebhookReceiver(HANDOFF.secret, "/hooks/handoff").up();
  defer(() => receiver.stop());
  const rest = fakeSautikitRest();
  defer(() => rest.stop());
  const recorder = new Recorder({ store, queueMax: 1000, deliveries: false, log });
  defer(() => recorder.stop());
  const deliveries = new Deliveries(store, { call: undefined, handoff: HANDOFF }, log, clock);
  defer(() => deliveries.stop());
  const events = new CallEventHub(log);
  const desk = new Desk({
    outbox: deliveries,
    record: (op) => recorder.push(op),
    events,
    supervision: { apiUrl: rest.url, apiKey: "tsk_test" },
    pollMs: HANDOFF.supervisionPollMs,
    publicUrl: () => "https://relay.example.com/",
    log,
    clock,
  });
  defer(() => desk.stop());
  const spec = (o: Partial<HandoffSpec> = {}): HandoffSpec => ({ notify: { url: receiver.url, headers: { authorization: "Bearer ops-token", "x-team": "nurses" } }, say: "a nurse calls them back today", live: undefined, timeoutMs: 8000, ...o });
  await store.write([{ kind: "started", id: "HD_h", agent: "clinic", caller: "+254700000001", callee: "+254700000002", source: "phone", at: Date.now() }]);
  return {
    store,
    desk,
    clock,
    receiver,
    rest,
    events,
    lines,
    spec,
    request: (o = {}) => ({
      callId: "HD_h",
      agent: "clinic",
      caller: "+254700000001",
      callee: "+254700000002",
      source: "phone",
      reason: "wants a nurse",
      summary: "The caller asked for a nurse about tomorrow's appointment.",
      atMs: 4200,
      transcript: [{ role: "caller", text: "Can I talk to a nurse?", startMs: 3000, endMs: 4000, interrupted: false, heardMs: null }],
      spec: spec(),
      ...o,
    }),
    handoffs: async (id) => (await store.getCall(id))!.handoffs,
  };
}

const deadline = (ms = 8000) => performance.now() + ms;

describe("call.handoff", () => {
  test("signed, to the agent's URL with its headers, carrying the caller, agent, reason, summary, transcript and console link", async () => {
    const r = await rig();
    const answer = await r.desk.handOff(r.request(), new LineDouble(), deadline());
    expect(answer).toEqual({ status: "ok", delivered: true, message: "A colleague has been sent the reason and your summary. Tell the caller that a nurse calls them back today." });
    expect(r.receiver.got).toHaveLength(1);
    const got = r.receiver.got[0]!;
    expect(got.error).toBeUndefined();
    expect(got.headers.authorization).toBe("Bearer ops-token");
    expect(got.headers["x-team"]).toBe("nurses");
    expect(got.headers["webhook-id"]).toMatch(/^msg_[0-9a-f]{32}$/);
    const e = got.event as unknown as HandoffEvent;
    expect(e.type).toBe("call.handoff");
    expect(e.data).toEqual({
      handoffId: got.headers["webhook-id"]!,
      callId: "HD_h",
      agent: "clinic",
      caller: "+254700000001",
      callee: "+254700000002",
      reason: "wants a nurse",
      summary: "The caller asked for a nurse about tomorrow's appointment.",
      transcript: [{ role: "caller", text: "Can I talk to a nurse?", startMs: 3000, endMs: 4000, interrupted: false, heardMs: null }],
      consoleUrl: "https://relay.example.com/console/calls#call=HD_h",
      live: null,
    });
    const hs = await until2(() => r.handoffs("HD_h"), (h) => h.length === 1, "handoff recorded");
    expect(hs[0]).toMatchObject({ id: got.headers["webhook-id"], atMs: 4200, reason: "wants a nurse", notify: { status: "delivered", attempts: 1, error: null }, live: null });
  });

  test("the receiver down for a while: the model hears it is being retried; the outbox delivers it, same webhook-id, once the backoff passes", async () => {
    const r = await rig();
    await r.receiver.down();
    const answer = await r.desk.handOff(r.request(), new LineDouble(), deadline());
    expect(answer).toMatchObject({ status: "ok", delivered: false });
    expect(answer.message).toContain("being retried");
    await until2(() => r.handoffs("HD_h"), (h) => h[0]?.notify.status === "pending", "recorded as pending");
    expect(r.clock.requested.some((ms) => ms >= retryDelayMs(1000, 1) * 0.8 && ms <= retryDelayMs(1000, 1))).toBe(true);
    // Second attempt: still down.
    r.clock.advance(retryDelayMs(1000, 1));
    await until2(() => r.handoffs("HD_h"), (h) => h[0]?.notify.attempts === 2, "second attempt failed");
    r.receiver.up();
    r.clock.advance(retryDelayMs(1000, 2));
    const h = await until2(() => r.handoffs("HD_h"), (x) => x[0]?.notify.status === "delivered", "delivered");
    expect(h[0]!.notify).toEqual({ status: "delivered", attempts: 3, error: null });
    expect(r.receiver.got).toHaveLength(1);
    expect(r.receiver.got[0]!.error).toBeUndefined();
    expect(r.receiver.got[0]!.headers["webhook-id"]).toBe(h[0]!.id);
    expect(r.receiver.got[0]!.headers.authorization).toBe("Bearer ops-token");
  });

  test("410 Gone: not retried; the model is told nobody could be told", async () => {
    const r = await rig();
    r.receiver.status = 410;
    const answer = await r.desk.handOff(r.request(), new LineDouble(), deadline());
    expect(answer).toMatchObject({ delivered: false, message: "No colleague could be told about this call. Apologise to the caller, and suggest they call back later." });
    expect((await until2(() => r.handoffs("HD_h"), (h) => h.length === 1, "recorded"))[0]!.notify).toEqual({ status: "failed", attempts: 1, error: "HTTP 410" });
  });
});

describe("a person on the line (handoff.live)", () => {
  test("Sautikit is asked to barge the number in; the line hears joining, joined (poll says connected), left (supervision gone); the record follows", async () => {
    const r = await rig();
    const line = new LineDouble();
    const req = r.request({ spec: r.spec({ live: { number: "+254711000999", after: "resume" } }) });
    const answer = await r.desk.handOff(req, line, deadline());
    expect(answer).toMatchObject({ status: "ok", delivered: true, person: "connecting" });
    expect(r.rest.supervisionRequests[0]).toMatchObject({ method: "POST", callId: "HD_h", body: { mode: "barge", supervisor: { type: "phone", number: "+254711000999" } }, auth: "Bearer tsk_test" });
    expect(r.rest.supervisionRequests[0]!.idempotencyKey).toMatch(/^supervision-msg_/);
    expect(line.said).toEqual(["joining"]);
    const sent = r.receiver.got[0]!.event as unknown as HandoffEvent;
    expect(sent.data.live).toMatchObject({ number: "+254711000999", state: "requested", supervisionId: r.rest.supervisions.get("HD_h")!.supervision_id });

    r.rest.setSupervision("HD_h", "ringing");
    r.clock.advance(HANDOFF.supervisionPollMs);
    await until(() => r.rest.supervisionRequests.filter((x) => x.method === "GET").length === 1, "first poll");
    expect(line.said).toEqual(["joining"]);
    r.rest.setSupervision("HD_h", "connected");
    r.clock.advance(HANDOFF.supervisionPollMs);
    await until(() => line.said.length === 2, "joined");
    expect(line.said).toEqual(["joining", "joined"]);
    await until2(() => r.handoffs("HD_h"), (h) => h[0]?.live?.state === "connected", "recorded connected");

    // The person hangs up their leg: Sautikit has no active supervision any more.
    r.rest.setSupervision("HD_h", "ended");
    r.clock.advance(HANDOFF.supervisionPollMs);
    await until(() => line.said.length === 3, "left");
    expect(line.said[2]).toBe("left");
    const h = await until2(() => r.handoffs("HD_h"), (x) => x[0]?.live?.state === "ended", "recorded ended");
    expect(h[0]!.live).toMatchObject({ state: "ended", error: null });
    expect(h[0]!.live!.connectedAt).not.toBeNull();
    expect(h[0]!.live!.endedAt).not.toBeNull();
    expect(r.desk.live.calls).toEqual([]);
  });

  test("Sautikit refuses (409 calls.supervision_in_progress): the notification still goes, the model hears no person is coming", async () => {
    const r = await rig();
    r.rest.failNextSupervision(409, "calls.supervision_in_progress", "this call already has a supervisor");
    const line = new LineDouble();
    const answer = await r.desk.handOff(r.request({ spec: r.spec({ live: { number: "+254711000999", after: "resume" } }) }), line, deadline());
    expect(answer).toMatchObject({ delivered: true, person: "unavailable", message: "A colleague has been sent the reason and your summary. Tell the caller that a nurse calls them back today." });
    expect(line.said).toEqual([]);
    const h = await until2(() => r.handoffs("HD_h"), (x) => x.length === 1, "recorded");
    expect(h[0]!.live).toMatchObject({ state: "failed", error: "HTTP 409 calls.supervision_in_progress: this call already has a supervisor" });
    expect((r.receiver.got[0]!.event as unknown as HandoffEvent).data.live).toMatchObject({ state: "failed" });
  });

  test("a browser call has no phone line to bring anyone onto: Sautikit is not asked", async () => {
    const r = await rig();
    const answer = await r.desk.handOff(r.request({ source: "browser", spec: r.spec({ live: { number: "+254711000999", after: "resume" } }) }), new LineDouble(), deadline());
    expect(answer).toMatchObject({ person: "unavailable" });
    expect(r.rest.supervisionRequests).toHaveLength(0);
  });

  test("a call.supervision.* event makes the relay look now; the admin's DELETE ends it and the call takes the line back", async () => {
    const r = await rig();
    const line = new LineDouble();
    await r.desk.handOff(r.request({ spec: r.spec({ live: { number: "+254711000999", after: "resume" } }) }), line, deadline());
    const app = new Hono();
    app.route("/api", supervisionApi(r.desk, async (_c, next) => next()));
    r.rest.setSupervision("HD_h", "connected");
    const sup = r.rest.supervisions.get("HD_h")!;
    // Sautikit's envelope names its own call UUID; the relay matches it from the POST's answer. No clock moves.
    // (The signed event reaches the desk through POST /sautikit/events: test/outbound/outcomes.test.ts.)
    r.desk.live.hint([sup.call_id, sup.supervision_id]);
    // A hint is heeded at most once a second per call: move the clock past that, not past the poll.
    r.clock.advance(1000);
    r.desk.live.hint([sup.call_id]);
    await until(() => line.said.includes("joined"), "joined on the hint");
    expect(r.clock.pending).toBeGreaterThan(0);

    const del = await app.request("/api/calls/HD_h/supervision", { method: "DELETE" });
    expect(await del.json()).toEqual({ ended: true, here: true });
    expect(r.rest.supervisionRequests.at(-1)).toMatchObject({ method: "DELETE", callId: "HD_h" });
    expect(line.said).toEqual(["joining", "joined", "left"]);
    expect((await app.request("/api/calls/HD_h/supervision", { method: "DELETE" })).status).toBe(200);
  });

  test("the call ending while a person is on: the watch stops and the record says it ended", async () => {
    const r = await rig();
    await r.desk.handOff(r.request({ spec: r.spec({ live: { number: "+254711000999", after: "resume" } }) }), new LineDouble(), deadline());
    expect(r.desk.live.calls).toEqual(["HD_h"]);
    r.events.emit({ type: "ended", callId: "HD_h", reason: "caller_hangup", detail: "", at: Date.now(), durationMs: 1, agentTurns: 0, bargeIns: 0, rejectedTurns: 0, firstAudioMs: undefined, audio: { framesIn: 0, framesOut: 0, underrunMs: 0, discardedMs: 0, droppedMs: 0, overflowMs: 0 }, model: {}, usage: { tokens: {}, totalTokens: 0 } });
    r.events.flush();
    expect(r.desk.live.calls).toEqual([]);
    const h = await until2(() => r.handoffs("HD_h"), (x) => x[0]?.live?.state === "failed", "recorded");
    expect(h[0]!.live!.error).toBe("the call ended before the person came on");
  });
});

/** Polls an async read until it satisfies `ok`. */
async function until2<T>(get: () => Promise<T>, ok: (v: T) => boolean, label: string): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() - t0 > 10000) throw new Error(`timed out waiting for: ${label}; last: ${JSON.stringify(v)}`);
    await Bun.sleep(10);
  }
}
