// Setup shape per model generation and key handling, over a real socket to the stand-in (which refuses, with
// 1007, the per-model fields the real models refuse).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { ModelTuning } from "../../src/gemini/setup.ts";
import { StandinServer } from "../support/gemini-spy.ts";
import { API_KEY, captureLog, makeSession, until } from "./helpers.ts";

let standin: StandinServer;
let url: string;

beforeAll(async () => {
  standin = new StandinServer({ apiKey: API_KEY });
  url = await standin.start();
});
afterAll(() => standin.stop());

async function setupFor(model: string, tuning?: ModelTuning, at = url) {
  const before = standin.sessions.length;
  const s = makeSession(at, { model, tuning });
  await s.start();
  const ss = standin.sessions[before]!;
  await s.close();
  await until(() => ss.closed !== undefined, "stand-in sees the close");
  return ss.setup as Record<string, any>;
}

describe("setup over the wire", () => {
  test("gemini-3.8-live: no thinkingConfig, no affective dialog, no proactivity; common fields present", async () => {
    const s = await setupFor("gemini-3.8-live");
    expect(s.model).toBe("models/gemini-3.8-live");
    expect(s.generationConfig.thinkingConfig).toBeUndefined();
    expect(s.generationConfig.enableAffectiveDialog).toBeUndefined();
    expect("proactivity" in s).toBe(false);
    expect(s.generationConfig.responseModalities).toEqual(["AUDIO"]);
    expect(s.generationConfig.speechConfig).toEqual({ voiceConfig: { prebuiltVoiceConfig: { voiceName: "Kore" } } });
    expect(s.systemInstruction).toEqual({ parts: [{ text: "You are a test agent." }] });
    expect(s.inputAudioTranscription).toEqual({});
    expect(s.outputAudioTranscription).toEqual({});
    expect(s.sessionResumption).toEqual({});
    expect(s.contextWindowCompression).toEqual({ triggerTokens: "100000", slidingWindow: { targetTokens: "50000" } });
  });

  test("gemini-3.8-live-extended-thinking carries thinkingConfig.thinkingLevel", async () => {
    const s = await setupFor("gemini-3.8-live-extended-thinking");
    expect(s.generationConfig.thinkingConfig).toEqual({ thinkingLevel: "LOW" });
    expect("proactivity" in s).toBe(false);
  });

  test("gemini-3.1-*: thinkingLevel minimal, no proactivity/affective, no handle:null", async () => {
    const s = await setupFor("gemini-3.1-flash-live-preview");
    expect(s.generationConfig.thinkingConfig).toEqual({ thinkingLevel: "MINIMAL" });
    expect("proactivity" in s).toBe(false);
    expect("enableAffectiveDialog" in s.generationConfig).toBe(false);
    expect(s.sessionResumption).toEqual({});
  });

  test("gemini-2.5-*: affective dialog inside generationConfig, top-level proactivity, thinkingBudget (on the v1alpha path)", async () => {
    const s = await setupFor(
      "gemini-2.5-flash-native-audio-preview-12-2025",
      { affectiveDialog: true, proactiveAudio: true, thinkingBudget: 0 },
      url.replace(".v1beta.", ".v1alpha."),
    );
    expect(s.generationConfig.enableAffectiveDialog).toBe(true);
    expect(s.proactivity).toEqual({ proactiveAudio: true });
    expect(s.generationConfig.thinkingConfig).toEqual({ thinkingBudget: 0 });
  });

  test("unknown model gets the 3.8 shape (and per-model knobs it does not accept are not sent)", async () => {
    const s = await setupFor("gemini-4.0-live-experimental", { affectiveDialog: true, proactiveAudio: false, thinkingLevel: "high" });
    expect(s.model).toBe("models/gemini-4.0-live-experimental");
    expect(s.generationConfig.thinkingConfig).toBeUndefined();
    expect("enableAffectiveDialog" in s.generationConfig).toBe(false);
    expect("proactivity" in s).toBe(false);
  });

  test("the stand-in really refuses wrong per-model shapes with 1007 (so the shape tests can fail)", async () => {
    const bad = [
      { model: "models/gemini-3.8-live", generationConfig: { thinkingConfig: { thinkingLevel: "low" } } },
      { model: "models/gemini-3.8-live-extended-thinking", generationConfig: {} },
      { model: "models/gemini-3.1-flash-live-preview", generationConfig: {}, proactivity: { proactiveAudio: true } },
      { model: "models/gemini-3.1-flash-live-preview", generationConfig: {}, sessionResumption: { handle: null } },
    ];
    for (const setup of bad) {
      const ws = new WebSocket(url, { headers: { "x-goog-api-key": API_KEY } } as never);
      const closed = new Promise<number>((r) => ws.addEventListener("close", (e) => r(e.code)));
      ws.addEventListener("open", () => ws.send(JSON.stringify({ setup })));
      expect(await closed).toBe(1007);
    }
  });

  test("API key arrives as x-goog-api-key, not in the URL, and never in a log line", async () => {
    const { log, lines } = captureLog();
    const before = standin.sessions.length;
    const s = makeSession(url, { log });
    await s.start();
    const ss = standin.sessions[before]!;
    expect(ss.apiKeyHeader).toBe(API_KEY);
    expect(ss.requestUrl).not.toContain(API_KEY);
    expect(ss.requestUrl).not.toContain("key=");
    await s.close();
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join("\n")).not.toContain(API_KEY);
  });

  test("a wrong key is refused by the stand-in and the session fails", async () => {
    const s = makeSession(url, { apiKey: "wrong" });
    await expect(s.start()).rejects.toThrow();
    expect(s.state).toBe("failed");
  });
});
