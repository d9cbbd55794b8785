// A tool's parameter schema in the two forms Gemini's FunctionDeclaration takes (docs/gemini-live.md#tool-schemas):
//   "openapi" → `parameters`, Google's own `Schema` message: an OpenAPI 3.0 subset that the service reads as strict
//               proto3 JSON, so a keyword it lacks (`additionalProperties`, `$ref`, `const`, ...) closes a Live socket
//               with 1007 before setupComplete;
//   "json"    → `parametersJsonSchema`, a google.protobuf.Value: the JSON Schema (draft 2020-12) as the file has it.
// The model's arguments are checked against the full schema in both forms (src/tools/args-check.ts), so the
// openapi form may leave out a keyword that only narrows what is valid: the model sees a slightly wider
// description, and a call outside it gets an error it can read and correct. What the subset cannot state without
// misleading the model about the shape to send is refused, naming the place.
//
// Keyword decisions for the openapi form:
//
// | JSON Schema keyword                          | openapi form                                                     |
// |----------------------------------------------|------------------------------------------------------------------|
// | type (one name)                              | kept, upper case (STRING, NUMBER, INTEGER, BOOLEAN, ARRAY, OBJECT, NULL) |
// | type ["X","null"]                            | type X + nullable: true                                          |
// | type ["X","Y",...]                           | anyOf of one branch per type, each with the keywords of its type |
// | no type                                      | inferred when only one type's keywords (or string enum) appear; else refused |
// | title, description, default                  | kept                                                             |
// | example, nullable, propertyOrdering (OpenAPI/Gemini) | kept                                                     |
// | enum of strings (null allowed)               | kept (+ nullable for null)                                       |
// | enum with non-strings                        | left out (Gemini's enum holds strings only)                      |
// | const "string"                               | enum: ["string"] (the same statement)                            |
// | const other                                  | left out                                                         |
// | format date-time, enum / int32, int64 / float, double | kept (the formats Gemini documents per type)            |
// | format other                                 | left out                                                         |
// | minLength, maxLength, pattern                | kept                                                             |
// | minimum, maximum                             | kept                                                             |
// | exclusiveMinimum, exclusiveMaximum, multipleOf | left out                                                       |
// | items (a schema)                             | kept                                                             |
// | items missing / true / false                 | refused (the subset needs one element schema)                    |
// | prefixItems (tuple)                          | refused                                                          |
// | minItems, maxItems                           | kept                                                             |
// | uniqueItems, contains, minContains, maxContains | left out                                                      |
// | unevaluatedItems / unevaluatedProperties: boolean | left out; with a schema: refused                            |
// | properties                                   | kept; a property given as `false` (forbidden) is left out; `true` refused |
// | required                                     | kept; a name properties does not define is refused               |
// | minProperties, maxProperties                 | kept                                                             |
// | additionalProperties: boolean (or {})        | left out                                                         |
// | additionalProperties: a schema (a map)       | refused                                                          |
// | patternProperties, dependentSchemas          | refused                                                          |
// | propertyNames, dependentRequired             | left out                                                         |
// | anyOf                                        | kept; {type:"null"} branches become nullable, one branch left is merged |
// | oneOf                                        | read as anyOf; "exactly one" is left out (Google reads oneOf so in its own JSON Schema field) |
// | anyOf/oneOf beside type or type keywords     | refused (the subset takes a type or anyOf at one level)          |
// | allOf of one schema                          | merged into its place                                            |
// | allOf of several                             | refused                                                          |
// | $ref "#/..." (not recursive)                 | written out in place; sibling annotations override               |
// | $ref recursive, remote, to an anchor         | refused                                                          |
// | $ref / allOf beside non-annotation keywords  | refused (both apply at once)                                     |
// | $defs, definitions                           | used for $ref, not sent                                          |
// | not                                          | left out                                                         |
// | if / then / else, $dynamicRef                | refused                                                          |
// | $schema, $id, $anchor, $dynamicAnchor, $vocabulary, $comment, examples, deprecated, readOnly, writeOnly, contentEncoding, contentMediaType, contentSchema | left out |
// | keywords of a type the schema does not have   | left out (they have no effect in JSON Schema either)             |
// | any other keyword                            | refused as unknown (usually a typo)                              |
import type { ToolSchemaForm } from "../config.ts";
import { schemaPath, ToolSchemaError } from "../tools/schema-error.ts";

