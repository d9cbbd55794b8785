// The generateContent request an analysis sends, read by the stand-in as Google's REST API reads it (strict proto3
// JSON of GenerateContentRequest from Google's protos, roles, parts, the schema fields), for schemas people really
// write: JSON Schema keywords responseJsonSchema does not list are left out of what Google is shown (the answer is
// still checked against all of them), and the openapi form is Google's Schema message. What the model is told:
// who said what, cut-off turns and how much was heard, tool calls and results, how it ended, the variables.
import { afterAll, describe, expect, test } from "bun:test";
import { answerSchema, readAnswer, toResponseJsonSchema } from "../../src/analysis/answer.ts";
import { analysisRequest, describeCall } from "../../src/analysis/request.ts";
import type { AnalysisSpec } from "../../src/call/agent.ts";
import { generateContent, generateUrl } from "../../src/gemini/generate.ts";
import type { CallRecord } from "../../src/records/record.ts";
import { GenerateStandin } from "../support/generate-standin.ts";
import { GENERATE_CONTENT_REQUEST, WireChecker } from "../support/wire-protos.ts";
import { SPEC } from "./helpers.ts";

const standin = new GenerateStandin("k");
const base = standin.start();
afterAll(() => standin.stop());
const wire = new WireChecker(undefined, GENERATE_CONTENT_REQUEST);

const RECORD: CallRecord = {
  id: "HD_r",
  agent: "clinic",
  caller: "+254700000001",
  callee: "+254700000002",
  source: "phone",
  startedAt: "2026-12-01T10:00:00.000Z",
  answeredAt: "2026-12-01T10:00:00.500Z",
  endedAt: "2026-12-01T10:01:05.000Z",
  durationMs: 64500,
  endReason: "agent_end_call",
  agentTurns: 3,
  bargeIns: 1,
  rejectedTurns: 0,
  recording: null,
  direction: "inbound",
  attemptId: null,
  variables: null,
  endDetail: "the agent called end_call",
  firstAudioMs: null,
  usage: null,
  audio: null,
  reconnects: 0,
  rotations: 0,
  model: null,
  metadata: null,
  transcript: [
    { role: "agent", text: "Hello Amina, I am calling about tomorrow.", startMs: 200, endMs: 2500, interrupted: false, heardMs: 2400 },
    { role: "agent", text: "Your appointment is at ten, and we ask", startMs: 2600, endMs: 4000, interrupted: true, heardMs: 1100 },
    { role: "caller", text: "Can we make it eleven instead?", startMs: 3800, endMs: 5200, interrupted: false, heardMs: null },
  ],
  toolCalls: [{ id: "f1", name: "move_slot", args: { to: "11:00" }, atMs: 65000, outcome: "ok", durationMs: 30, result: { status: "ok", moved: true } }],
  analysis: null,
  handoffs: [
    { id: "msg_1", at: "2026-12-01T10:00:50.000Z", atMs: 50000, reason: "wants a nurse", summary: "s", notify: { status: "delivered", attempts: 1, error: null }, live: null },
  ],
};

/** How people write schemas for other providers: keywords Google's JSON Schema support does not list. */
const RICH: AnalysisSpec = {
  summary: true,
  success: "Did the caller keep or move the appointment?",
  data: {
    $defs: { slot: { type: "string", pattern: "^\\d{2}:\\d{2}$", description: "HH:MM" } },
    type: "object",
    properties: {
      outcome: { const: "moved" },
      new_time: { $ref: "#/$defs/slot", description: "The new time" },
      notes: { type: ["string", "null"], minLength: 1, maxLength: 200 },
      channel: { enum: ["phone", "sms", null] },
      count: { type: "integer", exclusiveMinimum: 0 },
      tags: { type: "array", items: { type: "string" }, uniqueItems: true },
    },
    required: ["outcome"],
    additionalProperties: false,
  },
  model: undefined,
};

async function send(spec: AnalysisSpec, form: "json" | "openapi"): Promise<Record<string, unknown>> {
  const request = analysisRequest(RECORD, spec, form);
  expect(wire.check(JSON.stringify(request))).toEqual([]);
  standin.answers.push({ json: { ok: true } });
  const out = await generateContent({ baseUrl: base, apiKey: "k", model: "gemini-flash-latest", request, signal: AbortSignal.timeout(5000), timedOut: () => false });
  const last = standin.received[standin.received.length - 1]!;
  expect(last.problems).toEqual([]);
  expect(out.kind).toBe("text");
  return last.body!.generationConfig as Record<string, unknown>;
}

