// Arguments to start editing from, made from a tool's JSON Schema: what the schema itself offers first (default,
// const, examples, the first enum value), else a value of the right type that meets its simple bounds. Plain code
// with no DOM, so it is tested with bun test. Only a starting point: the run checks the arguments in full.

type Schema = Record<string, unknown>;

function isObject(v: unknown): v is Schema {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Follows a local `$ref: "#/..."` (once per path, so recursion ends). */
function resolve(s: Schema, root: Schema, seen: Set<string>): Schema {
  const ref = s.$ref;
  if (typeof ref !== "string" || !ref.startsWith("#") || seen.has(ref)) return s;
  seen.add(ref);
  let at: unknown = root;
  for (const k of ref.slice(1).split("/").filter((x) => x !== "")) at = isObject(at) ? at[k.replace(/~1/g, "/").replace(/~0/g, "~")] : undefined;
  return isObject(at) ? resolve(at, root, seen) : s;
}

function typeOf(s: Schema): string | undefined {
  const t = s.type;
  if (typeof t === "string") return t;
  if (Array.isArray(t)) return t.find((x) => x !== "null") as string | undefined;
  if (isObject(s.properties)) return "object";
  if (s.items !== undefined) return "array";
  return undefined;
}

export function exampleValue(schema: unknown, root: Schema = isObject(schema) ? schema : {}, seen = new Set<string>(), depth = 0): unknown {
  if (!isObject(schema) || depth > 8) return null;
  // The refs followed on the way here: one seen again is recursion, and the value stops there.
  seen = new Set(seen);
  const s = resolve(schema, root, seen);
  if ("default" in s) return s.default;
  if ("const" in s) return s.const;
  if (Array.isArray(s.examples) && s.examples.length > 0) return s.examples[0];
  if ("example" in s) return s.example;
  if (Array.isArray(s.enum) && s.enum.length > 0) return s.enum.find((v) => v !== null) ?? null;
  const branch = (Array.isArray(s.anyOf) ? s.anyOf : Array.isArray(s.oneOf) ? s.oneOf : Array.isArray(s.allOf) ? s.allOf : [])[0];
  if (branch !== undefined && typeOf(s) === undefined) return exampleValue(branch, root, seen, depth + 1);
  switch (typeOf(s)) {
    case "string":
      if (s.format === "date-time") return new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
      if (s.format === "date") return new Date().toISOString().slice(0, 10);
      return "";
    case "integer":
    case "number": {
      const min = typeof s.minimum === "number" ? s.minimum : typeof s.exclusiveMinimum === "number" ? s.exclusiveMinimum + (typeOf(s) === "integer" ? 1 : 0.5) : 0;
      const max = typeof s.maximum === "number" ? s.maximum : undefined;
      return max !== undefined && min > max ? max : min;
    }
    case "boolean":
      return false;
    case "array": {
      const n = typeof s.minItems === "number" ? s.minItems : 0;
      return Array.from({ length: n }, () => exampleValue(s.items, root, seen, depth + 1));
    }
    case "object": {
      const out: Record<string, unknown> = {};
      const props = isObject(s.properties) ? s.properties : {};
      for (const [k, p] of Object.entries(props)) if (p !== false) out[k] = exampleValue(p, root, seen, depth + 1);
      return out;
    }
    default:
      return null;
  }
}

/** The arguments object for a tool (its parameters may be absent: no arguments). */
export function exampleArgs(parameters: unknown): Record<string, unknown> {
  const v = exampleValue(parameters);
  return isObject(v) ? v : {};
}