export type { ToolSchemaForm };

export type OpenApiType = "STRING" | "NUMBER" | "INTEGER" | "BOOLEAN" | "ARRAY" | "OBJECT" | "NULL";

/** Google's `Schema` message (googleapis google/ai/generativelanguage/v1beta/content.proto), in its JSON names. */
export interface OpenApiSchema {
  type?: OpenApiType;
  format?: string;
  title?: string;
  description?: string;
  nullable?: boolean;
  enum?: string[];
  items?: OpenApiSchema;
  maxItems?: number;
  minItems?: number;
  properties?: Record<string, OpenApiSchema>;
  required?: string[];
  minProperties?: number;
  maxProperties?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  example?: unknown;
  anyOf?: OpenApiSchema[];
  propertyOrdering?: string[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
}

/** A keyword the openapi form does not carry; the argument check still applies it. */
export interface LeftOut {
  path: string;
  keyword: string;
  reason: string;
}

export interface OpenApiParameters {
  schema: OpenApiSchema;
  leftOut: LeftOut[];
}

/** One tool's parameters in the chosen form: `fields` spreads into a FunctionDeclaration. */
export interface DeclarationParameters {
  fields: { parameters: OpenApiSchema } | { parametersJsonSchema: Record<string, unknown> };
  /** What the openapi form does not carry (always empty for json); worth a log line at load. */
  leftOut: LeftOut[];
}

/** Either form for GEMINI_TOOL_SCHEMA=json|openapi. Throws ToolSchemaError naming the place. */
export function declarationParameters(form: ToolSchemaForm, schema: unknown, path: string): DeclarationParameters {
  if (form === "json") return { fields: { parametersJsonSchema: toJsonSchemaParameters(schema, path) }, leftOut: [] };
  const { schema: parameters, leftOut } = toOpenApiSchema(schema, path);
  return { fields: { parameters }, leftOut };
}

/**
 * The `parametersJsonSchema` form: the schema as it is. Google documents no keyword as refused there (its proto
 * only says the schema must describe an object); the model's arguments are checked against it anyway.
 */
export function toJsonSchemaParameters(schema: unknown, path: string): Record<string, unknown> {
  if (!isObject(schema)) throw new ToolSchemaError(path, "expected a JSON Schema object");
  if (schema.type !== "object") {
    throw new ToolSchemaError(schemaPath(path, ["type"]), 'expected "object" (the arguments are an object of named values)');
  }
  return schema;
}

/** The `parameters` form. Throws ToolSchemaError naming the first place the subset cannot state. */
export function toOpenApiSchema(schema: unknown, path: string): OpenApiParameters {
  if (!isObject(schema)) throw new ToolSchemaError(path, "expected a JSON Schema object");
  // The root counts as being written out, so `$ref: "#"` anywhere is recursion.
  const ctx: Ctx = { root: schema, base: path, leftOut: [], seen: new Set(), refs: ["#"] };
  const out = translate(schema, [], ctx);
  if (out.type !== "OBJECT") {
    throw new ToolSchemaError(schemaPath(path, ["type"]), 'expected "object" (the arguments are an object of named values)');
  }
  return { schema: out, leftOut: ctx.leftOut };
}

// ---------- translation ----------

type Obj = Record<string, unknown>;
type Key = string | number;

interface Ctx {
  root: Obj;
  base: string;
  leftOut: LeftOut[];
  /** path + keyword already reported (a $ref'd schema is translated once per use). */
  seen: Set<string>;
  /** $refs being written out, to refuse recursion. */
  refs: string[];
}

const TYPE_NAMES: Record<string, OpenApiType> = {
  string: "STRING",
  number: "NUMBER",
  integer: "INTEGER",
  boolean: "BOOLEAN",
  array: "ARRAY",
  object: "OBJECT",
  null: "NULL",
};

/** Formats Gemini's Schema documents per type; others are hints it may refuse. */
const FORMATS: Partial<Record<OpenApiType, ReadonlySet<string>>> = {
  STRING: new Set(["date-time", "enum"]),
  INTEGER: new Set(["int32", "int64"]),
  NUMBER: new Set(["float", "double"]),
};

// Keywords that only apply to values of one JSON type, by that type.
const STRING_KEYWORDS = ["minLength", "maxLength", "pattern"];
const NUMBER_KEYWORDS = ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"];
const ARRAY_KEYWORDS = ["items", "prefixItems", "minItems", "maxItems", "uniqueItems", "contains", "minContains", "maxContains", "unevaluatedItems"];
const OBJECT_KEYWORDS = [
  "properties",
  "required",
  "minProperties",
  "maxProperties",
  "propertyOrdering",
  "additionalProperties",
  "patternProperties",
  "propertyNames",
  "unevaluatedProperties",
  "dependentRequired",
  "dependentSchemas",
];
const KEYWORDS_OF: Record<string, readonly string[]> = {
  string: STRING_KEYWORDS,
  number: NUMBER_KEYWORDS,
  integer: NUMBER_KEYWORDS,
  array: ARRAY_KEYWORDS,
  object: OBJECT_KEYWORDS,
};
const TYPED_KEYWORDS = new Set([...STRING_KEYWORDS, ...NUMBER_KEYWORDS, ...ARRAY_KEYWORDS, ...OBJECT_KEYWORDS]);
/** Keywords any type can carry that constrain the value (so they cannot stand beside anyOf). */
const VALUE_KEYWORDS = ["type", "enum", "const", "format"];

/** Kept wherever they appear. */
const KEPT_ANNOTATIONS = ["title", "description", "default", "example"];
/** Annotations the subset lacks; they do not change what is valid. */
const DROPPED_ANNOTATIONS = [
  "$schema",
  "$id",
  "$anchor",
  "$dynamicAnchor",
  "$vocabulary",
  "$comment",
  "examples",
  "deprecated",
  "readOnly",
  "writeOnly",
  "contentEncoding",
  "contentMediaType",
  "contentSchema",
];
const DEFINITIONS = ["$defs", "definitions"];
const OTHER_KEYWORDS = ["nullable", "$ref", "allOf", "anyOf", "oneOf", "not", "if", "then", "else", "$dynamicRef"];

const KNOWN = new Set([...VALUE_KEYWORDS, ...TYPED_KEYWORDS, ...KEPT_ANNOTATIONS, ...DROPPED_ANNOTATIONS, ...DEFINITIONS, ...OTHER_KEYWORDS]);
/** May stand beside $ref or a one-schema allOf: they describe, they do not constrain. */
const BESIDE_REF = new Set([...KEPT_ANNOTATIONS, ...DROPPED_ANNOTATIONS, ...DEFINITIONS, "nullable"]);

function isObject(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function refuse(ctx: Ctx, keys: readonly Key[], reason: string): never {
  throw new ToolSchemaError(schemaPath(ctx.base, keys), reason);
}

function leave(ctx: Ctx, keys: readonly Key[], keyword: string, reason: string): void {
  const path = schemaPath(ctx.base, [...keys, keyword]);
  if (ctx.seen.has(path)) return;
  ctx.seen.add(path);
  ctx.leftOut.push({ path, keyword, reason });
}

const NARROWS = "only narrows what is valid; the argument check applies it";

function translate(s: unknown, keys: readonly Key[], ctx: Ctx): OpenApiSchema {
  if (s === true) refuse(ctx, keys, "`true` (any value) has no type the subset can state");
  if (s === false) refuse(ctx, keys, "`false` (no value at all) cannot be stated in the subset");
  if (!isObject(s)) refuse(ctx, keys, "expected a schema (an object)");
  for (const k of Object.keys(s)) {
    if (!KNOWN.has(k)) refuse(ctx, [...keys, k], "unknown keyword (neither JSON Schema 2020-12 nor Gemini's Schema has it; check its spelling)");
  }
  for (const k of ["if", "then", "else"]) {
    if (k in s) refuse(ctx, [...keys, k], "a conditional schema (if/then/else) cannot be stated in the subset");
  }
  if ("$dynamicRef" in s) refuse(ctx, [...keys, "$dynamicRef"], "$dynamicRef cannot be stated in the subset");

  if ("nullable" in s && typeof s.nullable !== "boolean") refuse(ctx, [...keys, "nullable"], "expected true or false");

  const inner = composedTarget(s, keys, ctx);
  if (inner !== undefined) return inner;

  for (const k of DROPPED_ANNOTATIONS) if (k in s) leave(ctx, keys, k, "an annotation the subset lacks");
  if ("not" in s) leave(ctx, keys, "not", NARROWS);
  const notes = keptAnnotations(s, keys, ctx);
  let nullable = s.nullable === true;

  if ("anyOf" in s || "oneOf" in s) {
    if ("anyOf" in s && "oneOf" in s) refuse(ctx, [...keys, "oneOf"], "anyOf and oneOf at one level cannot be stated in the subset");
    const alt = "anyOf" in s ? "anyOf" : "oneOf";
    for (const k of Object.keys(s)) {
      if (VALUE_KEYWORDS.includes(k) || TYPED_KEYWORDS.has(k)) {
        refuse(ctx, [...keys, k], `beside ${alt}: the subset takes either a type or anyOf at one level (move it into the branches)`);
      }
    }
    const list = s[alt];
    if (!Array.isArray(list) || list.length === 0) refuse(ctx, [...keys, alt], "expected a non-empty list of schemas");
    if (alt === "oneOf") leave(ctx, keys, "oneOf", "read as anyOf; that exactly one branch matches is left to the argument check");
    const branches: OpenApiSchema[] = [];
    list.forEach((b, i) => {
      if (isNullSchema(b)) nullable = true;
      else branches.push(translate(b, [...keys, alt, i], ctx));
    });
    const merged: OpenApiSchema =
      branches.length === 0 ? { type: "NULL" } : branches.length === 1 ? { ...branches[0] } : { anyOf: branches };
    return finish(merged, notes, nullable);
  }

  const types = typeList(s, keys, ctx);
  if (types.includes("null")) nullable = true;
  let nonNull = types.filter((t) => t !== "null");
  if (types.length === 0) {
    const inferred = inferType(s);
    if (inferred === undefined) refuse(ctx, keys, 'no "type" (the subset needs one at every level)');
    nonNull = [inferred];
  }
  for (const k of Object.keys(s)) {
    if (TYPED_KEYWORDS.has(k) && !nonNull.some((t) => KEYWORDS_OF[t]?.includes(k))) {
      leave(ctx, keys, k, `applies to ${keywordType(k)} values only, and this schema is not one`);
    }
  }
  if (nonNull.length === 0) return finish({ type: "NULL" }, notes, false);
  const typed = nonNull.map((t) => typedSchema(s, t, keys, ctx));
  const enumNull = Array.isArray(s.enum) && s.enum.includes(null);
  return finish(typed.length === 1 ? typed[0]! : { anyOf: typed }, notes, nullable || enumNull);
}

/** Lays this level's annotations over the translated schema and puts `type` first (easier to read in logs). */
function finish(inner: OpenApiSchema, notes: OpenApiSchema, nullable: boolean): OpenApiSchema {
  const out: OpenApiSchema = { ...(inner.type !== undefined ? { type: inner.type } : {}), ...inner, ...notes };
  if (nullable || inner.nullable === true) out.nullable = true;
  return out;
}

function keptAnnotations(s: Obj, keys: readonly Key[], ctx: Ctx): OpenApiSchema {
  const out: OpenApiSchema = {};
  for (const k of ["title", "description"] as const) {
    if (!(k in s)) continue;
    if (typeof s[k] !== "string") refuse(ctx, [...keys, k], "expected text");
    out[k] = s[k];
  }
  if ("default" in s) out.default = s.default;
  if ("example" in s) out.example = s.example;
  return out;
}

/** `$ref` or an `allOf` of one schema: the target, with this level's annotations over it. */
function composedTarget(s: Obj, keys: readonly Key[], ctx: Ctx): OpenApiSchema | undefined {
  let via: "$ref" | "allOf";
  let target: unknown;
  let targetKeys: Key[];
  let ref: string | undefined;
  if ("$ref" in s) {
    if ("allOf" in s) refuse(ctx, [...keys, "allOf"], "allOf beside $ref cannot be stated in the subset");
    via = "$ref";
    ref = s.$ref as string;
    if (typeof ref !== "string") refuse(ctx, [...keys, "$ref"], "expected a reference like #/$defs/Name");
    ({ target, keys: targetKeys } = resolveRef(ref, keys, ctx));
    if (ctx.refs.includes(ref)) {
      refuse(ctx, [...keys, "$ref"], `recursive $ref ${ref}: the subset has no references and a recursive schema cannot be written out`);
    }
  } else if ("allOf" in s) {
    via = "allOf";
    const list = s.allOf;
    if (!Array.isArray(list) || list.length === 0) refuse(ctx, [...keys, "allOf"], "expected a non-empty list of schemas");
    if (list.length > 1) refuse(ctx, [...keys, "allOf"], `allOf of ${list.length} schemas ("all of these at once") cannot be stated in the subset`);
    target = list[0];
    targetKeys = [...keys, "allOf", 0];
  } else {
    return undefined;
  }
  for (const k of Object.keys(s)) {
    if (k !== via && !BESIDE_REF.has(k)) refuse(ctx, [...keys, k], `beside ${via}: both would apply at once, which the subset cannot state`);
  }
  for (const k of DROPPED_ANNOTATIONS) if (k in s) leave(ctx, keys, k, "an annotation the subset lacks");
  if (ref !== undefined) ctx.refs.push(ref);
  const inner = translate(target, targetKeys, ctx);
  if (ref !== undefined) ctx.refs.pop();
  return finish(inner, keptAnnotations(s, keys, ctx), s.nullable === true);
}

function resolveRef(ref: string, keys: readonly Key[], ctx: Ctx): { target: unknown; keys: Key[] } {
  if (!ref.startsWith("#")) refuse(ctx, [...keys, "$ref"], `only references inside this schema (#/...) can be written out, not ${ref}`);
  if (ref !== "#" && !ref.startsWith("#/")) refuse(ctx, [...keys, "$ref"], `anchor references (${ref}) cannot be written out; use #/$defs/Name`);
  const parts = ref === "#" ? [] : ref.slice(2).split("/").map((p) => decodeURIComponent(p).replace(/~1/g, "/").replace(/~0/g, "~"));
  let at: unknown = ctx.root;
  for (const p of parts) {
    at = Array.isArray(at) ? at[Number(p)] : isObject(at) ? at[p] : undefined;
    if (at === undefined) refuse(ctx, [...keys, "$ref"], `${ref} points at nothing in this schema`);
  }
  return { target: at, keys: parts };
}

function isNullSchema(b: unknown): boolean {
  return isObject(b) && b.type === "null" && Object.keys(b).every((k) => k === "type" || BESIDE_REF.has(k));
}

function typeList(s: Obj, keys: readonly Key[], ctx: Ctx): string[] {
  if (!("type" in s)) return [];
  const list = Array.isArray(s.type) ? s.type : [s.type];
  if (list.length === 0) refuse(ctx, [...keys, "type"], "expected a type name or a list of them");
  list.forEach((t, i) => {
    const at = Array.isArray(s.type) ? [...keys, "type", i] : [...keys, "type"];
    if (typeof t !== "string") refuse(ctx, at, "expected a type name");
    if (TYPE_NAMES[t] === undefined) {
      const lower = t.toLowerCase();
      const hint = TYPE_NAMES[lower] !== undefined ? ` (JSON Schema writes it "${lower}")` : "";
      refuse(ctx, at, `unknown type "${t}"${hint}`);
    }
  });
  return list as string[];
}

function keywordType(k: string): string {
  if (STRING_KEYWORDS.includes(k)) return "string";
  if (NUMBER_KEYWORDS.includes(k)) return "number";
  if (ARRAY_KEYWORDS.includes(k)) return "array";
  return "object";
}

/** A schema without `type`: the one type its keywords or enum values imply, if exactly one. */
function inferType(s: Obj): string | undefined {
  const values = "const" in s ? [s.const] : Array.isArray(s.enum) ? s.enum.filter((v) => v !== null) : undefined;
  if (values !== undefined && values.length > 0) {
    if (values.every((v) => typeof v === "string")) return "string";
    if (values.every((v) => typeof v === "boolean")) return "boolean";
    if (values.every((v) => Number.isInteger(v))) return "integer";
    if (values.every((v) => typeof v === "number")) return "number";
    return undefined;
  }
  const kinds = new Set(Object.keys(s).filter((k) => TYPED_KEYWORDS.has(k)).map(keywordType));
  return kinds.size === 1 ? [...kinds][0] : undefined;
}

function count(v: unknown, keys: readonly Key[], k: string, ctx: Ctx): number {
  if (!Number.isSafeInteger(v) || (v as number) < 0) refuse(ctx, [...keys, k], "expected a whole number, 0 or more");
  return v as number;
}

function num(v: unknown, keys: readonly Key[], k: string, ctx: Ctx): number {
  if (typeof v !== "number" || !Number.isFinite(v)) refuse(ctx, [...keys, k], "expected a number");
  return v;
}

function strings(v: unknown, keys: readonly Key[], k: string, ctx: Ctx): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) refuse(ctx, [...keys, k], "expected a list of names");
  return v as string[];
}

