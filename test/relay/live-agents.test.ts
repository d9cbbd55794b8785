// Agents as the real Live API takes them, through the real relay and the Live stand-in (which reads every setup
// against Google's protos, test/support/gemini-spy.ts): tool schemas in both forms with the model's arguments
// checked before the tool runs; turn-taking, language and temperature in the setup; the v1alpha endpoint for a
// 2.5 agent's affective dialog; search grounding kept on the agent's utterance in the record.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import type { CallEvent } from "../../src/call/events.ts";
import type { CallRecord } from "../../src/records/record.ts";
import type { StandinSession } from "../support/gemini-spy.ts";
import { recordWhen } from "../records/helpers.ts";
import { agentsFile, cleanupAgentFiles } from "./fixtures.ts";
import { Caller, startHarness, until, type Harness } from "./harness.ts";

interface Seen {
  path: string;
  body: string;
}
const seen: Seen[] = [];
let server: ReturnType<typeof Bun.serve>;

beforeAll(() => {
  server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const s: Seen = { path: new URL(req.url).pathname, body: await req.text() };
      seen.push(s);
      return Response.json({ booked: true, ref: "ref-77kx" });
    },
  });
});
afterAll(() => server.stop(true));

let h: Harness | undefined;
let caller: Caller | undefined;
afterEach(async () => {
  caller?.ws.close();
  caller = undefined;
  await h?.stop();
  h = undefined;
  seen.length = 0;
  cleanupAgentFiles();
});

/** A tool schema written for OpenAI's strict tools: every key required, nothing else allowed, a const and a bound. */
const STRICT_TOOL = (url: string) => `
      - name: book_table
        description: "Book a table."
        parameters:
          type: object
          properties:
            when: { type: string, format: date-time }
            party: { type: integer, exclusiveMinimum: 0, maximum: 12 }
            seating: { type: string, enum: [indoor, outdoor] }
            source: { const: phone }
          required: [when, party, seating, source]
          additionalProperties: false
        url: ${url}
`;

async function call(env: Record<string, string>, yaml: string, opts: { alphaUrl?: boolean; to?: string; id?: string } = {}): Promise<{ s: StandinSession; events: CallEvent[] }> {
  h = await startHarness({ AGENTS_FILE: agentsFile(yaml), ...env }, { speechRms: 1000 }, { alphaUrl: opts.alphaUrl });
  const events: CallEvent[] = [];
  h.calls.events.subscribe((e) => void events.push(e));
  const before = h.standin.sessions.length;
  caller = await new Caller(await h.streamUrlFor(opts.id ?? "HD_live", opts.to ?? "+254711000000")).open();
  await until(() => h!.standin.sessions[before]?.ready === true || h!.standin.sessions[before]?.closed !== undefined, "live session set up or refused");
  const s = h.standin.sessions[before]!;
  expect(s.setupProblems).toEqual([]);
  expect(s.closed).toBeUndefined();
  return { s, events };
}

async function ask(s: StandinSession, name: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
  const id = s.toolCall(name, args);
  await until(() => s.toolResponses.some((r) => r.id === id), `answer to ${name}`, 10000);
  return s.toolResponses.find((x) => x.id === id)!.response as Record<string, unknown>;
}

const GOOD = { when: "2026-12-24T19:00:00Z", party: 4, seating: "outdoor", source: "phone" };

