// Every kind of client message the relay builds, read strictly against Google's published v1beta protos the way
// the Live service reads BidiGenerateContentClientMessage: a field the protos lack, a wrong type, an unknown enum
// name, a deprecated field or a null fails here instead of closing a real call with 1007 (docs/gemini-live.md#wire-check).
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import protobuf from "protobufjs";
import protojson from "protobufjs/ext/protojson.js";
import { audioFrame, type FunctionDeclaration, setupFrame, textFrame, toolResponseFrame } from "../../src/gemini/protocol.ts";
import type { Agent, CallTool } from "../../src/call/agent.ts";
import { planAgent } from "../../src/gemini/agent-plan.ts";
import { buildSetup, modelFamily, type ModelFamily, type ModelTuning, type SetupParams } from "../../src/gemini/setup.ts";
import { toJsonSchemaParameters, toOpenApiSchema } from "../../src/gemini/tool-schema.ts";
import { endCallTool } from "../../src/tools/end-call.ts";
import { CLIENT_MESSAGE, KNOWN_EXCEPTIONS, loadProtos, WireChecker } from "../support/wire-protos.ts";

const wire = new WireChecker();

/** A schema the way people write them for OpenAI strict tools: everything required, no extra keys, null unions. */
const BOOKING_SCHEMA = {
  type: "object",
  properties: {
    when: { type: "string", format: "date-time", description: "Start, ISO 8601" },
    party: { type: "integer", minimum: 1, maximum: 12 },
    notes: { type: ["string", "null"] },
    seating: { type: "string", enum: ["indoor", "outdoor"] },
    items: {
      type: "array",
      items: {
        type: "object",
        properties: { sku: { type: "string" }, qty: { type: "integer", exclusiveMinimum: 0 } },
        required: ["sku", "qty"],
        additionalProperties: false,
      },
    },
  },
  required: ["when", "party", "notes", "seating", "items"],
  additionalProperties: false,
};
const BOOKING = { name: "book_table", description: "Book a table." };

function openapiTools(): FunctionDeclaration[] {
  const endCall = endCallTool().declaration;
  return [
    { name: endCall.name, description: endCall.description, parameters: { ...toOpenApiSchema(endCall.parameters, "end_call").schema } },
    { ...BOOKING, parameters: { ...toOpenApiSchema(BOOKING_SCHEMA, "book_table").schema }, behavior: "NON_BLOCKING" },
  ];
}

function jsonTools(): FunctionDeclaration[] {
  const endCall = endCallTool().declaration;
  return [
    { name: endCall.name, description: endCall.description, parametersJsonSchema: toJsonSchemaParameters(endCall.parameters, "end_call") },
    { ...BOOKING, parametersJsonSchema: toJsonSchemaParameters(BOOKING_SCHEMA, "book_table") },
  ];
}

const MODELS: Record<ModelFamily, string> = {
  "3.8": "gemini-3.8-live",
  "3.8-extended-thinking": "gemini-3.8-live-extended-thinking",
  "3.1": "gemini-3.1-flash-live-preview",
  "2.5": "gemini-2.5-flash-native-audio-preview-12-2025",
};
/** Every per-model knob the relay has, set; buildSetup sends the ones the family takes. */
const TUNED: ModelTuning = { thinkingLevel: "high", thinkingBudget: 1024, affectiveDialog: true, proactiveAudio: true };
const HANDLE = "Cj4KEnNlc3Npb24taGFuZGxlLTAwMDEaKAoQZ2VtaW5pLTMuOC1saXZl";

function frameFor(model: string, o: Partial<SetupParams> = {}): string {
  return setupFrame(buildSetup({ voice: "Kore", prompt: "You are Amani, the front desk.", ...o, model }));
}

/** An agent with every per-agent setting the relay has, and tools of every kind: both behaviors, each scheduling. */
function fullAgent(model: string): Agent {
  const tool = (name: string, extra: Partial<CallTool["declaration"]>): CallTool => ({
    declaration: { name, description: `The ${name} tool.`, parameters: BOOKING_SCHEMA, origin: `agents[0].tools.${name}`, ...extra },
    timeoutMs: 1000,
    run: () => Promise.resolve(null),
  });
  return {
    name: "amani",
    model,
    voice: "Kore",
    prompt: "You are Amani, the front desk.",
    greeting: "",
    maxCallSeconds: 0,
    idleSeconds: 0,
    tools: [
      endCallTool(),
      tool("book_blocking", { behavior: "blocking" }),
      tool("book_interrupt", { behavior: "non_blocking", scheduling: "interrupt" }),
      tool("book_idle", { behavior: "non_blocking", scheduling: "when_idle" }),
      tool("book_silent", { behavior: "non_blocking", scheduling: "silent" }),
      tool("book_default", {}),
    ],
    turnTaking: { startSensitivity: "low", endSensitivity: "high", prefixPaddingMs: 40, silenceDurationMs: 800 },
    languages: ["sw-KE", "en-KE"],
    temperature: 0.7,
    webSearch: true,
  };
}

