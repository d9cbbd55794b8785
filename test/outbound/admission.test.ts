// Outbound calls share MAX_CALLS with inbound ones and leave OUTBOUND_RESERVE_CALLS free for them: a ringing
// outbound call holds its place, the answered call takes it over, and the business's own line stays open.
import { afterEach, describe, expect, test } from "bun:test";
import { loadConfig } from "../../src/config.ts";
import { cleanupAgentFiles } from "../relay/fixtures.ts";
import { startOutbound, until, type OutboundHarness } from "./support.ts";

let oh: OutboundHarness | undefined;
afterEach(async () => {
  await oh?.stop();
  oh = undefined;
  cleanupAgentFiles();
});

describe("admission", () => {
  test("OUTBOUND_RESERVE_CALLS defaults to 10 % of MAX_CALLS and must leave room for an outbound call", () => {
    expect(loadConfig({}).outbound.reserveCalls).toBe(30);
    expect(loadConfig({ MAX_CALLS: "25" }).outbound.reserveCalls).toBe(2);
    expect(loadConfig({ MAX_CALLS: "5" }).outbound.reserveCalls).toBe(0);
    expect(() => loadConfig({ MAX_CALLS: "5", OUTBOUND_RESERVE_CALLS: "5" })).toThrow(/OUTBOUND_RESERVE_CALLS/);
  });

  test("MAX_CALLS 3, reserve 1: two outbound calls ring, a third is 503, an inbound call still gets in, the next one does not", async () => {
    oh = await startOutbound({ env: { MAX_CALLS: "3", OUTBOUND_RESERVE_CALLS: "1" }, fake: { script: () => ({ kind: "no_answer", ringMs: 60_000 }) }, loop: false });
    const ids: string[] = [];
    for (const to of ["+254712345601", "+254712345602"]) {
      const r = await oh.post("/api/outbound", { agent: "surveys", to });
      expect(r.status).toBe(201);
      ids.push(String(r.body.id));
    }
    const third = await oh.post("/api/outbound", { agent: "surveys", to: "+254712345603" });
    expect(third.status).toBe(503);
    expect(String(third.body.error)).toContain("OUTBOUND_RESERVE_CALLS");
    expect(oh.h.calls.heldCalls).toBe(2);
    // The reserve: an inbound call is answered with <Stream>.
    const url = await oh.h.streamUrlFor("HD_inbound_a", "+254711000000");
    expect(url).toContain("/stream?call=HD_inbound_a");
    // Now full: the next inbound call gets the fallback.
    const res = await oh.h.post("/voice", "sessionId=HD_inbound_b&callerNumber=%2B254700000009&destinationNumber=%2B254711000000");
    expect(await res.text()).toContain("<Hangup/>");
    expect(oh.rest.originates).toHaveLength(2);
    // A call that ends gives its place back.
    oh.rest.calls[0]!.status = "busy";
    await oh.h.outbound.dialer.settle({ id: ids[0]!, outcome: "busy", detail: "test", endReason: null, at: Date.now() });
    expect(oh.h.calls.heldCalls).toBe(1);
  });

  test("an answered outbound call is admitted on the place it held, even when the instance is otherwise full", async () => {
    oh = await startOutbound({ env: { MAX_CALLS: "2", OUTBOUND_RESERVE_CALLS: "1" }, fake: { script: () => ({ kind: "answer", helloMs: 200, hangUpAfterMs: 1500 }) } });
    const r = await oh.post("/api/outbound", { agent: "surveys", to: "+254712345601" });
    expect(r.status).toBe(201);
    // The remaining place goes to an inbound call while the outbound one rings.
    await oh.h.streamUrlFor("HD_inbound_c", "+254711000000");
    const done = await oh.attemptWhen(String(r.body.id), (a) => a.status === "done", "the outbound call ran and ended", 20000);
    expect(done).toMatchObject({ outcome: "completed", endReason: "caller_hangup" });
  }, 30000);
});
