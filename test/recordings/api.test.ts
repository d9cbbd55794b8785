// Recordings through the real relay (in process, the Gemini stand-in as the model, a real WebSocket caller): the
// record carries `recording`; GET /api/calls/:id/recording serves the WAV with byte ranges behind the admin guard;
// DELETE /api/calls/:id removes record and file (404 after); retention deletes the recording with its record; the
// recording notice is the first thing the model is told to say.
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { existsSync, rmSync } from "node:fs";
import type { CallRecord } from "../../src/records/record.ts";
import { Retention } from "../../src/records/retention.ts";
import { readWavHeader } from "../../src/recordings/wav.ts";
import { Caller, startHarness, until, type Harness } from "../relay/harness.ts";
import { captureLog } from "../support/log.ts";
import { scratchDir } from "./support.ts";

const TOKEN = "admin-token-0123456789abcdef";
let h: Harness | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await h?.stop();
  h = undefined;
}, 20000);
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function relay(env: Record<string, string> = {}): Promise<Harness> {
  const d = scratchDir("api");
  dirs.push(d);
  h = await startHarness({ RECORD_CALLS: "true", RECORDINGS_DIR: d, RECORDING_NOTICE: "", ADMIN_TOKEN: TOKEN, ...env });
  await h.records.store.ready;
  return h;
}

const auth = { authorization: `Bearer ${TOKEN}` };

/** A call of about `ms` with quiet audio, hung up by the caller; resolves once its record says the file is ready. */
async function call(h: Harness, callId: string, ms = 1000): Promise<CallRecord> {
  const c = await new Caller(await h.streamUrlFor(callId)).open();
  const frame = new Uint8Array(640);
  for (let t = 0; t < ms; t += 20) {
    c.ws.send(frame);
    await Bun.sleep(20);
  }
  c.ws.close();
  const t0 = Date.now();
  for (;;) {
    const res = await fetch(`${h.base}/api/calls/${callId}`, { headers: auth });
    const rec = res.status === 200 ? ((await res.json()) as CallRecord) : undefined;
    if (rec?.recording?.status === "ready") return rec;
    if (Date.now() - t0 > 10_000) throw new Error(`the record of ${callId} never said its recording is ready: ${JSON.stringify(rec?.recording)}`);
    await Bun.sleep(20);
  }
}