/** The setup the relay would send for fullAgent on `model`, tools in `form`. */
function fullFrame(model: string, form: "json" | "openapi", o: { tuning?: ModelTuning; handle?: string } = {}): string {
  const a = fullAgent(model);
  const plan = planAgent(a, { toolSchema: form, tuning: o.tuning ?? {} });
  return frameFor(model, {
    prompt: a.prompt,
    tools: plan.declarations,
    search: a.webSearch,
    turnTaking: a.turnTaking,
    languages: a.languages,
    temperature: a.temperature,
    tuning: o.tuning,
    handle: o.handle,
  });
}

/** The parsed setup as an object to change one thing in. */
function setupObject(): { setup: Record<string, any> } {
  return JSON.parse(frameFor(MODELS["3.8"], { tools: openapiTools() }));
}

describe("the checker reads client messages strictly", () => {
  test("a setup buildSetup makes, and realtime audio, pass (the base the refusals below change)", () => {
    expect(wire.check(JSON.stringify(setupObject()))).toEqual([]);
    expect(wire.check(audioFrame(new Uint8Array(640)))).toEqual([]);
  });

  test("a field the proto does not have, added to buildSetup's output, is refused", () => {
    const m = setupObject();
    m.setup.generationConfig.temperatureBoost = 1;
    expect(wire.check(JSON.stringify(m)).join()).toContain('unknown field: "temperatureBoost"');
    const top = setupObject();
    top.setup.sessionResumption = { handle: HANDLE, transparentish: true };
    expect(wire.check(JSON.stringify(top)).join()).toContain('unknown field: "transparentish"');
  });

  test("an unknown top-level field is refused", () => {
    expect(wire.check(`{"realtimeInput":{"text":"hi"},"clientHint":1}`).join()).toContain('unknown field: "clientHint"');
    expect(wire.check(`{"hello":{}}`).join()).toContain('unknown field: "hello"');
  });

  test("the deprecated realtimeInput.mediaChunks is refused, in either spelling", () => {
    const chunk = `[{"mimeType":"audio/pcm;rate=16000","data":"AAAA"}]`;
    expect(wire.check(`{"realtimeInput":{"mediaChunks":${chunk}}}`).join()).toContain("realtimeInput.mediaChunks: deprecated in the proto");
    expect(wire.check(`{"realtime_input":{"media_chunks":${chunk}}}`).join()).toContain("media_chunks: deprecated in the proto");
  });

  test("additionalProperties inside parameters is refused (Google's Schema has no such field)", () => {
    const m = setupObject();
    m.setup.tools[0].functionDeclarations[1].parameters.additionalProperties = false;
    expect(wire.check(JSON.stringify(m)).join()).toContain('Schema: unknown field: "additionalProperties"');
    const nested = setupObject();
    nested.setup.tools[0].functionDeclarations[1].parameters.properties.items.items.additionalProperties = false;
    expect(wire.check(JSON.stringify(nested)).join()).toContain('unknown field: "additionalProperties"');
  });

  test("the agents file's JSON Schema passed through as parameters is refused (lower-case type, additionalProperties)", () => {
    const m = setupObject();
    m.setup.tools[0].functionDeclarations[1].parameters = BOOKING_SCHEMA;
    expect(wire.check(JSON.stringify(m))).not.toEqual([]);
  });

  test("values of the wrong type are refused", () => {
    const cases: Array<[(s: Record<string, any>) => void, string]> = [
      [(s) => (s.model = 38), "model"],
      [(s) => (s.generationConfig.responseModalities = "AUDIO"), "response_modalities"],
      [(s) => (s.contextWindowCompression.triggerTokens = "lots"), "trigger_tokens"],
      [(s) => (s.contextWindowCompression.triggerTokens = 1.5), "trigger_tokens"],
      [(s) => (s.systemInstruction = "You are Amani."), "Content"],
      [(s) => (s.tools[0].functionDeclarations[0].parameters.properties.reason.nullable = "yes"), "nullable"],
    ];
    for (const [change, where] of cases) {
      const m = setupObject();
      change(m.setup);
      expect(wire.check(JSON.stringify(m)).join()).toContain(where);
    }
    expect(wire.check(`{"realtimeInput":{"audioStreamEnd":"yes"}}`).join()).toContain("audio_stream_end");
    expect(wire.check(`{"realtimeInput":{"audio":{"mimeType":"audio/pcm;rate=16000","data":"not base64!"}}}`)).not.toEqual([]);
  });

  test("enum names the proto does not list are refused", () => {
    const m = setupObject();
    m.setup.generationConfig.responseModalities = ["SOUND"];
    expect(wire.check(JSON.stringify(m)).join()).toContain('unknown enum value: "SOUND"');
    const lower = setupObject();
    lower.setup.tools[0].functionDeclarations[0].parameters.type = "object";
    expect(wire.check(JSON.stringify(lower)).join()).toContain('unknown enum value: "object"');
  });

  test("null is refused outside a google.protobuf.Value (3.1 closes {handle: null} with 1007)", () => {
    const m = setupObject();
    m.setup.sessionResumption = { handle: null };
    expect(wire.check(JSON.stringify(m))).toEqual(["setup.sessionResumption.handle: null (leave the field out instead)"]);
    const v = setupObject();
    v.setup.tools[0].functionDeclarations[1].parameters.properties.notes.default = null;
    expect(wire.check(JSON.stringify(v))).toEqual([]);
  });

  test("parameters and parametersJsonSchema together are refused (the proto calls them mutually exclusive)", () => {
    const m = setupObject();
    m.setup.tools[0].functionDeclarations[1].parametersJsonSchema = BOOKING_SCHEMA;
    expect(wire.check(JSON.stringify(m)).join()).toContain("mutually exclusive");
  });

  test("a message is exactly one kind: two kinds or none are refused", () => {
    expect(wire.check(`{"realtimeInput":{"text":"a"},"toolResponse":{"functionResponses":[]}}`)).not.toEqual([]);
    expect(wire.check(`{}`)).toEqual(["expected exactly one of the message kinds at the top, got 0"]);
    expect(wire.check(`[]`)).toEqual(["not a JSON object"]);
  });
});

