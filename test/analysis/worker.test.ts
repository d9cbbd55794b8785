// The analysis queue on real databases against the generateContent stand-in, on a fake clock: retries and backoff
// happen when the test moves time, never by waiting. Each analysis reads the call's record, sends one request Google
// would accept, checks the answer against the schema and settles the row; the call.analyzed event follows, signed.
import { describe, expect, test } from "bun:test";
import { OFFLINE_SKIP, NOTHING_SAID_SKIP } from "../../src/analysis/worker.ts";
import { retryDelayMs } from "../../src/records/delivery.ts";
import type { AnalysisResult, CallAnalysis, CallRecord } from "../../src/records/record.ts";
import type { RecordStore } from "../../src/records/store.ts";
import { cleanupAfterEach } from "../support/cleanup.ts";
import { engines } from "../records/helpers.ts";
import { analysisRig, endedCallOps, GOOD_ANSWER, SETTINGS, SPEC } from "./helpers.ts";

const defer = cleanupAfterEach();
const { sqliteUrl, open, onBoth } = engines(defer);

const analysisOf = async (store: RecordStore, id: string): Promise<CallAnalysis | null> => (await store.getCall(id))!.analysis;
const settled = (a: CallAnalysis | null): boolean => a !== null && !("pending" in a);

describe("an analysis that works", () => {
  onBoth("lands on the record with the answer, after one request Google would accept; call.analyzed follows, signed", async (url, engine) => {
    const { store } = await open(url, engine);
    const r = analysisRig(store, defer, { webhook: true });
    r.standin.answers.push({ json: GOOD_ANSWER });
    await store.write(endedCallOps("HD_a1"));
    expect(await analysisOf(store, "HD_a1")).toEqual({ pending: true, attempts: 0 });
    r.worker.kick(0);
    const a = (await r.until(() => analysisOf(store, "HD_a1"), settled, "analysis settled")) as AnalysisResult;
    expect(a).toMatchObject({ ...GOOD_ANSWER, model: "gemini-flash-latest" });
    expect(Date.parse(a.analyzedAt)).toBe(r.clock.t);

    expect(r.standin.received).toHaveLength(1);
    const req = r.standin.received[0]!;
    expect(req.problems).toEqual([]);
    expect(req.model).toBe("gemini-flash-latest");
    expect(req.headers["x-goog-api-key"]).toBe("test-key");
    expect(req.query).toBe("");
    const body = req.body as { contents: Array<{ role: string; parts: Array<{ text: string }> }>; generationConfig: Record<string, unknown>; systemInstruction: unknown };
    expect(body.contents).toHaveLength(1);
    expect(body.contents[0]!.role).toBe("user");
    const said = body.contents[0]!.parts[0]!.text;
    expect(said).toContain("caller: Yes, I will be there.");
    expect(said).toContain("cut off by the caller; the caller heard about 0.8 s of it");
    expect(said).toContain('tool call confirm_slot({"slot":"10:00"}) → ok {"status":"ok","confirmed":true}');
    expect(said).toContain("how it ended: the caller hung up (caller_hangup: caller socket closed (1000))");
    expect(said).toContain("variables: none");
    expect(said).not.toContain("+254700000001"); // numbers are not needed to judge the call, and are not sent
    expect(body.contents[0]!.parts[1]!.text).toContain('"Did the caller confirm the appointment?"');
    expect(body.generationConfig.responseMimeType).toBe("application/json");
    expect(body.generationConfig.responseSchema).toBeUndefined();
    expect(body.generationConfig.responseJsonSchema).toMatchObject({
      type: "object",
      required: ["summary", "success", "successReason", "data"],
      properties: { success: { type: ["boolean", "null"] }, data: SPEC.data },
    });

    const events = await r.until(() => r.receiver!.events("call.analyzed"), (e) => e.length === 1, "call.analyzed delivered");
    expect(r.receiver!.got.every((g) => g.error === undefined)).toBe(true);
    const data = events[0]!.data as Partial<CallRecord>;
    expect(data.id).toBe("HD_a1");
    expect(data.analysis).toEqual(a);
    expect(data.transcript).toBeUndefined(); // call.ended carries it; call.analyzed carries what came of the call
    expect(events[0]!.timestamp).toBe(a.analyzedAt);
  });

  test("openapi form: the answer's schema goes as responseSchema, Google's subset, and the answer is still checked in full", async () => {
    const { store } = await open(sqliteUrl(), "sqlite");
    const r = analysisRig(store, defer, { settings: { schemaForm: "openapi" } });
    r.standin.answers.push({ json: GOOD_ANSWER });
    await store.write(endedCallOps("HD_oa"));
    r.worker.kick(0);
    await r.until(() => analysisOf(store, "HD_oa"), settled, "analysis settled");
    const g = r.standin.received[0]!.body!.generationConfig as Record<string, unknown>;
    expect(r.standin.received[0]!.problems).toEqual([]);
    expect(g.responseJsonSchema).toBeUndefined();
    expect(g.responseSchema).toMatchObject({ type: "OBJECT", properties: { success: { type: "BOOLEAN", nullable: true }, data: { type: "OBJECT", required: ["confirmed"] } } });
  });

  test("an agent's own model, and the call's variables (from a record that carries them)", async () => {
    const { store } = await open(sqliteUrl(), "sqlite");
    const r = analysisRig(store, defer);
    r.standin.answers.push({ json: { summary: "Short call." } });
    await store.write(endedCallOps("HD_m", { summary: true, success: undefined, data: undefined, model: "gemini-3.5-flash-lite" }));
    r.worker.kick(0);
    const a = (await r.until(() => analysisOf(store, "HD_m"), settled, "settled")) as AnalysisResult;
    expect(r.standin.received[0]!.model).toBe("gemini-3.5-flash-lite");
    expect(a).toEqual({ summary: "Short call.", success: null, successReason: null, data: null, model: "gemini-3.5-flash-lite", analyzedAt: a.analyzedAt });
  });
});

