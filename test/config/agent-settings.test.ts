// The settings this branch adds: agent defaults (turn-taking, language, temperature), the tool schema form, and the
// v1alpha endpoint that affective dialog and proactive audio need. Each bad value is a ConfigError naming it.
import { describe, expect, test } from "bun:test";
import { ALPHA_GEMINI_LIVE_URL, ConfigError, DEFAULT_GEMINI_LIVE_URL, loadConfig } from "../../src/config.ts";

function refused(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`${JSON.stringify(env)} loaded`);
}

describe("agent defaults", () => {
  test("unset: the model decides", () => {
    expect(loadConfig({}).agentTuning).toEqual({ turnTaking: {}, languages: [], temperature: undefined });
  });

  test("read, canonicalised", () => {
    const c = loadConfig({
      GEMINI_START_SENSITIVITY: "low",
      GEMINI_END_SENSITIVITY: "high",
      GEMINI_PREFIX_PADDING_MS: "20",
      GEMINI_SILENCE_DURATION_MS: "800",
      AGENT_LANGUAGE: "sw-ke, en-KE,sw-KE",
      GEMINI_TEMPERATURE: "0.7",
    });
    expect(c.agentTuning).toEqual({
      turnTaking: { startSensitivity: "low", endSensitivity: "high", prefixPaddingMs: 20, silenceDurationMs: 800 },
      languages: ["sw-KE", "en-KE"],
      temperature: 0.7,
    });
  });

  test.each([
    ["GEMINI_START_SENSITIVITY", "medium"],
    ["GEMINI_END_SENSITIVITY", "LOW!"],
    ["GEMINI_PREFIX_PADDING_MS", "-1"],
    ["GEMINI_SILENCE_DURATION_MS", "20000"],
    ["AGENT_LANGUAGE", "en_US"],
    ["AGENT_LANGUAGE", "sw,,en"],
    ["GEMINI_TEMPERATURE", "2.5"],
    ["GEMINI_TEMPERATURE", "warm"],
    ["GEMINI_TOOL_SCHEMA", "openai"],
  ])("%s=%p is refused, naming it", (name, value) => {
    expect(refused({ [name]: value }).variable).toBe(name);
  });

  test("GEMINI_TOOL_SCHEMA: openapi unless json is asked for", () => {
    expect(loadConfig({}).gemini.toolSchema).toBe("openapi");
    expect(loadConfig({ GEMINI_TOOL_SCHEMA: "json" }).gemini.toolSchema).toBe("json");
  });
});

describe("the v1alpha endpoint for affective dialog and proactive audio", () => {
  test("not needed: no alpha URL", () => {
    expect(loadConfig({}).gemini.alphaUrl).toBeUndefined();
    expect(loadConfig({ GEMINI_LIVE_URL: "ws://127.0.0.1:9/x" }).gemini.alphaUrl).toBeUndefined();
  });

  test("derived from the default endpoint", () => {
    for (const env of [{ GEMINI_AFFECTIVE_DIALOG: "true" }, { GEMINI_PROACTIVE_AUDIO: "false" }, { GEMINI_AFFECTIVE_DIALOG: "1", GEMINI_LIVE_URL: DEFAULT_GEMINI_LIVE_URL }]) {
      const g = loadConfig(env).gemini;
      expect(g.liveUrl).toBe(DEFAULT_GEMINI_LIVE_URL);
      expect(g.alphaUrl).toBe(ALPHA_GEMINI_LIVE_URL);
    }
    expect(ALPHA_GEMINI_LIVE_URL).toBe("wss://generativelanguage.googleapis.com/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContent");
  });

  test("a GEMINI_LIVE_URL that names v1alpha is used as it is", () => {
    const url = "wss://proxy.example.com/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContent";
    expect(loadConfig({ GEMINI_PROACTIVE_AUDIO: "true", GEMINI_LIVE_URL: url }).gemini.alphaUrl).toBe(url);
  });

  test("any other GEMINI_LIVE_URL is refused, saying why", () => {
    const e = refused({ GEMINI_AFFECTIVE_DIALOG: "true", GEMINI_LIVE_URL: "wss://proxy.example.com/live" });
    expect(e.variable).toBe("GEMINI_AFFECTIVE_DIALOG");
    expect(e.message).toContain("needs the v1alpha API");
    expect(e.message).toContain("GEMINI_LIVE_URL");
  });

  test("a bad boolean is named before the URL question", () => {
    expect(refused({ GEMINI_PROACTIVE_AUDIO: "maybe", GEMINI_LIVE_URL: "wss://proxy.example.com/live" }).variable).toBe("GEMINI_PROACTIVE_AUDIO");
    expect(refused({ GEMINI_PROACTIVE_AUDIO: "maybe", GEMINI_LIVE_URL: "wss://proxy.example.com/live" }).expected).toBe("true or false");
  });
});
