// Tool parameter schemas as people write them (OpenAI strict tools, pydantic, zod, hand-written), turned into the
// two forms Gemini's FunctionDeclaration takes. Every openapi result is also read strictly against Google's
// Schema message, so "it translated" means "the Live service would take it".
import { describe, expect, test } from "bun:test";
import { setupFrame } from "../../src/gemini/protocol.ts";
import { buildSetup } from "../../src/gemini/setup.ts";
import { declarationParameters, toJsonSchemaParameters, toOpenApiSchema, type OpenApiSchema } from "../../src/gemini/tool-schema.ts";
import { ToolSchemaError } from "../../src/tools/schema-error.ts";
import { WireChecker } from "../support/wire-protos.ts";

const BASE = "agents[0].tools[1].parameters";
const wire = new WireChecker();

/** toOpenApiSchema, and proof that Google's Schema message takes the result. */
function openapi(schema: unknown) {
  const r = toOpenApiSchema(schema, BASE);
  const frame = setupFrame(buildSetup({ model: "gemini-3.8-live", voice: "Kore", prompt: "", tools: [{ name: "t", description: "d", parameters: { ...r.schema } }] }));
  expect(wire.check(frame)).toEqual([]);
  return r;
}

function refusal(schema: unknown): { path: string; reason: string } {
  try {
    toOpenApiSchema(schema, BASE);
  } catch (e) {
    expect(e).toBeInstanceOf(ToolSchemaError);
    const err = e as ToolSchemaError;
    expect(err.message).toBe(`${err.path}: ${err.reason}`);
    return { path: err.path, reason: err.reason };
  }
  throw new Error("translated, but it should have been refused");
}

const leftOutPaths = (r: { leftOut: { path: string }[] }) => r.leftOut.map((l) => l.path);

