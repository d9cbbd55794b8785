// Checks the arguments of a model's function call against the tool's full JSON Schema (draft 2020-12) before the
// tool runs, so a call outside the schema becomes an error the model can read and correct, whatever form of the
// schema Gemini was shown (src/gemini/tool-schema.ts). Compiled once per tool when the agents file loads; a schema
// that does not compile is refused there, naming its place in the file.
import Ajv2020, { type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { toolError, type ToolError } from "../call/tool-runner.ts";
import { schemaPath, ToolSchemaError } from "./schema-error.ts";

export interface ArgsProblem {
  /** Where in the arguments, e.g. `items[0].qty`; "arguments" for the object itself. */
  path: string;
  message: string;
}

export type ArgsVerdict = { ok: true } | { ok: false; problems: ArgsProblem[]; result: ToolError };

/** At most this many problems go to the model: enough to fix the call, short enough to read aloud. */
const MAX_PROBLEMS = 5;
const MAX_MESSAGE_CHARS = 600;

// Formats OpenAPI and Gemini's Schema use besides JSON Schema's own.
const INT32 = { min: -(2 ** 31), max: 2 ** 31 - 1 };
const EXTRA_FORMATS: Record<string, { type: "number" | "string"; validate: (v: never) => boolean }> = {
  int32: { type: "number", validate: (v: number) => Number.isInteger(v) && v >= INT32.min && v <= INT32.max },
  int64: { type: "number", validate: (v: number) => Number.isInteger(v) },
  float: { type: "number", validate: () => true },
  double: { type: "number", validate: () => true },
  byte: { type: "string", validate: (v: string) => /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(v) },
  binary: { type: "string", validate: () => true },
  password: { type: "string", validate: () => true },
  enum: { type: "string", validate: () => true },
};

let shared: Ajv2020 | undefined;

// One validator instance for the process: compiled schemas are kept by the ArgsChecks that own them.
function ajv(): Ajv2020 {
  if (shared !== undefined) return shared;
  const a = new Ajv2020({
    allErrors: true,
    // An unknown keyword is almost always a typo ("requried") that would silently check nothing: refuse it.
    strictSchema: true,
    // Plain JSON Schema habits (properties without type: object, required names outside properties) stay legal.
    strictTypes: false,
    strictTuples: false,
    strictRequired: false,
    // Two tools may carry the same $id; each schema is its own document.
    addUsedSchema: false,
    logger: false,
  });
  addFormats(a);
  for (const [name, f] of Object.entries(EXTRA_FORMATS)) a.addFormat(name, f as never);
  // Gemini / OpenAPI annotations that people put in schemas written for Gemini; they describe, they do not check.
  a.addKeyword({ keyword: "propertyOrdering", schemaType: "array" });
  a.addKeyword({ keyword: "example" });
  shared = a;
  return a;
}

/** Formats nobody defines are annotations in 2020-12 (§7.2.1): register them as always valid instead of refusing. */
function registerUnknownFormats(a: Ajv2020, schema: unknown): void {
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (typeof v !== "object" || v === null) return;
    for (const [k, x] of Object.entries(v)) {
      if (k === "format" && typeof x === "string" && a.formats[x] === undefined) a.addFormat(x, true);
      else walk(x);
    }
  };
  walk(schema);
}

export class ArgsCheck {
  private constructor(private readonly validate: ValidateFunction) {}

  /** Compiles the schema at `path` (agents-file style). Throws ToolSchemaError if it is not a usable JSON Schema. */
  static compile(schema: Record<string, unknown>, path: string): ArgsCheck {
    const a = ajv();
    registerUnknownFormats(a, schema);
    try {
      return new ArgsCheck(a.compile(schema));
    } catch (e) {
      const msg = (e as Error).message.replace(/^schema is invalid: /, "");
      throw new ToolSchemaError(path, `not a usable JSON Schema: ${msg}`);
    }
  }

  check(args: unknown): ArgsVerdict {
    if (this.validate(args)) return { ok: true };
    const problems = dedupe((this.validate.errors ?? []).map(describe));
    const shown = problems.slice(0, MAX_PROBLEMS).map((p) => `${p.path}: ${p.message}`);
    if (problems.length > MAX_PROBLEMS) shown.push(`and ${problems.length - MAX_PROBLEMS} more`);
    let message = `invalid arguments: ${shown.join("; ")}. Correct them and call again.`;
    if (message.length > MAX_MESSAGE_CHARS) message = `${message.slice(0, MAX_MESSAGE_CHARS - 1)}…`;
    return { ok: false, problems, result: toolError(message, false) };
  }
}

/** "/items/0/qty" → "items[0].qty"; "" → "arguments". */
function instancePath(pointer: string, extra?: string): string {
  const keys: Array<string | number> = pointer === "" ? [] : pointer.slice(1).split("/").map((k) => k.replace(/~1/g, "/").replace(/~0/g, "~"));
  if (extra !== undefined) keys.push(extra);
  const path = schemaPath("", keys.map((k) => (typeof k === "string" && /^\d+$/.test(k) ? Number(k) : k)));
  return path === "" ? "arguments" : path;
}

// Only schema text goes into a message (names, allowed values), never the argument values: they may be personal.
function describe(e: ErrorObject): ArgsProblem {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case "required":
      return { path: instancePath(e.instancePath, String(p.missingProperty)), message: "is missing" };
    case "additionalProperties":
      return { path: instancePath(e.instancePath, String(p.additionalProperty)), message: "is not an argument of this tool" };
    case "enum":
      return { path: instancePath(e.instancePath), message: `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}` };
    case "const":
      return { path: instancePath(e.instancePath), message: `must be ${JSON.stringify(p.allowedValue)}` };
    default:
      return { path: instancePath(e.instancePath), message: e.message ?? "is not valid" };
  }
}

function dedupe(list: ArgsProblem[]): ArgsProblem[] {
  const seen = new Set<string>();
  return list.filter((p) => {
    const k = `${p.path} ${p.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