describe("retries", () => {
  test("429 waits as long as Google's RetryInfo says (more than the backoff), then succeeds", async () => {
    const { store } = await open(sqliteUrl(), "sqlite");
    const r = analysisRig(store, defer);
    r.standin.answers.push({ status: 429, message: "Resource has been exhausted (e.g. check quota).", retryDelay: "31s" }, { json: GOOD_ANSWER });
    await store.write(endedCallOps("HD_429"));
    r.worker.kick(0);
    await r.until(() => analysisOf(store, "HD_429"), (a) => a !== null && "pending" in a && a.attempts === 1, "first attempt recorded");
    expect(r.clock.requested).toContain(31000);
    r.clock.advance(30999);
    expect(r.standin.received).toHaveLength(1); // the retry's timer is not due: nothing could have sent it
    r.clock.advance(1);
    const a = await r.until(() => analysisOf(store, "HD_429"), settled, "done after the retry");
    expect(a).toMatchObject(GOOD_ANSWER);
    expect(r.standin.received).toHaveLength(2);
    expect(r.lines.some((l) => l.includes("analysis: attempt failed; will retry") && l.includes("HTTP 429"))).toBe(true);
  });

  test("500 is retried with backoff tripling, ANALYSIS_RETRIES times; then the record keeps {error, attempts}", async () => {
    const { store } = await open(sqliteUrl(), "sqlite");
    const r = analysisRig(store, defer, { settings: { retries: 2, backoffMs: 1000 } });
    r.standin.then = { status: 500, message: "An internal error has occurred." };
    await store.write(endedCallOps("HD_500"));
    r.worker.kick(0);
    for (let n = 1; n <= 2; n++) {
      await r.until(() => analysisOf(store, "HD_500"), (a) => a !== null && "pending" in a && a.attempts === n, `attempt ${n} recorded`);
      expect(r.clock.requested).toContain(retryDelayMs(1000, n));
      r.clock.advance(retryDelayMs(1000, n));
    }
    const a = await r.until(() => analysisOf(store, "HD_500"), settled, "given up");
    expect(a).toEqual({ error: "HTTP 500: INTERNAL: An internal error has occurred. (after 3 attempts)", attempts: 3 });
    expect(r.standin.received).toHaveLength(3);
  });

  test("400 is not retried: Google will refuse the same request again", async () => {
    const { store } = await open(sqliteUrl(), "sqlite");
    const r = analysisRig(store, defer);
    r.standin.answers.push({ status: 400, message: "Invalid value at 'generation_config.response_schema'" });
    await store.write(endedCallOps("HD_400"));
    r.worker.kick(0);
    const a = await r.until(() => analysisOf(store, "HD_400"), settled, "failed");
    expect(a).toEqual({ error: "HTTP 400: INVALID_ARGUMENT: Invalid value at 'generation_config.response_schema'", attempts: 1 });
    expect(r.standin.received).toHaveLength(1);
  });

  test("no answer within ANALYSIS_TIMEOUT_MS is a failed attempt, retried", async () => {
    const { store } = await open(sqliteUrl(), "sqlite");
    const r = analysisRig(store, defer, { settings: { timeoutMs: 20000 } });
    r.standin.answers.push({ hang: true }, { json: GOOD_ANSWER });
    await store.write(endedCallOps("HD_slow"));
    r.worker.kick(0);
    await r.until(() => r.standin.received.length, (n) => n === 1, "request sent");
    r.clock.advance(20000);
    await r.until(() => analysisOf(store, "HD_slow"), (a) => a !== null && "pending" in a && a.attempts === 1, "timeout recorded");
    expect(r.lines.some((l) => l.includes("no answer within 20000 ms"))).toBe(true);
    r.clock.advance(SETTINGS.backoffMs);
    expect(await r.until(() => analysisOf(store, "HD_slow"), settled, "done")).toMatchObject(GOOD_ANSWER);
  });

  test("malformed JSON is asked for once more; a second answer that does not fit the schema is kept as an error", async () => {
    const { store } = await open(sqliteUrl(), "sqlite");
    const r = analysisRig(store, defer);
    r.standin.answers.push({ text: '{"summary": "The caller conf' , finishReason: "MAX_TOKENS" }, { json: { summary: "x", success: "yes", successReason: "y", data: {} } });
    await store.write(endedCallOps("HD_bad"));
    r.worker.kick(0);
    const a = await r.until(() => analysisOf(store, "HD_bad"), settled, "given up");
    expect(a).toEqual({ error: "the answer does not fit the schema: success: must be boolean,null; data.confirmed: is missing", attempts: 2 });
    expect(r.standin.received).toHaveLength(2);
    expect(r.lines.some((l) => l.includes("the answer is not JSON (finishReason MAX_TOKENS)"))).toBe(true);
  });

  test("an answer that does not fit, then one that does: done on the second attempt", async () => {
    const { store } = await open(sqliteUrl(), "sqlite");
    const r = analysisRig(store, defer);
    r.standin.answers.push({ json: { summary: "x" } }, { json: GOOD_ANSWER });
    await store.write(endedCallOps("HD_fix"));
    r.worker.kick(0);
    expect(await r.until(() => analysisOf(store, "HD_fix"), settled, "done")).toMatchObject(GOOD_ANSWER);
    expect(r.standin.received).toHaveLength(2);
  });

  test("a blocked prompt is kept as an error at once", async () => {
    const { store } = await open(sqliteUrl(), "sqlite");
    const r = analysisRig(store, defer);
    r.standin.answers.push({ blocked: "SAFETY" });
    await store.write(endedCallOps("HD_blk"));
    r.worker.kick(0);
    expect(await r.until(() => analysisOf(store, "HD_blk"), settled, "failed")).toEqual({ error: "Google blocked the request (SAFETY)", attempts: 1 });
  });
});

