// What each agent sends Gemini, per model generation: declarations in both schema forms, `behavior` only where the
// generation has that mode, the scheduling of non-blocking results, the v1alpha endpoint for 2.5 with affective
// dialog or proactive audio, and a log line at load naming what is left out or ignored (paths, never values).
import { describe, expect, test } from "bun:test";
import type { Agent, CallTool } from "../../src/call/agent.ts";
import { agentPlan, geminiAgentCheck, planAgent } from "../../src/gemini/agent-plan.ts";
import type { Scheduling } from "../../src/gemini/protocol.ts";
import type { CallMode } from "../../src/gemini/setup.ts";
import { ToolSchemaError } from "../../src/tools/schema-error.ts";
import { captureLog } from "../support/log.ts";

const SCHEMA = {
  type: "object",
  properties: { order: { type: "string", const: "A-1042-secret-looking-value" }, qty: { type: "integer", exclusiveMinimum: 0 } },
  required: ["order"],
  additionalProperties: false,
};

function tool(name: string, extra: Partial<CallTool["declaration"]> = {}): CallTool {
  return { declaration: { name, description: "d", parameters: SCHEMA, origin: `agents[0].tools[${name}]`, ...extra }, timeoutMs: 1000, run: async () => null };
}

function agent(model: string, tools: CallTool[]): Agent {
  return { name: "a", model, voice: "Kore", prompt: "p", greeting: "", tools, maxCallSeconds: 0, idleSeconds: 0 };
}

const TOOLS = [tool("wait", { behavior: "blocking" }), tool("bg", { behavior: "non_blocking", scheduling: "silent" }), tool("bg2", { behavior: "non_blocking", scheduling: "when_idle" }), tool("plain")];

describe("plan per model generation", () => {
  const cases: Array<[string, Array<CallMode | undefined>, Record<string, Scheduling>, number]> = [
    // model, behavior per tool, scheduling map, ignored notes
    ["gemini-3.8-live", ["BLOCKING", "NON_BLOCKING", "NON_BLOCKING", undefined], { bg: "SILENT", bg2: "WHEN_IDLE" }, 0],
    ["gemini-3.8-live-extended-thinking", [undefined, "NON_BLOCKING", "NON_BLOCKING", undefined], { bg: "SILENT", bg2: "WHEN_IDLE" }, 1],
    ["gemini-3.1-flash-live-preview", ["BLOCKING", undefined, undefined, undefined], {}, 2],
    ["gemini-2.5-flash-native-audio-preview-12-2025", ["BLOCKING", "NON_BLOCKING", "NON_BLOCKING", undefined], { bg: "SILENT", bg2: "WHEN_IDLE" }, 0],
  ];
  test.each(cases)("%s", (model, behaviors, scheduling, ignored) => {
    const p = planAgent(agent(model, TOOLS), { toolSchema: "openapi", tuning: {} });
    expect(p.declarations.map((d) => d.behavior)).toEqual(behaviors);
    expect(Object.fromEntries(p.scheduling)).toEqual(scheduling);
    expect(p.ignored).toHaveLength(ignored);
    expect(p.alpha).toBe(false);
  });

  test("openapi: the Schema subset, with what only narrows left out and listed by path", () => {
    const p = planAgent(agent("gemini-3.8-live", [tool("plain")]), { toolSchema: "openapi", tuning: {} });
    expect(p.declarations[0]).toEqual({
      name: "plain",
      description: "d",
      parameters: { type: "OBJECT", properties: { order: { type: "STRING", enum: ["A-1042-secret-looking-value"] }, qty: { type: "INTEGER" } }, required: ["order"] },
    });
    expect(p.leftOut.map((l) => l.path)).toEqual(["agents[0].tools[plain].parameters.properties.qty.exclusiveMinimum", "agents[0].tools[plain].parameters.additionalProperties"]);
  });

  test("json: parametersJsonSchema as the file has it, nothing left out", () => {
    const p = planAgent(agent("gemini-3.8-live", [tool("plain")]), { toolSchema: "json", tuning: {} });
    expect(p.declarations[0]).toEqual({ name: "plain", description: "d", parametersJsonSchema: SCHEMA });
    expect(p.leftOut).toEqual([]);
  });

  test("a schema the openapi form cannot carry throws, naming the tool's place in the file", () => {
    const bad = tool("tuple", { parameters: { type: "object", properties: { at: { type: "array", prefixItems: [{ type: "number" }] } } } });
    expect(() => planAgent(agent("gemini-3.8-live", [bad]), { toolSchema: "openapi", tuning: {} })).toThrow(ToolSchemaError);
    expect(() => planAgent(agent("gemini-3.8-live", [bad]), { toolSchema: "openapi", tuning: {} })).toThrow(/^agents\[0\]\.tools\[tuple\]\.parameters\.properties\.at\.prefixItems: /);
  });

  test("affective dialog / proactive audio: 2.5 goes to v1alpha; other generations get neither and the plan says so", () => {
    const tuning = { affectiveDialog: true, proactiveAudio: false };
    expect(planAgent(agent("gemini-2.5-flash-native-audio-preview-12-2025", []), { toolSchema: "openapi", tuning }).alpha).toBe(true);
    const other = planAgent(agent("gemini-3.8-live", []), { toolSchema: "openapi", tuning });
    expect(other.alpha).toBe(false);
    expect(other.ignored).toEqual([
      "GEMINI_AFFECTIVE_DIALOG (2.5 native audio only; 3.8 does not take it)",
      "GEMINI_PROACTIVE_AUDIO (2.5 native audio only; 3.8 does not take it)",
    ]);
  });

  test("cached per agent while the settings stay the same", () => {
    const a = agent("gemini-3.8-live", [tool("plain")]);
    const s = { toolSchema: "openapi" as const, tuning: {} };
    expect(agentPlan(a, s)).toBe(agentPlan(a, s));
    expect(agentPlan(a, { ...s, toolSchema: "json" }).declarations[0]!.parametersJsonSchema).toEqual(SCHEMA);
  });
});

describe("the load-time check logs", () => {
  test("left-out paths at info and ignored settings once per agent; never a schema value", () => {
    const { log, lines } = captureLog("info");
    const check = geminiAgentCheck({ toolSchema: "openapi", tuning: { affectiveDialog: true } }, log);
    check(agent("gemini-3.1-flash-live-preview", [tool("bg", { behavior: "non_blocking" })]));
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const left = parsed.find((l) => String(l.msg).startsWith("tool schema:"))!;
    expect(left.level).toBe(30);
    expect(left.leftOut).toEqual(["agents[0].tools[bg].parameters.properties.qty.exclusiveMinimum", "agents[0].tools[bg].parameters.additionalProperties"]);
    const ignored = parsed.find((l) => Array.isArray(l.ignored))!;
    expect(ignored.ignored).toEqual(["tool bg: behavior non_blocking (3.1 calls functions blocking only)", "GEMINI_AFFECTIVE_DIALOG (2.5 native audio only; 3.1 does not take it)"]);
    expect(lines.join("\n")).not.toContain("secret-looking");
  });
});
