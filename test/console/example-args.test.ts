// Arguments the tools page starts from, made from a tool's JSON Schema: what the schema offers first, else a value
// of the right type inside simple bounds; they pass the tool's own argument check when the schema allows it.
import { describe, expect, test } from "bun:test";
import { exampleArgs, exampleValue } from "../../src/console/web/example-args.ts";
import { ArgsCheck } from "../../src/tools/args-check.ts";

describe("example arguments", () => {
  test("what the schema offers comes first: default, const, examples, example, the first enum value", () => {
    expect(exampleValue({ type: "string", default: "d", enum: ["a"] })).toBe("d");
    expect(exampleValue({ const: "phone" })).toBe("phone");
    expect(exampleValue({ type: "string", examples: ["1042", "9"] })).toBe("1042");
    expect(exampleValue({ type: "integer", example: 3 })).toBe(3);
    expect(exampleValue({ type: ["string", "null"], enum: [null, "indoor", "outdoor"] })).toBe("indoor");
  });

  test("else a value of its type within its bounds", () => {
    expect(exampleValue({ type: "integer", minimum: 1, maximum: 12 })).toBe(1);
    expect(exampleValue({ type: "integer", exclusiveMinimum: 0 })).toBe(1);
    expect(exampleValue({ type: "number", maximum: -5 })).toBe(-5);
    expect(exampleValue({ type: "boolean" })).toBe(false);
    expect(exampleValue({ type: "array", items: { type: "string" }, minItems: 2 })).toEqual(["", ""]);
    expect(exampleValue({ type: "string", format: "date-time" })).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(exampleValue({ anyOf: [{ type: "integer" }, { type: "string" }] })).toBe(0);
  });

  test("objects: every property, $refs followed, recursion ended", () => {
    const schema = {
      type: "object",
      properties: { when: { $ref: "#/$defs/When" }, party: { type: "integer", minimum: 1 }, gone: false, node: { $ref: "#" } },
      $defs: { When: { type: "string", default: "tonight" } },
    };
    expect(exampleArgs(schema)).toEqual({ when: "tonight", party: 1, node: { when: "tonight", party: 1, node: null } });
    expect(exampleArgs(undefined)).toEqual({});
    expect(exampleArgs({ type: "string" })).toEqual({});
  });

  test("a strict booking schema gets arguments its own check accepts", () => {
    const schema = {
      type: "object",
      properties: {
        when: { type: "string", format: "date-time" },
        party: { type: "integer", exclusiveMinimum: 0, maximum: 12 },
        seating: { type: "string", enum: ["indoor", "outdoor"] },
        source: { const: "phone" },
        tags: { type: "array", items: { type: "string" } },
      },
      required: ["when", "party", "seating", "source"],
      additionalProperties: false,
    };
    expect(ArgsCheck.compile(schema, "t").check(exampleArgs(schema))).toEqual({ ok: true });
  });
});