/** The schema `s` read as values of JSON type `t` (one of its types): `t`'s keywords plus enum/const/format. */
function typedSchema(s: Obj, t: string, keys: readonly Key[], ctx: Ctx): OpenApiSchema {
  const type = TYPE_NAMES[t]!;
  const out: OpenApiSchema = { type };

  if ("format" in s) {
    if (typeof s.format === "string" && FORMATS[type]?.has(s.format)) out.format = s.format;
    else leave(ctx, keys, "format", `format ${JSON.stringify(s.format)} is not one Gemini documents for ${type}; the argument check applies it`);
  }
  if ("const" in s) {
    if (type === "STRING" && typeof s.const === "string") out.enum = [s.const];
    else leave(ctx, keys, "const", "Gemini's enum holds strings only; " + NARROWS);
  }
  if ("enum" in s) {
    if (!Array.isArray(s.enum) || s.enum.length === 0) refuse(ctx, [...keys, "enum"], "expected a non-empty list of values");
    const values = s.enum.filter((v) => v !== null);
    if (type === "STRING" && values.every((v) => typeof v === "string")) {
      if (out.enum === undefined) out.enum = values as string[];
    } else {
      leave(ctx, keys, "enum", "Gemini's enum holds strings only; " + NARROWS);
    }
  }

  switch (type) {
    case "STRING":
      if ("minLength" in s) out.minLength = count(s.minLength, keys, "minLength", ctx);
      if ("maxLength" in s) out.maxLength = count(s.maxLength, keys, "maxLength", ctx);
      if ("pattern" in s) {
        if (typeof s.pattern !== "string") refuse(ctx, [...keys, "pattern"], "expected a regular expression");
        out.pattern = s.pattern;
      }
      break;
    case "NUMBER":
    case "INTEGER":
      if ("minimum" in s) out.minimum = num(s.minimum, keys, "minimum", ctx);
      if ("maximum" in s) out.maximum = num(s.maximum, keys, "maximum", ctx);
      for (const k of ["exclusiveMinimum", "exclusiveMaximum", "multipleOf"]) if (k in s) leave(ctx, keys, k, NARROWS);
      break;
    case "ARRAY":
      arrayKeywords(s, out, keys, ctx);
      break;
    case "OBJECT":
      objectKeywords(s, out, keys, ctx);
      break;
    default:
      break;
  }
  return out;
}