describe("tool schemas Gemini accepts, in both forms", () => {
  test.each(["openapi", "json"] as const)("GEMINI_TOOL_SCHEMA=%s: the setup is accepted, good arguments reach the tool, bad ones go back to the model and the tool is not called", async (form) => {
    const yaml = `agents:\n  - name: tables\n    prompt: "Tables."\n    tools:\n${STRICT_TOOL(`http://127.0.0.1:${server.port}/book`)}`;
    const { s, events } = await call({ GEMINI_TOOL_SCHEMA: form }, yaml);
    const decl = ((s.setup!.tools as Array<Record<string, Array<Record<string, unknown>>>>)[0]!.functionDeclarations ?? [])[0]!;
    if (form === "openapi") {
      expect(decl.parameters).toEqual({
        type: "OBJECT",
        properties: {
          when: { type: "STRING", format: "date-time" },
          party: { type: "INTEGER", maximum: 12 },
          seating: { type: "STRING", enum: ["indoor", "outdoor"] },
          source: { type: "STRING", enum: ["phone"] },
        },
        required: ["when", "party", "seating", "source"],
      });
      expect(decl.parametersJsonSchema).toBeUndefined();
      // What was left out is logged at load by path, at info.
      const left = h!.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => String(l.msg).startsWith("tool schema:"))!;
      expect(left.leftOut).toEqual(["agents[0].tools[0].parameters.properties.party.exclusiveMinimum", "agents[0].tools[0].parameters.additionalProperties"]);
    } else {
      expect(decl.parametersJsonSchema).toMatchObject({ additionalProperties: false, required: ["when", "party", "seating", "source"] });
      expect(decl.parameters).toBeUndefined();
    }

    expect(await ask(s, "book_table", GOOD)).toEqual({ status: "ok", output: { booked: true, ref: "ref-77kx" } });
    expect(seen).toHaveLength(1);
    expect(JSON.parse(seen[0]!.body).args).toEqual(GOOD);

    // Wrong in every way the openapi form could not tell the model: 0 guests, an extra key, a different const.
    const bad = await ask(s, "book_table", { ...GOOD, party: 0, source: "web-form-9x", note: "by the window" });
    expect(bad).toEqual({
      status: "error",
      retryable: false,
      message: 'invalid arguments: note: is not an argument of this tool; party: must be > 0; source: must be "phone". Correct them and call again.',
    });
    expect(seen).toHaveLength(1);
    // The argument values are in no message and no log line above debug.
    expect(JSON.stringify(bad)).not.toContain("web-form-9x");
    expect(JSON.stringify(h!.logs.map((l) => JSON.parse(l)).filter((l) => l.level >= 30))).not.toContain("web-form-9x");

    // The record's tool call shows what the model was told.
    await until(() => events.filter((e) => e.type === "toolResult").length === 2, "two results");
    caller!.ws.close();
    const r = await recordWhen(h!, "HD_live", (x) => x.endReason !== null && x.toolCalls.length === 2 && x.toolCalls[1]!.outcome !== null, "record with both tool calls");
    expect(r.toolCalls.map((t) => [t.name, t.outcome])).toEqual([
      ["book_table", "ok"],
      ["book_table", "error"],
    ]);
    expect(String(r.toolCalls[1]!.result?.message)).toStartWith("invalid arguments: note: is not an argument of this tool");
  });
});

describe("turn-taking, language and temperature", () => {
  test("the setup carries them where the model takes them; the file's values win over the settings' field by field", async () => {
    const yaml = `agents:
  - name: duka
    prompt: "You answer for Duka Ltd."
    turnTaking: { startSensitivity: low, silenceDurationMs: 900 }
    language: [sw, en]
    temperature: 0.4
`;
    const { s } = await call({ GEMINI_END_SENSITIVITY: "low", GEMINI_PREFIX_PADDING_MS: "60", GEMINI_TEMPERATURE: "1.2", AGENT_LANGUAGE: "en" }, yaml);
    const setup = s.setup as Record<string, any>;
    expect(setup.realtimeInputConfig).toEqual({
      automaticActivityDetection: { startOfSpeechSensitivity: "START_SENSITIVITY_LOW", endOfSpeechSensitivity: "END_SENSITIVITY_LOW", prefixPaddingMs: 60, silenceDurationMs: 900 },
    });
    expect(setup.generationConfig.temperature).toBe(0.4);
    expect(setup.inputAudioTranscription).toEqual({ languageCodes: ["sw", "en"] });
    expect(setup.outputAudioTranscription).toEqual({ languageCodes: ["sw", "en"] });
    // Native audio picks its own language: no speechConfig.languageCode; the instruction says which.
    expect(setup.generationConfig.speechConfig.languageCode).toBeUndefined();
    expect(setup.systemInstruction.parts[0].text).toBe(
      "You answer for Duka Ltd.\n\nSpeak Swahili. Callers may also speak English, or mix them with Swahili in one sentence: understand them, and answer in the language the caller is using.",
    );
  });

  test("the default agent takes them from the settings", async () => {
    h = await startHarness({ GEMINI_START_SENSITIVITY: "high", AGENT_LANGUAGE: "sw-KE", GEMINI_TEMPERATURE: "0.9" });
    caller = await new Caller(await h.streamUrlFor("HD_default")).open();
    await until(() => h!.standin.sessions[0]?.ready === true, "live ready");
    const setup = h.standin.sessions[0]!.setup as Record<string, any>;
    expect(setup.realtimeInputConfig).toEqual({ automaticActivityDetection: { startOfSpeechSensitivity: "START_SENSITIVITY_HIGH" } });
    expect(setup.generationConfig.temperature).toBe(0.9);
    expect(setup.inputAudioTranscription).toEqual({ languageCodes: ["sw-KE"] });
    expect(setup.systemInstruction.parts[0].text).toEndWith("\n\nSpeak Swahili (Kenya).");
  });
});