describe("what is not sent", () => {
  test("offline mode (no GEMINI_API_KEY): nothing reaches Google; the record says it was skipped and why", async () => {
    const { store } = await open(sqliteUrl(), "sqlite");
    const r = analysisRig(store, defer, { apiKey: null, webhook: true });
    await store.write(endedCallOps("HD_off"));
    r.worker.kick(0);
    expect(await r.until(() => analysisOf(store, "HD_off"), settled, "skipped")).toEqual({ skipped: OFFLINE_SKIP });
    expect(r.standin.received).toHaveLength(0);
    const e = await r.until(() => r.receiver!.events("call.analyzed"), (x) => x.length === 1, "call.analyzed for the skip");
    expect((e[0]!.data as { analysis: unknown }).analysis).toEqual({ skipped: OFFLINE_SKIP });
  });

  test("a call where nothing was said is skipped; a call whose agent has no analysis gets none", async () => {
    const { store } = await open(sqliteUrl(), "sqlite");
    const r = analysisRig(store, defer);
    const ops = endedCallOps("HD_quiet").filter((o) => o.kind === "started" || o.kind === "ended");
    await store.write(ops);
    await store.write(endedCallOps("HD_none", null));
    r.worker.kick(0);
    expect(await r.until(() => analysisOf(store, "HD_quiet"), settled, "skipped")).toEqual({ skipped: NOTHING_SAID_SKIP });
    expect(await analysisOf(store, "HD_none")).toBeNull();
    expect(r.standin.received).toHaveLength(0);
  });
});