describe("known exceptions: fields the official SDK sends ahead of the published protos", () => {
  const bare = loadProtos([]);

  test.each(KNOWN_EXCEPTIONS.map((x) => [`${x.message}.${x.field}`, x] as const))("%s is still missing from the protos and has a source", (_n, x) => {
    expect(bare.lookupType(x.message).fields[x.field]).toBeUndefined();
    expect(x.source).toMatch(/js-genai .+:\d+/);
  });

  test("without the exceptions the relay's 3.8-extended-thinking, tuned 2.5 and language-hinted setups would be refused (so each is needed)", () => {
    const strictest = new WireChecker(bare);
    expect(strictest.check(frameFor(MODELS["3.8"], { languages: ["sw"] })).join()).toContain('unknown field: "languageCodes"');
    expect(wire.check(frameFor(MODELS["3.8"], { languages: ["sw"] }))).toEqual([]);
    expect(strictest.check(frameFor(MODELS["3.8-extended-thinking"])).join()).toContain('unknown field: "thinkingLevel"');
    const tuned = strictest.check(frameFor(MODELS["2.5"], { tuning: TUNED })).join();
    expect(tuned).toContain('unknown field: "enableAffectiveDialog"');
    expect(wire.check(frameFor(MODELS["2.5"], { tuning: { proactiveAudio: true } }))).toEqual([]);
    expect(strictest.check(frameFor(MODELS["2.5"], { tuning: { proactiveAudio: true } })).join()).toContain('unknown field: "proactivity"');
  });

  test("an exception's value is still checked against the SDK's type", () => {
    const m = JSON.parse(frameFor(MODELS["3.1"]));
    m.setup.generationConfig.thinkingConfig.thinkingLevel = "EXTREME";
    expect(wire.check(JSON.stringify(m)).join()).toContain('unknown enum value: "EXTREME"');
    const p = JSON.parse(frameFor(MODELS["2.5"], { tuning: { proactiveAudio: true } }));
    p.setup.proactivity.proactiveAudio = "on";
    expect(wire.check(JSON.stringify(p)).join()).toContain("proactive_audio");
    const l = JSON.parse(frameFor(MODELS["3.8"], { languages: ["sw"] }));
    l.setup.inputAudioTranscription.languageCodes = "sw";
    expect(wire.check(JSON.stringify(l)).join()).toContain("language_codes");
  });

  test("loading fails once the protos gain an exception's field (so stale exceptions are noticed)", () => {
    expect(() => loadProtos([{ message: "google.ai.generativelanguage.v1beta.ThinkingConfig", field: "thinking_budget", type: "int32", source: "x" }])).toThrow(
      /is in the protos now/,
    );
  });
});