describe("toOpenApiSchema: schemas people write", () => {
  test("an OpenAI strict tool: everything required, additionalProperties false, nullable by type list", () => {
    const schema = {
      type: "object",
      properties: {
        location: { type: "string", description: "City and country, e.g. Nairobi, Kenya" },
        units: { type: ["string", "null"], enum: ["celsius", "fahrenheit", null], description: "Units, or null for local" },
        days: { type: "integer", minimum: 1, maximum: 7 },
      },
      required: ["location", "units", "days"],
      additionalProperties: false,
    };
    const r = openapi(schema);
    expect(r.schema).toEqual({
      type: "OBJECT",
      properties: {
        location: { type: "STRING", description: "City and country, e.g. Nairobi, Kenya" },
        units: { type: "STRING", enum: ["celsius", "fahrenheit"], description: "Units, or null for local", nullable: true },
        days: { type: "INTEGER", minimum: 1, maximum: 7 },
      },
      required: ["location", "units", "days"],
    });
    expect(r.leftOut).toEqual([
      { path: `${BASE}.additionalProperties`, keyword: "additionalProperties", reason: "only narrows what is valid; the argument check applies it" },
    ]);
  });

  test("nested arrays of objects keep their shape; inner additionalProperties and exclusiveMinimum are left out", () => {
    const schema = {
      type: "object",
      properties: {
        orders: {
          type: "array",
          minItems: 1,
          maxItems: 20,
          items: {
            type: "object",
            properties: {
              sku: { type: "string", pattern: "^[A-Z]{3}-[0-9]{4}$" },
              qty: { type: "integer", exclusiveMinimum: 0 },
              tags: { type: "array", items: { type: "string", minLength: 1, maxLength: 30 }, uniqueItems: true },
            },
            required: ["sku", "qty"],
            additionalProperties: false,
          },
        },
      },
      required: ["orders"],
    };
    const r = openapi(schema);
    expect(r.schema).toEqual({
      type: "OBJECT",
      properties: {
        orders: {
          type: "ARRAY",
          minItems: 1,
          maxItems: 20,
          items: {
            type: "OBJECT",
            properties: {
              sku: { type: "STRING", pattern: "^[A-Z]{3}-[0-9]{4}$" },
              qty: { type: "INTEGER" },
              tags: { type: "ARRAY", items: { type: "STRING", minLength: 1, maxLength: 30 } },
            },
            required: ["sku", "qty"],
          },
        },
      },
      required: ["orders"],
    });
    expect(leftOutPaths(r)).toEqual([
      `${BASE}.properties.orders.items.properties.qty.exclusiveMinimum`,
      `${BASE}.properties.orders.items.properties.tags.uniqueItems`,
      `${BASE}.properties.orders.items.additionalProperties`,
    ]);
  });

  test("pydantic v2 output: $defs + $ref written out in place, Optional as anyOf with null, titles kept", () => {
    const schema = {
      $defs: {
        Size: { enum: ["small", "large"], title: "Size", type: "string" },
        Address: {
          properties: { street: { title: "Street", type: "string" }, zip: { title: "Zip", type: "string" } },
          required: ["street", "zip"],
          title: "Address",
          type: "object",
        },
      },
      properties: {
        size: { $ref: "#/$defs/Size", description: "Pizza size" },
        deliver_to: { anyOf: [{ $ref: "#/$defs/Address" }, { type: "null" }], default: null },
        note: { anyOf: [{ type: "string" }, { type: "null" }], default: null, title: "Note" },
      },
      required: ["size"],
      title: "OrderPizza",
      type: "object",
    };
    const r = openapi(schema);
    expect(r.schema).toEqual({
      type: "OBJECT",
      properties: {
        size: { type: "STRING", enum: ["small", "large"], title: "Size", description: "Pizza size" },
        deliver_to: {
          type: "OBJECT",
          properties: { street: { type: "STRING", title: "Street" }, zip: { type: "STRING", title: "Zip" } },
          required: ["street", "zip"],
          title: "Address",
          default: null,
          nullable: true,
        },
        note: { type: "STRING", title: "Note", default: null, nullable: true },
      },
      required: ["size"],
      title: "OrderPizza",
    });
    expect(r.leftOut).toEqual([]);
  });

  test("pydantic v1 style allOf of one $ref is merged; a $ref used twice is written out twice", () => {
    const schema = {
      type: "object",
      definitions: { Point: { type: "object", properties: { lat: { type: "number" }, lng: { type: "number" } }, required: ["lat", "lng"] } },
      properties: {
        from: { allOf: [{ $ref: "#/definitions/Point" }], description: "Pick-up" },
        to: { $ref: "#/definitions/Point" },
      },
    };
    const point: OpenApiSchema = { type: "OBJECT", properties: { lat: { type: "NUMBER" }, lng: { type: "NUMBER" } }, required: ["lat", "lng"] };
    expect(openapi(schema).schema).toEqual({ type: "OBJECT", properties: { from: { ...point, description: "Pick-up" }, to: point } });
  });

  test("zod's toJSONSchema output: $schema and additionalProperties left out, the rest kept", () => {
    const schema = {
      $schema: "https://json-schema.org/draft/2020-12/schema",
      type: "object",
      properties: { email: { type: "string", format: "email" }, when: { type: "string", format: "date-time" }, count: { type: "integer", format: "int32" } },
      required: ["email", "when", "count"],
      additionalProperties: false,
    };
    const r = openapi(schema);
    expect(r.schema.properties).toEqual({
      email: { type: "STRING" },
      when: { type: "STRING", format: "date-time" },
      count: { type: "INTEGER", format: "int32" },
    });
    expect(r.leftOut.map((l) => l.keyword).sort()).toEqual(["$schema", "additionalProperties", "format"]);
    expect(r.leftOut.find((l) => l.keyword === "format")?.path).toBe(`${BASE}.properties.email.format`);
  });

  test("const: a string becomes a one-value enum; other values are left out", () => {
    const r = openapi({
      type: "object",
      properties: { kind: { type: "string", const: "refund" }, version: { type: "integer", const: 2 }, confirm: { const: true } },
    });
    expect(r.schema.properties).toEqual({ kind: { type: "STRING", enum: ["refund"] }, version: { type: "INTEGER" }, confirm: { type: "BOOLEAN" } });
    expect(leftOutPaths(r)).toEqual([`${BASE}.properties.version.const`, `${BASE}.properties.confirm.const`]);
  });

  test("enum of numbers keeps the type and leaves the enum out (Gemini's enum is strings)", () => {
    const r = openapi({ type: "object", properties: { stars: { type: "integer", enum: [1, 2, 3, 4, 5] }, tier: { enum: ["a", "b"] } } });
    expect(r.schema.properties).toEqual({ stars: { type: "INTEGER" }, tier: { type: "STRING", enum: ["a", "b"] } });
    expect(leftOutPaths(r)).toEqual([`${BASE}.properties.stars.enum`]);
  });

  test("a type list of several types becomes anyOf, each branch with its own type's keywords", () => {
    const r = openapi({ type: "object", properties: { id: { type: ["string", "integer", "null"], minLength: 3, minimum: 1, description: "Order id" } } });
    expect(r.schema.properties!.id).toEqual({
      anyOf: [
        { type: "STRING", minLength: 3 },
        { type: "INTEGER", minimum: 1 },
      ],
      description: "Order id",
      nullable: true,
    });
  });

  test("oneOf is read as anyOf and its exclusivity reported as left out", () => {
    const r = openapi({ type: "object", properties: { when: { oneOf: [{ type: "string", format: "date-time" }, { type: "integer", description: "minutes from now" }] } } });
    expect(r.schema.properties!.when).toEqual({ anyOf: [{ type: "STRING", format: "date-time" }, { type: "INTEGER", description: "minutes from now" }] });
    expect(r.leftOut).toEqual([
      { path: `${BASE}.properties.when.oneOf`, keyword: "oneOf", reason: "read as anyOf; that exactly one branch matches is left to the argument check" },
    ]);
  });

  test("keywords of a type the schema does not have, `not`, and annotations the subset lacks are left out", () => {
    const r = openapi({
      type: "object",
      $comment: "v2",
      properties: {
        code: { type: "integer", minLength: 4, examples: [1234], not: { enum: [0] }, deprecated: true },
        ok: { type: "boolean", readOnly: true },
      },
    });
    expect(r.schema).toEqual({ type: "OBJECT", properties: { code: { type: "INTEGER" }, ok: { type: "BOOLEAN" } } });
    expect(leftOutPaths(r).sort()).toEqual(
      [
        `${BASE}.$comment`,
        `${BASE}.properties.code.minLength`,
        `${BASE}.properties.code.examples`,
        `${BASE}.properties.code.not`,
        `${BASE}.properties.code.deprecated`,
        `${BASE}.properties.ok.readOnly`,
      ].sort(),
    );
  });

  test("a missing type is inferred only when one type's keywords imply it", () => {
    const r = openapi({ properties: { a: { enum: ["x", "y"] }, b: { items: { type: "string" } }, c: { maxLength: 3 } } });
    expect(r.schema).toEqual({
      type: "OBJECT",
      properties: { a: { type: "STRING", enum: ["x", "y"] }, b: { type: "ARRAY", items: { type: "STRING" } }, c: { type: "STRING", maxLength: 3 } },
    });
    expect(refusal({ type: "object", properties: { x: { description: "anything" } } })).toEqual({
      path: `${BASE}.properties.x`,
      reason: 'no "type" (the subset needs one at every level)',
    });
  });

  test("OpenAPI's own keywords (nullable, example, propertyOrdering) pass through", () => {
    const r = openapi({
      type: "object",
      properties: { a: { type: "string", nullable: true, example: "x" }, b: { type: "number" } },
      propertyOrdering: ["b", "a"],
      example: { a: "x", b: 1 },
    });
    expect(r.schema).toEqual({
      type: "OBJECT",
      properties: { a: { type: "STRING", nullable: true, example: "x" }, b: { type: "NUMBER" } },
      propertyOrdering: ["b", "a"],
      example: { a: "x", b: 1 },
    });
  });

  test("the input is not changed", () => {
    const schema = { type: "object", properties: { a: { type: ["string", "null"] } }, additionalProperties: false };
    const copy = structuredClone(schema);
    openapi(schema);
    expect(schema).toEqual(copy);
  });
});