describe("recordings API", () => {
  test("the record has the recording; GET serves audio/wav whole, by range (206), suffix range, 416 past the end, HEAD", async () => {
    const h = await relay();
    const rec = await call(h, "api-rec-1");
    const r = rec.recording!;
    expect(r.status).toBe("ready");
    expect(r.location).toBe(`${h.config.recordings.dir}/api-rec-1.wav`);
    expect(r.durationMs).toBeGreaterThan(500);
    expect(r.bytes).toBe(44 + Math.round((r.durationMs / 1000) * 16000) * 4);
    expect(r.error).toBeNull();

    const url = `${h.base}/api/calls/api-rec-1/recording`;
    expect((await fetch(url)).status).toBe(401);
    const whole = await fetch(url, { headers: auth });
    expect(whole.status).toBe(200);
    expect(whole.headers.get("content-type")).toBe("audio/wav");
    expect(whole.headers.get("accept-ranges")).toBe("bytes");
    const body = new Uint8Array(await whole.arrayBuffer());
    expect(body.length).toBe(r.bytes);
    expect(readWavHeader(body)).toMatchObject({ rate: 16000, channels: 2, dataBytes: r.bytes - 44 });

    const part = await fetch(url, { headers: { ...auth, range: "bytes=44-143" } });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe(`bytes 44-143/${r.bytes}`);
    expect(new Uint8Array(await part.arrayBuffer())).toEqual(body.slice(44, 144));
    const tail = await fetch(url, { headers: { ...auth, range: "bytes=-10" } });
    expect(tail.status).toBe(206);
    expect(new Uint8Array(await tail.arrayBuffer())).toEqual(body.slice(-10));
    const past = await fetch(url, { headers: { ...auth, range: `bytes=${r.bytes}-` } });
    expect(past.status).toBe(416);
    expect(past.headers.get("content-range")).toBe(`bytes */${r.bytes}`);
    const head = await fetch(url, { method: "HEAD", headers: auth });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe(String(r.bytes));

    expect((await fetch(`${h.base}/api/calls/nope/recording`, { headers: auth })).status).toBe(404);
  }, 30000);

  test("DELETE /api/calls/:id deletes the record and its file; a second DELETE and a GET are 404; a call in progress is 409", async () => {
    const h = await relay();
    const rec = await call(h, "api-del-1");
    const file = rec.recording!.location!;
    expect(existsSync(file)).toBe(true);
    expect((await fetch(`${h.base}/api/calls/api-del-1`, { method: "DELETE" , headers: {} })).status).toBe(401);
    const del = await fetch(`${h.base}/api/calls/api-del-1`, { method: "DELETE", headers: auth });
    expect(del.status).toBe(204);
    expect(existsSync(file)).toBe(false);
    expect((await fetch(`${h.base}/api/calls/api-del-1`, { headers: auth })).status).toBe(404);
    expect((await fetch(`${h.base}/api/calls/api-del-1/recording`, { headers: auth })).status).toBe(404);
    expect((await fetch(`${h.base}/api/calls/api-del-1`, { method: "DELETE", headers: auth })).status).toBe(404);

    // While a call runs, it is neither served (still recording) nor deleted.
    const c = await new Caller(await h.streamUrlFor("api-live")).open();
    c.ws.send(new Uint8Array(640));
    await until(() => h.calls.activeCalls === 1, "call live");
    for (let i = 0; (await h.records.store.getRecording("api-live"))?.status !== "recording"; i++) {
      if (i > 500) throw new Error("the live call's record never said recording");
      await Bun.sleep(20);
    }
    expect((await fetch(`${h.base}/api/calls/api-live`, { method: "DELETE", headers: auth })).status).toBe(409);
    expect((await fetch(`${h.base}/api/calls/api-live/recording`, { headers: auth })).status).toBe(409);
    c.ws.close();
  }, 30000);

  test("retention deletes a recording with its record; one that cannot be deleted keeps its record for the next pass", async () => {
    const h = await relay();
    const rec = await call(h, "api-old-1");
    const file = rec.recording!.location!;
    const started = Date.parse(rec.startedAt);
    const { log } = captureLog();
    const days = 1;
    const later = started + 2 * 86_400_000;
    // Another call inside the period keeps the newest start recent (retention's guard against a clock ahead).
    await h.records.store.write([{ kind: "started", id: "recent", agent: "a", caller: "", callee: "", source: "phone", at: later - 1000 }]);
    const failing = new Retention(h.records.store, days, log, () => later, { remove: () => Promise.reject(new Error("storage unreachable")) });
    expect(await failing.runOnce()).toBe(0);
    expect(existsSync(file)).toBe(true);
    expect(await h.records.store.getCall("api-old-1")).toBeDefined();
    const real = new Retention(h.records.store, days, log, () => later, h.records.recordings);
    expect(await real.runOnce()).toBe(1);
    expect(existsSync(file)).toBe(false);
    expect(await h.records.store.getCall("api-old-1")).toBeUndefined();
    expect(await h.records.store.getCall("recent")).toBeDefined();
  }, 30000);

  test("the recording notice is the first thing the model is told to say, word for word, before the greeting", async () => {
    const h = await relay({ RECORDING_NOTICE: "This call may be recorded.", AGENT_GREETING: "Greet the caller." });
    const c = await new Caller(await h.streamUrlFor("api-notice")).open();
    c.ws.send(new Uint8Array(640));
    await until(() => h.standin.live().some((s) => s.texts.length > 0), "a text turn reached the model");
    const texts = h.standin.live().find((s) => s.texts.length > 0)!.texts;
    expect(texts[0]).toContain('"This call may be recorded."');
    expect(texts[0]!.indexOf("This call may be recorded.")).toBeLessThan(texts[0]!.indexOf("Greet the caller."));
    c.ws.close();
  }, 30000);
});