describe("what the relay sends passes", () => {
  test("the model ids below cover every family buildSetup knows", () => {
    for (const [family, model] of Object.entries(MODELS)) expect(modelFamily(model)).toBe(family as ModelFamily);
  });

  const tools = { none: undefined, openapi: openapiTools, json: jsonTools } as const;
  const cases: Array<[string, string, ModelTuning | undefined, keyof typeof tools, string | undefined]> = [];
  for (const [family, model] of Object.entries(MODELS)) {
    for (const tuning of [undefined, TUNED]) {
      for (const form of Object.keys(tools) as Array<keyof typeof tools>) {
        for (const handle of [undefined, HANDLE]) {
          cases.push([`${family} ${tuning ? "tuned" : "default"} tools:${form} ${handle ? "resume" : "fresh"}`, model, tuning, form, handle]);
        }
      }
    }
  }
  test.each(cases)("setup %s", (_name, model, tuning, form, handle) => {
    const frame = frameFor(model, { tuning, tools: tools[form]?.(), handle });
    expect(wire.check(frame)).toEqual([]);
  });

  const full: Array<[string, string, "json" | "openapi", ModelTuning | undefined, string | undefined]> = [];
  for (const [family, model] of Object.entries(MODELS)) {
    for (const form of ["openapi", "json"] as const) {
      full.push([`${family} tools:${form}`, model, form, undefined, undefined]);
      full.push([`${family} tools:${form} tuned resume`, model, form, TUNED, HANDLE]);
    }
  }
  test.each(full)("setup of an agent with every setting and tool kind, %s", (_name, model, form, tuning, handle) => {
    const frame = fullFrame(model, form, { tuning, handle });
    expect(wire.check(frame)).toEqual([]);
    const s = JSON.parse(frame).setup;
    expect(s.realtimeInputConfig.automaticActivityDetection).toEqual({
      startOfSpeechSensitivity: "START_SENSITIVITY_LOW",
      endOfSpeechSensitivity: "END_SENSITIVITY_HIGH",
      prefixPaddingMs: 40,
      silenceDurationMs: 800,
    });
    expect(s.generationConfig.temperature).toBe(0.7);
    expect(s.inputAudioTranscription).toEqual({ languageCodes: ["sw-KE", "en-KE"] });
    expect(s.tools[1]).toEqual({ googleSearch: {} });
    expect(s.generationConfig.speechConfig.languageCode).toBeUndefined();
  });

  test("setup without a prompt (no systemInstruction) and with an empty tool list", () => {
    expect(wire.check(frameFor(MODELS["3.1"], { prompt: "", tools: [] }))).toEqual([]);
  });

  test("realtimeInput.audio carries the caller's bytes as standard base64, any length, any view", () => {
    const tone = new Int16Array(320);
    for (let i = 0; i < tone.length; i++) tone[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 16000));
    const pcm = new Uint8Array(tone.buffer);
    const backing = new Uint8Array(2000).fill(0xfb);
    backing.set(pcm, 7);
    for (const bytes of [pcm, pcm.subarray(0, 1), pcm.subarray(0, 3), backing.subarray(7, 7 + 640), Buffer.from(pcm)]) {
      const frame = audioFrame(bytes);
      expect(wire.check(frame)).toEqual([]);
      const msg = protojson.fromJson(wire.root.lookupType(CLIENT_MESSAGE), JSON.parse(frame)) as protobuf.Message & Record<string, any>;
      expect(msg.realtime_input.audio.mime_type).toBe("audio/pcm;rate=16000");
      expect(new Uint8Array(msg.realtime_input.audio.data)).toEqual(new Uint8Array(bytes));
    }
  });

  test("realtimeInput.text keeps any text intact", () => {
    for (const text of ["Greet the caller and ask how you can help.", 'Say "karibu" \\ then wait.\n\tOK', "Habari 👋 \u2028 \u0000 end", ""]) {
      const frame = textFrame(text);
      expect(wire.check(frame)).toEqual([]);
      const msg = protojson.fromJson(wire.root.lookupType(CLIENT_MESSAGE), JSON.parse(frame)) as protobuf.Message & Record<string, any>;
      expect(msg.realtime_input.text).toBe(text);
    }
  });

  test("toolResponse with the answers the tool runner gives", () => {
    const answers: Array<Record<string, unknown>> = [
      { status: "ok", output: { eta: "16:00", slots: [1, 2.5, { free: true }], note: null } },
      { status: "ok", output: null },
      { status: "ok", output: ["a", "b"] },
      { status: "error", retryable: false, message: "unknown tool: x" },
      { status: "ok", message: "The line closes once your goodbye has been heard." },
    ];
    for (const response of answers) {
      expect(wire.check(toolResponseFrame([{ id: "function-call-1", name: "lookup_order", response }]))).toEqual([]);
    }
    expect(wire.check(toolResponseFrame(answers.map((response, i) => ({ id: `c${i}`, name: "t", response }))))).toEqual([]);
  });

  test("toolResponse with each scheduling the relay sends for non-blocking tools (Google's enum names)", () => {
    for (const scheduling of ["INTERRUPT", "WHEN_IDLE", "SILENT"] as const) {
      expect(wire.check(toolResponseFrame([{ id: "function-call-1", name: "book", response: { status: "ok", output: null }, scheduling }]))).toEqual([]);
    }
    // The docs' other spelling is not the proto's.
    expect(wire.check(`{"toolResponse":{"functionResponses":[{"id":"a","name":"b","response":{},"scheduling":"INTERRUPTED"}]}}`).join()).toContain("INTERRUPTED");
  });

  // The relay builds no other client message (no audioStreamEnd, activityStart/End, clientContent, mediaChunks).
  // One that starts to would get no wire check, so its name appearing anywhere in src/ fails here until a case
  // for it is added above (and the name is let through below).
  test("the relay's code sends no client message kind this file does not check", () => {
    const unchecked = /\b(audioStreamEnd|audio_stream_end|activityStart|activityEnd|clientContent|client_content|mediaChunks|media_chunks)\b/;
    const src = join(import.meta.dir, "..", "..", "src");
    // The offline stand-in is a server: it reads these fields, it does not send them.
    const offline = join(src, "gemini", "offline");
    const found: string[] = [];
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) {
          if (p !== offline) walk(p);
        } else if (/\.tsx?$/.test(p) && unchecked.test(readFileSync(p, "utf8"))) found.push(p);
      }
    };
    walk(src);
    expect(found).toEqual([]);
  });
});

