// /readyz and what backs it: named reasons, and "modelFailing" from real failed model sessions.
import { describe, expect, test } from "bun:test";
import { ModelHealth } from "../../src/ops/model-health.ts";
import { Readiness } from "../../src/ops/readiness.ts";
import { parsePrometheusText, valueOf } from "../support/prom-text.ts";
import { startHarness } from "../relay/harness.ts";

describe("Readiness", () => {
  test("lists the reasons that hold, in order; ready when none does; names are unique", () => {
    let draining = false;
    let full = false;
    const r = new Readiness().add("draining", () => draining).add("atCapacity", () => full);
    expect(r.ready).toBe(true);
    full = true;
    expect(r.reasons()).toEqual(["atCapacity"]);
    draining = true;
    expect(r.reasons()).toEqual(["draining", "atCapacity"]);
    expect(r.ready).toBe(false);
    expect(() => r.add("draining", () => true)).toThrow("already");
  });
});

describe("ModelHealth", () => {
  test("failing while every session of the last window failed; a success or the window passing clears it", () => {
    let now = 1_000_000;
    const m = new ModelHealth(60_000, () => now);
    expect(m.failing).toBe(false); // no session yet
    m.record(false);
    expect(m.failing).toBe(true);
    now += 30_000;
    m.record(true);
    expect(m.failing).toBe(false); // one session of the window succeeded
    now += 20_000;
    m.record(false);
    expect(m.failing).toBe(false); // the success is still within the window
    now += 45_000; // success 65 s ago, failure 45 s ago
    expect(m.failing).toBe(true);
    now += 16_000; // failure 61 s ago: nothing in the window
    expect(m.failing).toBe(false);
  });
});

describe("/readyz", () => {
  test("200 while accepting calls; 503 naming modelFailing once the model endpoint failed every session", async () => {
    await using h = await startHarness({ GEMINI_LIVE_URL: "ws://127.0.0.1:9/unreachable", GEMINI_MAX_RECONNECTS: "0" });
    const ok = await fetch(h.base + "/readyz");
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ status: "ready", activeCalls: 0 });
    const xml = await (await h.post("/voice", "sessionId=HD_ready_fail")).text();
    expect(xml).toContain("<Hangup/>");
    const res = await fetch(h.base + "/readyz");
    expect(res.status).toBe(503);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(await res.json()).toEqual({ status: "not ready", reasons: ["modelFailing"], activeCalls: 0 });
    // Liveness is another question.
    expect((await fetch(h.base + "/healthz")).status).toBe(200);
    const fams = parsePrometheusText(await (await fetch(h.base + "/metrics")).text());
    expect(valueOf(fams, "sauti_model_sessions_total", { outcome: "failed" })).toBe(1);
    expect(valueOf(fams, "sauti_webhooks_total", { route: "/voice", status: "200" })).toBe(1);
  });

  test("admission control: at MAX_CALLS the instance reports atCapacity by name", async () => {
    await using h = await startHarness({ MAX_CALLS: "1" });
    expect((await fetch(h.base + "/readyz")).status).toBe(200);
    await h.streamUrlFor("HD_cap_1"); // answered and waiting for its socket: counts toward the limit
    const res = await fetch(h.base + "/readyz");
    expect(res.status).toBe(503);
    expect(((await res.json()) as { reasons: string[] }).reasons).toEqual(["atCapacity"]);
  });
});