function arrayKeywords(s: Obj, out: OpenApiSchema, keys: readonly Key[], ctx: Ctx): void {
  if ("prefixItems" in s) refuse(ctx, [...keys, "prefixItems"], "a tuple (prefixItems) cannot be stated: the subset has one schema for every element");
  const items = s.items;
  if (items === undefined || items === true || (isObject(items) && Object.keys(items).length === 0)) {
    refuse(ctx, [...keys, "items"], "an array needs an items schema with a type in the subset (elements of any type cannot be stated)");
  }
  if (items === false) refuse(ctx, [...keys, "items"], "`items: false` (no elements at all) cannot be stated in the subset");
  out.items = translate(items, [...keys, "items"], ctx);
  if ("minItems" in s) out.minItems = count(s.minItems, keys, "minItems", ctx);
  if ("maxItems" in s) out.maxItems = count(s.maxItems, keys, "maxItems", ctx);
  for (const k of ["uniqueItems", "contains", "minContains", "maxContains"]) if (k in s) leave(ctx, keys, k, NARROWS);
  if ("unevaluatedItems" in s) {
    if (typeof s.unevaluatedItems !== "boolean") refuse(ctx, [...keys, "unevaluatedItems"], "unevaluatedItems with a schema cannot be stated in the subset");
    leave(ctx, keys, "unevaluatedItems", NARROWS);
  }
}

