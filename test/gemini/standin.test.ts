// The test spy (Live API stand-in) itself, driven by a raw WebSocket client: protocol refusals, answers (tone
// pitch/duration, echo), resumption updates, goAway deadline, per-model setup refusals.
import { describe, expect, test } from "bun:test";
import { cleanupAfterEach } from "../support/cleanup.ts";
import {
  DEADLINE_REASON,
  INVALID_ARGUMENT,
  MEDIA_CHUNKS_REASON,
  StandinServer,
  type StandinOptions,
} from "../support/gemini-spy.ts";
import { loud16k, until } from "./helpers.ts";

const defer = cleanupAfterEach();

interface Raw {
  ws: WebSocket;
  msgs: Array<Record<string, any>>;
  binary: number;
  text: number;
  closed: Promise<{ code: number; reason: string }>;
  send(o: unknown): void;
}

async function raw(opts: Partial<StandinOptions> = {}, srvIn?: StandinServer, api: "v1beta" | "v1alpha" = "v1beta"): Promise<Raw & { srv: StandinServer }> {
  const srv = srvIn ?? new StandinServer(opts);
  const url = (await srv.start()).replace(".v1beta.", `.${api}.`);
  if (srvIn === undefined) defer(() => srv.stop());
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  const r = { ws, msgs: [] as Array<Record<string, any>>, binary: 0, text: 0, srv } as Raw & { srv: StandinServer };
  r.closed = new Promise((res) => ws.addEventListener("close", (e) => res({ code: e.code, reason: e.reason })));
  ws.addEventListener("message", (e) => {
    const d = e.data as string | ArrayBuffer;
    if (typeof d === "string") r.text++;
    else r.binary++;
    const t = typeof d === "string" ? d : new TextDecoder().decode(d);
    expect(t).toContain("\n  "); // pretty-printed
    r.msgs.push(JSON.parse(t));
  });
  r.send = (o) => ws.send(JSON.stringify(o));
  await new Promise((res) => ws.addEventListener("open", res));
  defer(() => ws.close());
  return r;
}

const SETUP = { setup: { model: "models/gemini-3.8-live", generationConfig: {}, sessionResumption: {} } };

function audioMsg(pcm: Uint8Array) {
  return { realtimeInput: { audio: { mimeType: "audio/pcm;rate=16000", data: Buffer.from(pcm).toString("base64") } } };
}

function pcmOf(msgs: Array<Record<string, any>>): Buffer {
  const parts = msgs.flatMap((m) => m.serverContent?.modelTurn?.parts ?? []);
  return Buffer.concat(parts.map((p: any) => Buffer.from(p.inlineData.data, "base64")));
}

/** Zero crossings → frequency of a S16LE signal. */
function pitch(pcm: Buffer, rate: number): number {
  let crossings = 0;
  let prev = 0;
  for (let i = 0; i + 1 < pcm.length; i += 2) {
    const s = pcm.readInt16LE(i);
    if ((prev < 0 && s >= 0) || (prev >= 0 && s < 0)) crossings++;
    prev = s;
  }
  return crossings / 2 / (pcm.length / 2 / rate);
}

describe("stand-in protocol", () => {
  test("binary pretty-printed frames by default; text frames as an option", async () => {
    const b = await raw();
    b.send(SETUP);
    await until(() => b.msgs.length >= 2, "setupComplete + handle");
    expect(b.msgs[0]).toEqual({ setupComplete: {} });
    expect(b.msgs[1]!.sessionResumptionUpdate.resumable).toBe(true);
    expect(b.binary).toBeGreaterThan(0);
    expect(b.text).toBe(0);
    const t = await raw({ textFrames: true });
    t.send(SETUP);
    await until(() => t.msgs.length >= 1, "setupComplete");
    expect(t.text).toBeGreaterThan(0);
    expect(t.binary).toBe(0);
  });

  test("anything before setup → 1007", async () => {
    const r = await raw();
    r.send(audioMsg(new Uint8Array(640)));
    expect(await r.closed).toEqual({ code: 1007, reason: INVALID_ARGUMENT });
  });

  test("mediaChunks refused with 1007 in strict mode", async () => {
    const r = await raw();
    r.send(SETUP);
    await until(() => r.msgs.length >= 1, "ready");
    r.send({ realtimeInput: { mediaChunks: [{ mimeType: "audio/pcm;rate=16000", data: Buffer.alloc(640).toString("base64") }] } });
    expect(await r.closed).toEqual({ code: 1007, reason: MEDIA_CHUNKS_REASON });
  });

  test("mediaChunks accepted as audio in lenient mode", async () => {
    let got = 0;
    const r = await raw({ lenient: true, onCallerAudio: (_s, pcm) => void (got += pcm.byteLength) });
    r.send(SETUP);
    await until(() => r.msgs.length >= 1, "ready");
    r.send({ realtimeInput: { mediaChunks: [{ mimeType: "audio/pcm;rate=16000", data: Buffer.alloc(640).toString("base64") }] } });
    await until(() => got === 640, "audio counted");
    expect(r.srv.sessions[0]!.closed).toBeUndefined();
  });

  test("odd-length audio → 1007 (invalid format)", async () => {
    const r = await raw();
    r.send(SETUP);
    await until(() => r.msgs.length >= 1, "ready");
    r.send(audioMsg(new Uint8Array(641)));
    expect((await r.closed).code).toBe(1007);
  });
});