describe("the queue", () => {
  test("ANALYSIS_CONCURRENCY at a time", async () => {
    const { store } = await open(sqliteUrl(), "sqlite");
    const r = analysisRig(store, defer, { settings: { concurrency: 2 } });
    r.standin.then = { hang: true };
    for (let i = 0; i < 5; i++) await store.write(endedCallOps(`HD_c${i}`));
    r.worker.kick(0);
    await r.until(() => r.standin.received.length, (n) => n === 2, "two in flight");
    expect(r.worker.active).toBe(2);
    r.standin.then = { json: GOOD_ANSWER };
    r.standin.release({ json: GOOD_ANSWER });
    for (let i = 0; i < 5; i++) await r.until(() => analysisOf(store, `HD_c${i}`), settled, `HD_c${i} done`);
    expect(r.standin.received).toHaveLength(5);
    expect(r.standin.maxInFlight).toBe(2);
  });

  test("a restart finishes what was queued: a new worker on the same database takes over once the old lease runs out", async () => {
    const url = sqliteUrl();
    const { store } = await open(url, "sqlite");
    const first = analysisRig(store, defer, { settings: { timeoutMs: 10000 } });
    first.standin.then = { hang: true };
    await store.write(endedCallOps("HD_rs"));
    first.worker.kick(0);
    await first.until(() => first.standin.received.length, (n) => n === 1, "first worker's request");
    await first.worker.stop(); // the process goes away mid-request: its lease stays until it expires

    const second = analysisRig(store, defer);
    second.clock.t = first.clock.t;
    second.standin.answers.push({ json: GOOD_ANSWER });
    second.worker.kick(0);
    await second.until(() => second.standin.received.length, () => true, "a pass");
    expect(second.standin.received).toHaveLength(0); // still leased by the first
    second.clock.advance(10000 + 30000 + 1);
    second.worker.kick(0);
    expect(await second.until(() => analysisOf(store, "HD_rs"), settled, "finished by the second")).toMatchObject(GOOD_ANSWER);
  });

  test("queued again (POST /api/calls/:id/analyze): a fresh run, and the old run's late result is not kept", async () => {
    const { store } = await open(sqliteUrl(), "sqlite");
    const r = analysisRig(store, defer);
    r.standin.answers.push({ hang: true });
    await store.write(endedCallOps("HD_re"));
    r.worker.kick(0);
    await r.until(() => r.standin.received.length, (n) => n === 1, "first run in flight");
    expect(await store.requeueAnalysis("HD_re", "clinic", { ...SPEC, success: undefined }, r.clock.now())).toBe("queued");
    expect(await store.requeueAnalysis("HD_nope", "clinic", SPEC, r.clock.now())).toBe("no_call");
    // The first run now answers; its lease token is gone, so its result is dropped.
    r.standin.release({ json: GOOD_ANSWER });
    await r.until(() => r.lines.some((l) => l.includes("queued again while it ran")), (x) => x, "old result dropped");
    r.standin.answers.push({ json: { summary: "Second look.", data: { confirmed: false } } });
    r.worker.kick(0);
    const a = (await r.until(() => analysisOf(store, "HD_re"), settled, "second run done")) as AnalysisResult;
    expect(a).toMatchObject({ summary: "Second look.", success: null, successReason: null, data: { confirmed: false } });
  });

  onBoth("two instances on one database share the queue: each analysis is run once", async (url, engine) => {
    const { store: a } = await open(url, engine);
    const { store: b } = await open(url, engine);
    const ra = analysisRig(a, defer);
    const rb = analysisRig(b, defer);
    rb.clock.t = ra.clock.t;
    ra.standin.then = { json: GOOD_ANSWER };
    rb.standin.then = { json: GOOD_ANSWER };
    for (let i = 0; i < 8; i++) await a.write(endedCallOps(`HD_s${i}`));
    ra.worker.kick(0);
    rb.worker.kick(0);
    for (let i = 0; i < 8; i++) {
      await ra.until(async () => {
        rb.clock.advance(0);
        return analysisOf(a, `HD_s${i}`);
      }, settled, `HD_s${i}`);
    }
    expect(ra.standin.received.length + rb.standin.received.length).toBe(8);
  }, 30000);
});

describe("retention", () => {
  onBoth("a call deleted for its age takes its analysis and handoffs with it", async (url, engine) => {
    const { store } = await open(url, engine);
    const old = Date.now() - 40 * 86400000;
    await store.write(endedCallOps("HD_old", SPEC, old));
    await store.write([{ kind: "handoff", id: "HD_old", handoffId: "msg_old", at: old, atMs: 10, reason: "r", summary: "s", live: null, delivery: { url: "http://127.0.0.1:9/h", headers: { a: "b" }, payload: "{}", attempts: 1, status: "pending", nextAt: old, error: "x" } }]);
    await store.write(endedCallOps("HD_new", SPEC));
    const before = (await store.getCall("HD_old"))!;
    expect(before.handoffs.map((h) => [h.id, h.notify.status])).toEqual([["msg_old", "pending"]]);
    expect(before.analysis).toEqual({ pending: true, attempts: 0 });
    expect(await store.deleteOlderThan(Date.now() - 30 * 86400000)).toBe(1);
    expect(await store.getCall("HD_old")).toBeUndefined();
    const due = await store.dueAnalyses(Date.now(), 10);
    expect(due.map((d) => d.callId)).toEqual(["HD_new"]);
    expect((await store.dueDeliveries(Date.now(), 10)).map((d) => d.id)).toEqual([]);
  });
});