function objectKeywords(s: Obj, out: OpenApiSchema, keys: readonly Key[], ctx: Ctx): void {
  if ("patternProperties" in s) refuse(ctx, [...keys, "patternProperties"], "patternProperties (keys by pattern) cannot be stated in the subset");
  if ("dependentSchemas" in s) refuse(ctx, [...keys, "dependentSchemas"], "dependentSchemas (a schema that applies when a key is present) cannot be stated in the subset");
  const defined = new Set<string>();
  if ("properties" in s) {
    if (!isObject(s.properties)) refuse(ctx, [...keys, "properties"], "expected an object of property schemas");
    const props: Record<string, OpenApiSchema> = {};
    for (const [name, p] of Object.entries(s.properties)) {
      if (p === false) {
        leave(ctx, [...keys, "properties"], name, "a forbidden property (`false`); " + NARROWS);
        continue;
      }
      props[name] = translate(p, [...keys, "properties", name], ctx);
      defined.add(name);
    }
    out.properties = props;
  }
  if ("required" in s) {
    const names = strings(s.required, keys, "required", ctx);
    names.forEach((n, i) => {
      if (!defined.has(n)) refuse(ctx, [...keys, "required", i], `"${n}" is required but properties does not define it (the model would not know what to send)`);
    });
    out.required = names;
  }
  if ("minProperties" in s) out.minProperties = count(s.minProperties, keys, "minProperties", ctx);
  if ("maxProperties" in s) out.maxProperties = count(s.maxProperties, keys, "maxProperties", ctx);
  if ("propertyOrdering" in s) out.propertyOrdering = strings(s.propertyOrdering, keys, "propertyOrdering", ctx);
  for (const k of ["additionalProperties", "unevaluatedProperties"]) {
    if (!(k in s)) continue;
    const v = s[k];
    if (typeof v === "boolean" || (isObject(v) && Object.keys(v).length === 0)) leave(ctx, keys, k, NARROWS);
    else refuse(ctx, [...keys, k], `${k} with a schema (an object of any keys) cannot be stated in the subset`);
  }
  for (const k of ["propertyNames", "dependentRequired"]) if (k in s) leave(ctx, keys, k, NARROWS);
}
