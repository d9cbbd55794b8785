import { describe, expect, test } from "bun:test";
import { audioFrame, mimeRate, parseDurationMs, parseServerFrame, textFrame, toolResponseFrame } from "../../src/gemini/protocol.ts";
import { buildSetup, modelFamily } from "../../src/gemini/setup.ts";

describe("protocol", () => {
  test("audio frame is realtimeInput.audio with explicit 16 kHz rate and the exact bytes", () => {
    const pcm = new Uint8Array([1, 2, 3, 250, 0, 128]);
    const view = new Uint8Array(16).fill(7).subarray(4, 10);
    view.set(pcm);
    const msg = JSON.parse(audioFrame(view));
    expect(Object.keys(msg)).toEqual(["realtimeInput"]);
    expect(msg.realtimeInput.audio.mimeType).toBe("audio/pcm;rate=16000");
    expect([...Buffer.from(msg.realtimeInput.audio.data, "base64")]).toEqual([...pcm]);
    expect(msg.realtimeInput.mediaChunks).toBeUndefined();
  });

  test("text and tool response frames are valid JSON with the exact shape", () => {
    expect(JSON.parse(textFrame('Say "hi"\n'))).toEqual({ realtimeInput: { text: 'Say "hi"\n' } });
    expect(JSON.parse(toolResponseFrame([{ id: "a", name: "n", response: { status: "ok" } }]))).toEqual({
      toolResponse: { functionResponses: [{ id: "a", name: "n", response: { status: "ok" } }] },
    });
  });

  test("server frames parse from text, ArrayBuffer, Buffer and offset views", () => {
    const json = JSON.stringify({ setupComplete: {} }, null, 2);
    const buf = Buffer.from(`xx${json}yy`);
    const view = new Uint8Array(buf.buffer, buf.byteOffset + 2, buf.byteLength - 4);
    for (const f of [json, new TextEncoder().encode(json).buffer as ArrayBuffer, Buffer.from(json), view]) {
      expect(parseServerFrame(f)).toEqual({ setupComplete: {} });
    }
    expect(() => parseServerFrame("[1]")).toThrow();
    expect(() => parseServerFrame("{nope")).toThrow();
  });

  test("mime rate and durations", () => {
    expect(mimeRate("audio/pcm;rate=24000")).toBe(24000);
    expect(mimeRate("audio/pcm; rate=16000")).toBe(16000);
    expect(mimeRate("audio/pcm")).toBe(24000);
    expect(mimeRate(undefined)).toBe(24000);
    // The last mimeType parsed is remembered: the same value again, alternating values and the fallback still hold.
    expect(mimeRate("audio/pcm", 16000)).toBe(16000);
    expect(mimeRate("audio/pcm;rate=8000")).toBe(8000);
    expect(mimeRate("audio/pcm;rate=8000")).toBe(8000);
    expect(mimeRate("audio/pcm;rate=24000")).toBe(24000);
    expect(mimeRate("audio/pcm;rate=0", 16000)).toBe(16000);
    expect(mimeRate("audio/pcm;rate=0", 24000)).toBe(24000);
    expect(parseDurationMs("50s")).toBe(50000);
    expect(parseDurationMs("9.5s")).toBe(9500);
    expect(parseDurationMs("0.250s")).toBe(250);
    expect(parseDurationMs("soon")).toBeUndefined();
  });
});

describe("setup per model", () => {
  const base = { voice: "Puck", prompt: "Be brief." };

  test("families", () => {
    expect(modelFamily("gemini-3.8-live")).toBe("3.8");
    expect(modelFamily("models/gemini-3.8-live-extended-thinking")).toBe("3.8-extended-thinking");
    expect(modelFamily("gemini-3.1-flash-live-preview")).toBe("3.1");
    expect(modelFamily("gemini-2.5-flash-native-audio-preview-12-2025")).toBe("2.5");
    expect(modelFamily("gemini-9-future")).toBe("3.8");
  });

  test("common fields, never handle:null, handle when resuming", () => {
    const s = buildSetup({ ...base, model: "gemini-3.8-live" }).setup;
    expect(s.model).toBe("models/gemini-3.8-live");
    expect(s.generationConfig.responseModalities).toEqual(["AUDIO"]);
    expect(s.generationConfig.speechConfig.voiceConfig.prebuiltVoiceConfig.voiceName).toBe("Puck");
    expect(s.systemInstruction).toEqual({ parts: [{ text: "Be brief." }] });
    expect(s.inputAudioTranscription).toEqual({});
    expect(s.outputAudioTranscription).toEqual({});
    expect(s.sessionResumption).toEqual({});
    expect(s.contextWindowCompression).toEqual({ triggerTokens: "100000", slidingWindow: { targetTokens: "50000" } });
    expect(s.tools).toBeUndefined();
    expect(buildSetup({ ...base, model: "gemini-3.1-flash-live-preview", handle: "H1" }).setup.sessionResumption).toEqual({ handle: "H1" });
    expect(JSON.stringify(buildSetup({ ...base, model: "gemini-3.1-flash-live-preview", handle: undefined }))).not.toContain("handle");
  });
});