describe("toOpenApiSchema refuses what the subset cannot state, naming the place", () => {
  const cases: Array<[string, unknown, string, RegExp]> = [
    ["oneOf beside type", { type: "object", properties: { when: { type: "string", oneOf: [{ format: "date" }, { format: "date-time" }] } } }, "properties.when.type", /beside oneOf/],
    [
      "a recursive $ref",
      { type: "object", properties: { tree: { $ref: "#/$defs/Node" } }, $defs: { Node: { type: "object", properties: { children: { type: "array", items: { $ref: "#/$defs/Node" } } } } } },
      "$defs.Node.properties.children.items.$ref",
      /recursive \$ref #\/\$defs\/Node/,
    ],
    ["a $ref to the whole schema", { type: "object", properties: { child: { $ref: "#" } } }, "properties.child.$ref", /recursive \$ref #:/],
    ["a remote $ref", { type: "object", properties: { a: { $ref: "https://example.com/a.json" } } }, "properties.a.$ref", /only references inside this schema/],
    ["a $ref to nothing", { type: "object", properties: { a: { $ref: "#/$defs/Nope" } } }, "properties.a.$ref", /points at nothing/],
    ["$ref beside a constraint", { type: "object", properties: { a: { $ref: "#/$defs/A", maxLength: 3 } }, $defs: { A: { type: "string" } } }, "properties.a.maxLength", /beside \$ref/],
    ["allOf of two", { type: "object", allOf: [{ properties: { a: { type: "string" } } }, { required: ["a"] }] }, "allOf", /allOf of 2 schemas/],
    ["if/then/else", { type: "object", properties: { a: { type: "string" } }, if: { properties: { a: { const: "x" } } }, then: { required: ["a"] } }, "if", /conditional/],
    ["patternProperties", { type: "object", patternProperties: { "^x-": { type: "string" } } }, "patternProperties", /patternProperties/],
    ["a map (additionalProperties with a schema)", { type: "object", properties: { headers: { type: "object", additionalProperties: { type: "string" } } } }, "properties.headers.additionalProperties", /with a schema/],
    ["a tuple", { type: "object", properties: { point: { type: "array", prefixItems: [{ type: "number" }, { type: "number" }], items: false } } }, "properties.point.prefixItems", /tuple/],
    ["an array without items", { type: "object", properties: { tags: { type: "array" } } }, "properties.tags.items", /needs an items schema/],
    ["required naming an undefined property", { type: "object", properties: { a: { type: "string" } }, required: ["a", "b"] }, "required[1]", /"b" is required but properties does not define it/],
    ["an unknown keyword (typo)", { type: "object", properties: { a: { type: "string" } }, requried: ["a"] }, "requried", /unknown keyword/],
    ["an upper-case type", { type: "OBJECT", properties: {} }, "type", /unknown type "OBJECT" \(JSON Schema writes it "object"\)/],
    ["a property of any type (true)", { type: "object", properties: { blob: true } }, "properties.blob", /any value/],
    ["dependentSchemas", { type: "object", properties: { a: { type: "string" } }, dependentSchemas: { a: { required: ["b"] } } }, "dependentSchemas", /dependentSchemas/],
    ["unevaluatedProperties with a schema", { type: "object", unevaluatedProperties: { type: "string" } }, "unevaluatedProperties", /with a schema/],
    ["arguments that are not an object", { type: "array", items: { type: "string" } }, "type", /expected "object"/],
    ["a property name that needs quoting", { type: "object", properties: { "first-name": { type: "string", oneOf: [] } } }, 'properties["first-name"].type', /beside oneOf/],
  ];
  test.each(cases)("%s", (_name, schema, at, why) => {
    const r = refusal(schema);
    expect(r.path).toBe(`${BASE}.${at}`.replace(".[", "["));
    expect(r.reason).toMatch(why);
  });

  test("the example path from the agents file: agents[0].tools[1].parameters.properties.when.oneOf", () => {
    expect(refusal({ type: "object", properties: { when: { oneOf: "date" } } })).toEqual({
      path: "agents[0].tools[1].parameters.properties.when.oneOf",
      reason: "expected a non-empty list of schemas",
    });
  });

  test("not a schema at all", () => {
    expect(() => toOpenApiSchema("object", BASE)).toThrow(`${BASE}: expected a JSON Schema object`);
    expect(() => toOpenApiSchema(null, BASE)).toThrow(ToolSchemaError);
  });
});

describe("toJsonSchemaParameters: the schema as it is", () => {
  test("returns the very schema (nothing Google documents as refused there is removed)", () => {
    const schema = {
      $schema: "https://json-schema.org/draft/2020-12/schema",
      type: "object",
      properties: { when: { oneOf: [{ type: "string", format: "date" }, { const: "asap" }] }, tree: { $ref: "#" } },
      additionalProperties: false,
    };
    expect(toJsonSchemaParameters(schema, BASE)).toBe(schema);
  });

  test("refuses what is not an object schema, naming the place", () => {
    expect(() => toJsonSchemaParameters([], BASE)).toThrow(`${BASE}: expected a JSON Schema object`);
    expect(() => toJsonSchemaParameters({ type: "string" }, BASE)).toThrow(`${BASE}.type: expected "object"`);
  });
});

describe("declarationParameters: the FunctionDeclaration fields for the setting GEMINI_TOOL_SCHEMA", () => {
  const schema = { type: "object", properties: { a: { type: "string" } }, additionalProperties: false };

  test("openapi → parameters, with what was left out", () => {
    const d = declarationParameters("openapi", schema, BASE);
    const parameters: OpenApiSchema = { type: "OBJECT", properties: { a: { type: "STRING" } } };
    expect(d).toEqual({ fields: { parameters }, leftOut: [expect.objectContaining({ keyword: "additionalProperties" })] });
  });

  test("json → parametersJsonSchema, nothing left out", () => {
    expect(declarationParameters("json", schema, BASE)).toEqual({ fields: { parametersJsonSchema: schema }, leftOut: [] });
  });

  test("a refusal is the same ToolSchemaError either way it is asked for", () => {
    expect(() => declarationParameters("openapi", { type: "object", properties: { m: { type: "object", additionalProperties: { type: "string" } } } }, BASE)).toThrow(
      `${BASE}.properties.m.additionalProperties: additionalProperties with a schema`,
    );
    expect(() => declarationParameters("json", { type: "string" }, BASE)).toThrow(`${BASE}.type: expected "object"`);
  });
});
