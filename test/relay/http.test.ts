// The voice webhook, signatures, stream-status and health, over real HTTP on loopback.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { signBody } from "../../src/signing/sautikit.ts";
import { SECRET, startHarness, type Harness } from "./harness.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.stop();
});

describe("voice webhook", () => {
  test("first POST answers the field-proven <Stream> as application/xml, with an escaped URL", async () => {
    const res = await h.post("/voice", "sessionId=HD_first1&callerNumber=%2B254700000001&callSessionState=Ringing");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith("application/xml");
    const xml = await res.text();
    expect(xml).toContain('connect="true"');
    expect(xml).toContain('track="inbound_track"');
    expect(xml).toContain('outputSamplingRate="16000"');
    expect(xml).toContain('bidirectionalSamplingRate="16000"');
    expect(xml).toContain('statusEvents="stream-started stream-stopped stream-error"');
    expect(xml).toContain(`statusCallback="${h.base}/stream-status"`);
    expect(xml).toMatch(/url="ws:\/\/127\.0\.0\.1:\d+\/stream\?call=HD_first1&amp;token=\d+\.[0-9a-f]{64}"/);
    expect(xml).not.toMatch(/&(?!amp;|quot;|lt;|gt;|apos;)/);
  });

  test("a repeat POST for the same call answers an empty <Response/>", async () => {
    await h.post("/voice", "sessionId=HD_rep&callSessionState=Ringing");
    const again = await h.post("/voice", "sessionId=HD_rep&callSessionState=StreamStarted");
    expect(again.status).toBe(200);
    const xml = await again.text();
    expect(xml).toContain("<Response/>");
    expect(xml).not.toContain("<Stream");
  });

  test("a first POST that already says Completed still streams", async () => {
    const xml = await (await h.post("/voice", "sessionId=HD_done&callSessionState=Completed&isActive=false")).text();
    expect(xml).toContain("<Stream");
  });

  test("JSON bodies, CallSid fallback and nested data objects", async () => {
    const j1 = JSON.stringify({ CallSid: "CA_json1", From: "+254711", To: "+254722" });
    const x1 = await (await h.post("/voice", j1, { type: "application/json" })).text();
    expect(x1).toContain("call=CA_json1&amp;");
    const j2 = JSON.stringify({ event: "call", data: { call_id: "nested-42" } });
    const x2 = await (await h.post("/", j2, { type: "application/json" })).text();
    expect(x2).toContain("call=nested-42&amp;");
  });

  test("no call id → 400; broken JSON → 400", async () => {
    expect((await h.post("/voice", "callerNumber=1")).status).toBe(400);
    expect((await h.post("/voice", "{nope", { type: "application/json" })).status).toBe(400);
  });

  test("a call id with characters outside the safe set, or over 128 characters, gets 400 and is not echoed", async () => {
    const bad = await h.post("/voice", `sessionId=${encodeURIComponent('a"<b>&c')}`);
    expect(bad.status).toBe(400);
    expect(await bad.text()).not.toContain("<b>");
    const long = "HD_" + "x".repeat(126);
    const tooLong = await h.post("/voice", `sessionId=${long}`);
    expect(tooLong.status).toBe(400);
    expect(await tooLong.text()).not.toContain(long);
    expect(h.logs.some((l) => l.includes(long))).toBe(false);
    // 128 characters of the safe set still stream.
    const ok = "HD_" + "a".repeat(121) + "-.:@";
    expect(ok.length).toBe(128);
    expect(await (await h.post("/voice", `sessionId=${encodeURIComponent(ok)}`)).text()).toContain("<Stream");
  });
});

describe("signatures", () => {
  const body = "sessionId=HD_sig1";
  test("valid → 200", async () => {
    expect((await h.post("/voice", body)).status).toBe(200);
  });
  test("wrong secret, tampered body, stale t, malformed or missing header → 401", async () => {
    expect((await h.post("/voice", body, { sig: signBody("other-secret", body) })).status).toBe(401);
    expect((await h.post("/voice", "sessionId=HD_sig2", { sig: signBody(SECRET, "sessionId=HD_sigX") })).status).toBe(401);
    const stale = Math.floor(Date.now() / 1000) - 301;
    expect((await h.post("/voice", body, { sig: signBody(SECRET, body, stale) })).status).toBe(401);
    expect((await h.post("/voice", body, { sig: "v1=deadbeef" })).status).toBe(401);
    expect((await h.post("/voice", body, { sig: "garbage" })).status).toBe(401);
    expect((await h.post("/voice", body, { sig: null })).status).toBe(401);
  });
  test("a rejected POST does not consume the call id", async () => {
    await h.post("/voice", "sessionId=HD_sig3", { sig: "garbage" });
    const xml = await (await h.post("/voice", "sessionId=HD_sig3")).text();
    expect(xml).toContain("<Stream");
  });
});

describe("status and health", () => {
  test("stream-status: signed form and JSON → 204; unsigned → 401", async () => {
    expect((await h.post("/stream-status", "streamSid=MZ1&callSessionState=StreamStarted&sessionId=HD_x")).status).toBe(204);
    const j = JSON.stringify({ streamSid: "MZ1", callSessionState: "StreamStopped" });
    expect((await h.post("/stream-status", j, { type: "application/json" })).status).toBe(204);
    expect((await h.post("/stream-status", "streamSid=MZ1", { sig: null })).status).toBe(401);
  });
  test("healthz answers 200 JSON naming the model", async () => {
    const res = await fetch(h.base + "/healthz");
    expect(res.status).toBe(200);
    const j = (await res.json()) as { status: string; model: string };
    expect(j.status).toBe("ok");
    expect(j.model).toBe("gemini-3.8-live");
  });
});

describe("pre-warm fallback", () => {
  test("an unreachable model at webhook time answers <Say> + <Hangup/> instead of dead air", async () => {
    const f = await startHarness({ GEMINI_LIVE_URL: "ws://127.0.0.1:9/unreachable", FALLBACK_MESSAGE: "Sorry & goodbye" });
    try {
      const xml = await (await f.post("/voice", "sessionId=HD_fb")).text();
      expect(xml).toContain("<Say>Sorry &amp; goodbye</Say><Hangup/>");
      expect(xml).not.toContain("<Stream");
    } finally {
      await f.stop();
    }
  });
});