describe("affective dialog and proactive audio", () => {
  const TWO = `agents:
  - name: warm
    model: gemini-2.5-flash-native-audio-preview-12-2025
    numbers: ["+254711000000"]
    prompt: "Warm."
  - name: current
    model: gemini-3.8-live
    prompt: "Current."
`;

  test("a 2.5 agent dials the v1alpha endpoint with them; a 3.8 agent dials v1beta with neither, and the log says so once", async () => {
    const { s } = await call({ GEMINI_AFFECTIVE_DIALOG: "true", GEMINI_PROACTIVE_AUDIO: "true" }, TWO, { alphaUrl: true });
    expect(s.requestUrl).toContain(".v1alpha.GenerativeService.BidiGenerateContent");
    const warm = s.setup as Record<string, any>;
    expect(warm.generationConfig.enableAffectiveDialog).toBe(true);
    expect(warm.proactivity).toEqual({ proactiveAudio: true });

    const other = await new Caller(await h!.streamUrlFor("HD_current", "+254733000000")).open();
    try {
      await until(() => h!.standin.sessions[1]?.ready === true, "3.8 session ready");
      const t = h!.standin.sessions[1]!;
      expect(t.requestUrl).toContain(".v1beta.GenerativeService.BidiGenerateContent");
      expect((t.setup as Record<string, any>).generationConfig.enableAffectiveDialog).toBeUndefined();
      expect("proactivity" in t.setup!).toBe(false);
    } finally {
      other.ws.close();
    }
    const notes = h!.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => Array.isArray(l.ignored));
    expect(notes.map((n) => [n.agent, n.ignored])).toEqual([
      ["current", ["GEMINI_AFFECTIVE_DIALOG (2.5 native audio only; 3.8 does not take it)", "GEMINI_PROACTIVE_AUDIO (2.5 native audio only; 3.8 does not take it)"]],
    ]);
  });
});

/** ms of loud speech, then enough quiet for the stand-in's detector to end the utterance, as 20 ms frames. */
function speak(c: Caller, ms: number): void {
  const frame = (loud: boolean) => {
    const pcm = new Int16Array(320);
    if (loud) for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(9000 * Math.sin((2 * Math.PI * 300 * i) / 16000));
    return new Uint8Array(pcm.buffer);
  };
  for (let t = 0; t < ms; t += 20) c.ws.send(frame(true));
  for (let t = 0; t < 600; t += 20) c.ws.send(frame(false));
}

describe("search grounding", () => {
  test("google_search goes into the setup; what the search found is kept on the agent's utterance in the record", async () => {
    const yaml = `agents:\n  - name: news\n    prompt: "You read the news."\n    tools:\n      - builtin: google_search\n      - builtin: end_call\n`;
    const { s } = await call({}, yaml);
    expect(s.setup!.tools).toEqual([expect.objectContaining({ functionDeclarations: [expect.objectContaining({ name: "end_call" })] }), { googleSearch: {} }]);
    speak(caller!, 400);
    await until(() => s.groundings === 1 && s.answers === 1, "grounded answer");
    await until(() => s.sent.filter((k) => k.includes("usageMetadata")).length === 1, "answer complete");
    await Bun.sleep(300);
    caller!.ws.close();
    const r: CallRecord = await recordWhen(h!, "HD_live", (x) => x.endReason !== null && x.transcript.some((u) => u.role === "agent"), "record with the answer");
    const agentLine = r.transcript.find((u) => u.role === "agent")!;
    expect(agentLine.grounding).toEqual({
      queries: ["Nairobi weather today"],
      sources: [
        { uri: "https://vertexaisearch.cloud.google.com/grounding-api-redirect/standin-1", title: "weather.example.com" },
        { uri: "https://vertexaisearch.cloud.google.com/grounding-api-redirect/standin-2", title: "news.example.co.ke" },
      ],
      raw: [expect.objectContaining({ webSearchQueries: ["Nairobi weather today"], searchEntryPoint: expect.any(Object) })],
    });
    expect(r.transcript.filter((u) => u.role === "caller").every((u) => u.grounding === undefined)).toBe(true);
  });
});