describe("Google takes the request", () => {
  test("json form: responseJsonSchema holds only the keywords its proto lists; a const becomes a one-value enum, $ref stands alone", async () => {
    const g = await send(RICH, "json");
    const data = (g.responseJsonSchema as { properties: { data: Record<string, unknown> }; $defs: unknown }).properties.data;
    expect(data).toEqual({
      type: "object",
      properties: {
        outcome: { enum: ["moved"] },
        new_time: { $ref: "#/$defs/slot" },
        notes: { type: ["string", "null"] },
        channel: { enum: ["phone", "sms"] },
        count: { type: "integer" },
        tags: { type: "array", items: { type: "string" } },
      },
      required: ["outcome"],
      additionalProperties: false,
    });
    // data's definitions move to the root, where its "#/$defs/…" now points.
    expect((g.responseJsonSchema as { $defs: unknown }).$defs).toEqual({ slot: { type: "string", description: "HH:MM" } });
  });

  test("openapi form: responseSchema is Google's Schema message (upper-case types, nullable, $ref written out)", async () => {
    const g = await send(RICH, "openapi");
    const data = (g.responseSchema as { properties: { data: { properties: Record<string, unknown> } } }).properties.data;
    expect(data.properties.new_time).toMatchObject({ type: "STRING", pattern: "^\\d{2}:\\d{2}$", description: "The new time" });
    expect(data.properties.notes).toMatchObject({ type: "STRING", nullable: true });
  });

  test("the stand-in refuses what Google would: a wrong key, the key in the URL, both schema fields, a bad role, an unknown field", async () => {
    const ok = analysisRequest(RECORD, SPEC, "json");
    const post = (body: unknown, headers: Record<string, string> = { "x-goog-api-key": "k" }, url = generateUrl(base, "m")) =>
      fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
    expect((await post(ok, { "x-goog-api-key": "wrong" })).status).toBe(400);
    expect((await post(ok, {})).status).toBe(403);
    expect((await post(ok, { "x-goog-api-key": "k" }, `${generateUrl(base, "m")}?key=k`)).status).toBe(400);
    expect((await post({ ...ok, generationConfig: { ...ok.generationConfig, responseSchema: { type: "OBJECT" } } })).status).toBe(400);
    expect((await post({ ...ok, contents: [{ role: "system", parts: [{ text: "x" }] }] })).status).toBe(400);
    expect((await post({ ...ok, generationConfig: { ...ok.generationConfig, responseJsonSchema: { type: "object", pattern: "x" } } })).status).toBe(400);
    expect((await post({ ...ok, temperature: 0 })).status).toBe(400);
    const res = await post({ ...ok, contents: [] });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { status: string } }).error.status).toBe("INVALID_ARGUMENT");
  });
});

describe("what the model reads", () => {
  test("the timeline in order: lines, the cut-off turn and how much was heard, tool calls with results, handoffs; how it ended", () => {
    const text = describeCall(RECORD);
    const at = (s: string) => text.indexOf(s);
    expect(at("[0:00.2] agent: Hello Amina")).toBeGreaterThan(0);
    expect(text).toContain("[0:02.6] agent (cut off by the caller; the caller heard about 1.1 s of it; the text is what was generated before the cut): Your appointment is at ten, and we ask");
    expect(at("[0:03.8] caller: Can we make it eleven instead?")).toBeGreaterThan(at("[0:02.6]"));
    expect(at("[0:50.0] handed to a person (reason: wants a nurse; notification delivered)")).toBeGreaterThan(at("[0:03.8]"));
    expect(at('[1:05.0] tool call move_slot({"to":"11:00"}) → ok {"status":"ok","moved":true}')).toBeGreaterThan(at("[0:50.0]"));
    expect(text).toContain("how it ended: the agent ended the call (agent_end_call: the agent called end_call)");
    expect(text).toContain("length: 65 s");
    expect(text).not.toContain("+2547");
  });

  test("the call's variables and direction; never a phone number among the variables", () => {
    const rec: CallRecord = {
      ...RECORD,
      variables: { name: "Amina", slot: "10:00", caller: "+254700000001", callee: "+254700000002", backup: "+254 711 000 999" },
      direction: "outbound",
    };
    const text = describeCall(rec);
    expect(text).toContain('- variables: {"name":"Amina","slot":"10:00"}');
    expect(text).toContain("- direction: outbound");
    expect(text).not.toContain("2547");
    expect(describeCall(RECORD)).toContain("- variables: none");
    expect(describeCall(RECORD)).toContain("- direction: inbound");
  });
});

describe("the answer", () => {
  test("checked against the full schema, not the form Google saw; fields not asked for are null", () => {
    const at = new Date("2026-12-01T10:02:00.000Z");
    expect(readAnswer(JSON.stringify({ summary: "s", success: true, successReason: "r", data: { outcome: "moved", new_time: "11:00", count: 2 } }), RICH, "m", at)).toEqual({
      ok: true,
      result: { summary: "s", success: true, successReason: "r", data: { outcome: "moved", new_time: "11:00", count: 2 }, model: "m", analyzedAt: at.toISOString() },
    });
    const bad = readAnswer(JSON.stringify({ summary: "s", success: null, successReason: "r", data: { outcome: "moved", new_time: "eleven", count: 0, extra: 1 } }), RICH, "m", at);
    expect(bad).toEqual({
      ok: false,
      why: 'the answer does not fit the schema: data.extra: is not in the schema; data.new_time: must match pattern "^\\d{2}:\\d{2}$"; data.count: must be > 0',
    });
    expect(readAnswer("[1]", SPEC, "m", at)).toEqual({ ok: false, why: "the answer is not a JSON object" });
    expect(readAnswer(" ", SPEC, "m", at)).toEqual({ ok: false, why: "the answer was empty" });
    const summaryOnly: AnalysisSpec = { summary: true, success: undefined, data: undefined, model: undefined };
    expect(readAnswer('{"summary":"s","data":{"x":1}}', summaryOnly, "m", at)).toMatchObject({ ok: true, result: { summary: "s", success: null, successReason: null, data: null } });
  });

  test("the schema asks only for what the agent's analysis asks for", () => {
    expect(answerSchema({ summary: false, success: "q?", data: undefined, model: undefined })).toMatchObject({ required: ["success", "successReason"] });
    expect(Object.keys((answerSchema({ summary: true, success: undefined, data: undefined, model: undefined }) as { properties: object }).properties)).toEqual(["summary"]);
    expect(toResponseJsonSchema({ type: "object", properties: { a: { $ref: "#/$defs/x", title: "t" } } })).toEqual({ type: "object", properties: { a: { $ref: "#/$defs/x" } } });
  });
});