describe("both forms of a tool declaration", () => {
  test("openapi: parameters made by toOpenApiSchema from a schema with additionalProperties: false pass", () => {
    expect(JSON.stringify(BOOKING_SCHEMA)).toContain('"additionalProperties":false');
    const m = setupObject();
    expect(JSON.stringify(m.setup.tools[0].functionDeclarations[1].parameters)).not.toContain("additionalProperties");
    expect(wire.check(JSON.stringify(m))).toEqual([]);
  });

  test("json: parametersJsonSchema takes the schema as it is ($defs, $ref, oneOf, const, additionalProperties)", () => {
    const schema = {
      $schema: "https://json-schema.org/draft/2020-12/schema",
      type: "object",
      properties: {
        when: { oneOf: [{ type: "string", format: "date" }, { const: "asap" }] },
        address: { $ref: "#/$defs/Address" },
      },
      required: ["when"],
      additionalProperties: false,
      $defs: { Address: { type: "object", properties: { zip: { type: "string", pattern: "^[0-9]{5}$" } }, additionalProperties: false } },
    };
    const frame = frameFor(MODELS["3.8"], { tools: [{ name: "deliver", description: "Deliver.", parametersJsonSchema: toJsonSchemaParameters(schema, "deliver") }] });
    expect(wire.check(frame)).toEqual([]);
    expect(JSON.parse(frame).setup.tools[0].functionDeclarations[0].parametersJsonSchema).toEqual(schema);
  });
});