describe("stand-in answers", () => {
  test("tone mode: caller speech then silence → 24 kHz tone of answerMs at toneHz; handles track generation", async () => {
    const r = await raw({ answerMs: 800, toneHz: 500, silenceMs: 200, burstMs: 100, burstIntervalMs: 5, waitForPlayback: false });
    r.send(SETUP);
    await until(() => r.msgs.length >= 2, "ready");
    const speech = loud16k(300);
    for (let o = 0; o < speech.byteLength; o += 640) r.send(audioMsg(speech.subarray(o, o + 640)));
    for (let i = 0; i < 15; i++) r.send(audioMsg(new Uint8Array(640))); // 300 ms silence
    await until(() => r.msgs.some((m) => m.serverContent?.turnComplete), "turnComplete");
    const kinds = r.msgs.map((m) => Object.keys(m.serverContent ?? m).join("+"));
    expect(kinds).toContain("inputTranscription");
    const pcm = pcmOf(r.msgs);
    expect(pcm.length).toBe(24000 * 0.8 * 2);
    expect(Math.abs(pitch(pcm, 24000) - 500)).toBeLessThan(10);
    expect(r.msgs.flatMap((m) => m.serverContent?.modelTurn?.parts ?? []).every((p: any) => p.inlineData.mimeType === "audio/pcm;rate=24000")).toBe(true);
    // resumable:false while generating, a fresh resumable handle after the turn.
    const upd = r.msgs.filter((m) => m.sessionResumptionUpdate).map((m) => m.sessionResumptionUpdate);
    expect(upd.map((u) => u.resumable)).toEqual([true, false, true]);
    expect(upd[2].newHandle).not.toBe(upd[0].newHandle);
    const gc = kinds.indexOf("generationComplete");
    expect(gc).toBeGreaterThan(kinds.lastIndexOf("modelTurn"));
    expect(kinds.findIndex((k) => k.startsWith("turnComplete"))).toBeGreaterThan(gc);
  });

  test("echo mode: the caller's utterance comes back upsampled to 24 kHz (1.5× the samples, same pitch)", async () => {
    const srv = new StandinServer({ mode: "echo", silenceMs: 200, burstIntervalMs: 5, waitForPlayback: false });
    await srv.start();
    defer(() => srv.stop());
    const r = await raw({}, srv);
    r.send(SETUP);
    await until(() => r.msgs.length >= 2, "ready");
    const speech = loud16k(400, 400);
    for (let o = 0; o < speech.byteLength; o += 640) r.send(audioMsg(speech.subarray(o, o + 640)));
    for (let i = 0; i < 15; i++) r.send(audioMsg(new Uint8Array(640)));
    await until(() => r.msgs.some((m) => m.serverContent?.turnComplete), "turnComplete");
    const pcm = pcmOf(r.msgs);
    expect(srv.sessions[0]!.utterance!.byteLength).toBe(speech.byteLength);
    expect(pcm.length).toBe((speech.byteLength * 3) / 2);
    expect(Math.abs(pitch(pcm, 24000) - 400)).toBeLessThan(10);
  });

  test("caller speech within the playback time of a finished answer → interrupted, then turnComplete", async () => {
    const r = await raw({ burstIntervalMs: 1, waitForPlayback: false });
    r.send(SETUP);
    await until(() => r.msgs.length >= 2, "ready");
    r.srv.sessions[0]!.speak({ ms: 5000 }); // generated in ~50 ms, plays for 5 s
    await until(() => r.msgs.some((m) => m.serverContent?.turnComplete), "answer generated");
    const n = r.msgs.length;
    const speech = loud16k(100);
    for (let o = 0; o < speech.byteLength; o += 640) r.send(audioMsg(speech.subarray(o, o + 640)));
    await until(() => r.msgs.slice(n).some((m) => m.serverContent?.interrupted), "interrupted");
    const after = r.msgs.slice(n).map((m) => Object.keys(m.serverContent ?? m)[0]);
    expect(after.slice(0, 2)).toEqual(["interrupted", "turnComplete"]);
  });

  test("goAway then close 1011 'Deadline expired' after the lifetime", async () => {
    const r = await raw({ lifetimeMs: 300, goAwayMs: 200 });
    r.send(SETUP);
    expect(await r.closed).toEqual({ code: 1011, reason: DEADLINE_REASON });
    const ga = r.msgs.find((m) => m.goAway);
    expect(ga).toEqual({ goAway: { timeLeft: "0.2s" } });
  });

  test("resume with an unknown handle → 1008 session not found; with a known one → same conversation", async () => {
    const srv = new StandinServer();
    await srv.start();
    defer(() => srv.stop());
    const a = await raw({}, srv);
    a.send(SETUP);
    await until(() => a.msgs.length >= 2, "ready");
    const handle = a.msgs[1]!.sessionResumptionUpdate.newHandle as string;
    const b = await raw({}, srv);
    b.send({ setup: { ...SETUP.setup, sessionResumption: { handle: "nope" } } });
    expect(await b.closed).toEqual({ code: 1008, reason: "BidiGenerateContent session not found" });
    const c = await raw({}, srv);
    c.send({ setup: { ...SETUP.setup, sessionResumption: { handle } } });
    await until(() => c.msgs.length >= 1, "resumed");
    expect(srv.sessions[2]!.conversationId).toBe(srv.sessions[0]!.conversationId);
  });
});

