// The answer an analysis asks the model for: a JSON object of `summary`, `success` and `successReason`, and `data`
// (the agent's own JSON Schema), as far as the agent's `analysis` asks for them. Its schema goes to Google in one of
// two forms (ANALYSIS_SCHEMA, docs/gemini-rest.md#structured-output), and the answer is checked against the full
// schema with ajv (src/tools/args-check.ts) whatever Google was shown.
import type { AnalysisSpec } from "../call/agent.ts";
import { toOpenApiSchema } from "../gemini/tool-schema.ts";
import type { AnalysisResult } from "../records/record.ts";
import { ArgsCheck } from "../tools/args-check.ts";
import { ToolSchemaError } from "../tools/schema-error.ts";

export type SchemaForm = "json" | "openapi";

/** The JSON Schema of the whole answer. */
export function answerSchema(spec: AnalysisSpec): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  const required: string[] = [];
  if (spec.summary) {
    properties.summary = { type: "string", description: "Two or three sentences: what the call was about and how it ended." };
    required.push("summary");
  }
  if (spec.success !== undefined) {
    properties.success = {
      type: ["boolean", "null"],
      description: `The answer to this question about the call: ${spec.success} true for yes, false for no, null when the call does not show it.`,
    };
    properties.successReason = { type: "string", description: "One sentence: why success has that value." };
    required.push("success", "successReason");
  }
  const root: Record<string, unknown> = { type: "object", properties, required };
  if (spec.data !== undefined) {
    // `data`'s own definitions move to the root, where its "#/$defs/…" references now point.
    const { $defs, definitions, ...data } = spec.data;
    if ($defs !== undefined) root.$defs = $defs;
    if (definitions !== undefined) root.definitions = definitions;
    properties.data = data;
    required.push("data");
  }
  return root;
}

/** What `responseJsonSchema` supports, per its field's comment in generative_service.proto. */
const JSON_FORM_KEYWORDS = new Set([
  "$id", "$defs", "$ref", "$anchor", "type", "format", "title", "description", "enum", "items", "prefixItems",
  "minItems", "maxItems", "minimum", "maximum", "anyOf", "oneOf", "properties", "additionalProperties", "required",
  "propertyOrdering",
]);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The JSON Schema as `responseJsonSchema` takes it: only the keywords its proto lists (a `const` becomes the
 * same one-value `enum`; `enum` keeps its strings and numbers), and beside a `$ref` only `$` keywords. What is left
 * out only narrows what is valid, and the answer is still checked against the full schema.
 */
export function toResponseJsonSchema(schema: unknown): unknown {
  if (!isObject(schema)) return schema;
  const out: Record<string, unknown> = {};
  const hasRef = "$ref" in schema;
  for (const [k, v] of Object.entries(schema)) {
    const key = k === "const" ? "enum" : k;
    if (!JSON_FORM_KEYWORDS.has(key) || (hasRef && !key.startsWith("$"))) continue;
    if (k === "const") {
      if ((typeof v === "string" || typeof v === "number") && !("enum" in schema)) out.enum = [v];
      continue;
    }
    switch (k) {
      case "enum": {
        const vals = Array.isArray(v) ? v.filter((x) => typeof x === "string" || typeof x === "number") : [];
        if (vals.length > 0) out.enum = vals;
        break;
      }
      case "properties":
      case "$defs":
        if (isObject(v)) out[k] = Object.fromEntries(Object.entries(v).map(([n, sub]) => [n, toResponseJsonSchema(sub)]));
        break;
      case "items":
      case "additionalProperties":
        out[k] = toResponseJsonSchema(v);
        break;
      case "prefixItems":
      case "anyOf":
      case "oneOf":
        if (Array.isArray(v)) out[k] = v.map(toResponseJsonSchema);
        break;
      default:
        out[k] = v;
    }
  }
  return out;
}

/** The generationConfig schema field for `form`. Throws ToolSchemaError (path `at`) when the openapi form cannot state it. */
export function schemaField(spec: AnalysisSpec, form: SchemaForm, at = "analysis"): { responseJsonSchema: Record<string, unknown> } | { responseSchema: Record<string, unknown> } {
  const schema = answerSchema(spec);
  if (form === "json") return { responseJsonSchema: toResponseJsonSchema(schema) as Record<string, unknown> };
  return { responseSchema: toOpenApiSchema(schema, at).schema as unknown as Record<string, unknown> };
}

/**
 * Checks an agent's `analysis` when the agents file loads: `data` must compile as a JSON Schema and, for the openapi
 * form, be one Google's subset can state. Throws ToolSchemaError naming the place (`agents[0].analysis.data…`).
 */
export function checkAnalysisSpec(spec: AnalysisSpec, path: string, form: SchemaForm): void {
  if (spec.data !== undefined) {
    ArgsCheck.compile(spec.data, `${path}.data`);
    if (form === "openapi") toOpenApiSchema(spec.data, `${path}.data`);
  }
}

const checks = new Map<string, ArgsCheck>();
const MAX_CHECKS = 256;

function checkFor(spec: AnalysisSpec): ArgsCheck {
  const schema = answerSchema(spec);
  const key = JSON.stringify(schema);
  let c = checks.get(key);
  if (c === undefined) {
    // Specs come from agents files (few, reloaded now and then): a small cache, emptied when full.
    if (checks.size >= MAX_CHECKS) checks.clear();
    c = ArgsCheck.compile(schema, "analysis");
    checks.set(key, c);
  }
  return c;
}

export type AnswerVerdict = { ok: true; result: AnalysisResult } | { ok: false; why: string };

/** Reads the model's text as the answer: JSON, an object, valid against the schema. */
export function readAnswer(text: string, spec: AnalysisSpec, model: string, at: Date): AnswerVerdict {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { ok: false, why: text.trim() === "" ? "the answer was empty" : "the answer is not JSON" };
  }
  if (!isObject(v)) return { ok: false, why: "the answer is not a JSON object" };
  let verdict;
  try {
    verdict = checkFor(spec).check(v);
  } catch (e) {
    if (e instanceof ToolSchemaError) return { ok: false, why: e.message };
    throw e;
  }
  if (!verdict.ok) {
    // Paths and schema words only, never the values (they are the call's content).
    // The checker speaks of tool arguments; here it is an answer.
    const problems = verdict.problems
      .slice(0, 5)
      .map((p) => `${p.path.replace(/^arguments\.?/, "") || "answer"}: ${p.message === "is not an argument of this tool" ? "is not in the schema" : p.message}`);
    return { ok: false, why: `the answer does not fit the schema: ${problems.join("; ")}` };
  }
  return {
    ok: true,
    result: {
      summary: spec.summary ? (v.summary as string) : null,
      success: spec.success !== undefined ? (v.success as boolean | null) : null,
      successReason: spec.success !== undefined ? (v.successReason as string) : null,
      data: spec.data !== undefined ? (v.data as Record<string, unknown>) : null,
      model,
      analyzedAt: at.toISOString(),
    },
  };
}