describe("stand-in setup rules per model", () => {
  const thinking = { thinkingConfig: { thinkingLevel: "low" } };
  const cases: Array<[string, Record<string, unknown>, boolean]> = [
    ["gemini-3.8-live-extended-thinking", { generationConfig: thinking }, true],
    ["gemini-3.8-live-extended-thinking", { generationConfig: {} }, false],
    ["gemini-3.8-live", { generationConfig: {} }, true],
    ["gemini-3.8-live", { generationConfig: thinking }, false],
    ["gemini-3.8-live", { generationConfig: { enableAffectiveDialog: true } }, false],
    ["gemini-3.8-live", { generationConfig: {}, proactivity: { proactiveAudio: false } }, false],
    ["gemini-3.1-flash-live-preview", { generationConfig: thinking }, true],
    ["gemini-3.1-flash-live-preview", { generationConfig: {}, proactivity: { proactiveAudio: true } }, false],
    ["gemini-3.1-flash-live-preview", { generationConfig: { enableAffectiveDialog: false } }, false],
    ["gemini-2.5-flash-native-audio-preview-12-2025", { generationConfig: { thinkingConfig: { thinkingBudget: 0 } } }, true],
    ["gemini-4.0-live-experimental", { generationConfig: thinking }, false], // unknown ids: 3.8 rules
    ["gemini-4.0-live-experimental", { generationConfig: {} }, true],
  ];
  // Google's guide puts 2.5's affective dialog and proactivity on v1alpha; no published proto has them.
  const alpha: Array<[string, Record<string, unknown>, "v1beta" | "v1alpha", boolean]> = [
    ["gemini-2.5-flash-native-audio-preview-12-2025", { generationConfig: { enableAffectiveDialog: true, thinkingConfig: { thinkingBudget: 0 } }, proactivity: { proactiveAudio: false } }, "v1alpha", true],
    ["gemini-live-2.5-flash-native-audio", { generationConfig: { enableAffectiveDialog: true }, proactivity: { proactiveAudio: true } }, "v1alpha", true],
    ["gemini-2.5-flash-native-audio-preview-12-2025", { generationConfig: { enableAffectiveDialog: true } }, "v1beta", false],
    ["gemini-2.5-flash-native-audio-preview-12-2025", { generationConfig: {}, proactivity: { proactiveAudio: true } }, "v1beta", false],
  ];
  test.each(alpha)("%p with %j on %s → accepted: %p", async (model, fields, api, ok) => {
    const r = await raw({}, undefined, api);
    r.send({ setup: { model: `models/${model}`, ...fields } });
    if (ok) {
      await until(() => r.msgs.length >= 1, "setupComplete");
      expect(r.msgs[0]).toEqual({ setupComplete: {} });
    } else {
      expect((await r.closed).code).toBe(1007);
      expect(r.srv.sessions[0]!.setupProblems.join()).toMatch(/unknown field: "(enableAffectiveDialog|proactivity)"/);
    }
  });

  test("a setup the published protos refuse is closed 1007 with the service's words (additionalProperties in parameters)", async () => {
    const r = await raw();
    const parameters = { type: "OBJECT", properties: { q: { type: "STRING" } }, additionalProperties: false };
    r.send({ setup: { model: "models/gemini-3.8-live", tools: [{ functionDeclarations: [{ name: "f", description: "d", parameters }] }] } });
    expect(await r.closed).toEqual({ code: 1007, reason: 'Invalid JSON payload received. Unknown name "additionalProperties": Cannot find field.' });
    expect(r.msgs).toEqual([]);
  });

  test("enum names in lower case pass, as the service reads them loosely", async () => {
    const r = await raw();
    const parameters = { type: "object", properties: { q: { type: "string" } } };
    r.send({ setup: { model: "models/gemini-3.8-live", tools: [{ functionDeclarations: [{ name: "f", description: "d", parameters }] }] } });
    await until(() => r.msgs.length >= 1, "setupComplete");
    expect(r.msgs[0]).toEqual({ setupComplete: {} });
  });

  test.each(cases)("%p with %j → accepted: %p", async (model, fields, ok) => {
    const r = await raw();
    r.send({ setup: { model: `models/${model}`, ...fields } });
    if (ok) {
      await until(() => r.msgs.length >= 1, "setupComplete");
      expect(r.msgs[0]).toEqual({ setupComplete: {} });
    } else {
      expect(await r.closed).toEqual({ code: 1007, reason: INVALID_ARGUMENT });
    }
  });
});
