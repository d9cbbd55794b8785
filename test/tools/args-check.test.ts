// The model's function-call arguments checked against the tool's full JSON Schema (ajv, draft 2020-12): what a
// wrong call gets back, what a schema that cannot compile gets at load, and that argument values never reach the
// message (they may be personal data).
import { describe, expect, test } from "bun:test";
import { ArgsCheck } from "../../src/tools/args-check.ts";
import { ToolSchemaError } from "../../src/tools/schema-error.ts";

const BASE = "agents[0].tools[1].parameters";

/** An OpenAI strict tool: all required, no extra keys, a nullable union, an enum, a nested array of objects. */
const ORDER = {
  type: "object",
  properties: {
    customer: { type: "string", minLength: 2 },
    when: { type: ["string", "null"], format: "date-time" },
    channel: { type: "string", enum: ["phone", "sms"] },
    items: {
      type: "array",
      minItems: 1,
      items: {
        type: "object",
        properties: { sku: { type: "string" }, qty: { type: "integer", exclusiveMinimum: 0 } },
        required: ["sku", "qty"],
        additionalProperties: false,
      },
    },
  },
  required: ["customer", "when", "channel", "items"],
  additionalProperties: false,
};
const GOOD = { customer: "Wanjiku", when: null, channel: "phone", items: [{ sku: "TEA-0001", qty: 2 }] };

function problems(check: ArgsCheck, args: unknown) {
  const v = check.check(args);
  if (v.ok) throw new Error("arguments passed, but they should not have");
  return v;
}

describe("argument checking", () => {
  const order = ArgsCheck.compile(ORDER, BASE);

  test("arguments that fit pass, null where the union allows it included", () => {
    expect(order.check(GOOD)).toEqual({ ok: true });
    expect(order.check({ ...GOOD, when: "2026-12-03T16:00:00+03:00" })).toEqual({ ok: true });
  });

  test("each kind of mistake is named by its place in the arguments", () => {
    const v = problems(order, { customer: "W", when: "tomorrow", channel: "fax", items: [{ sku: "TEA-0001", qty: 0 }, { qty: 1, colour: "red" }], coupon: "X" });
    expect(v.problems).toEqual([
      { path: "coupon", message: "is not an argument of this tool" },
      { path: "customer", message: "must NOT have fewer than 2 characters" },
      { path: "when", message: 'must match format "date-time"' },
      { path: "channel", message: 'must be one of "phone", "sms"' },
      { path: "items[0].qty", message: "must be > 0" },
      { path: "items[1].sku", message: "is missing" },
      { path: "items[1].colour", message: "is not an argument of this tool" },
    ]);
  });

  test("the model gets a short error result it can act on", () => {
    const v = problems(order, { ...GOOD, items: [] });
    expect(v.result).toEqual({
      status: "error",
      retryable: false,
      message: "invalid arguments: items: must NOT have fewer than 1 items. Correct them and call again.",
    });
    const missing = problems(order, {});
    expect(missing.result.message).toBe(
      "invalid arguments: customer: is missing; when: is missing; channel: is missing; items: is missing. Correct them and call again.",
    );
  });

  test("many mistakes are cut to five and counted; the message stays short", () => {
    const wide = ArgsCheck.compile({ type: "object", additionalProperties: { type: "integer" } }, BASE);
    const args = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`k${i}`, "x".repeat(200)]));
    const v = problems(wide, args);
    expect(v.problems).toHaveLength(12);
    expect(v.result.message).toContain("; and 7 more. Correct them and call again.");
    expect(v.result.message.length).toBeLessThanOrEqual(600);
  });

  test("argument values never appear in the message (they may be personal data)", () => {
    const v = problems(order, { customer: "+254711000123", when: "Jane Doe, 12 Moi Avenue", channel: "0711000123", items: [{ sku: 7, qty: "0711" }] });
    for (const secret of ["254711000123", "Jane Doe", "Moi Avenue", "0711000123", "0711"]) expect(v.result.message).not.toContain(secret);
  });

  test("something that is not an object is refused as a whole", () => {
    expect(problems(order, null).problems).toEqual([{ path: "arguments", message: "must be object" }]);
    expect(problems(order, [GOOD]).problems).toEqual([{ path: "arguments", message: "must be object" }]);
  });

  test("$defs / $ref, recursion and oneOf are checked in full (the json form sends them as they are)", () => {
    const tree = ArgsCheck.compile(
      {
        type: "object",
        properties: {
          root: { $ref: "#/$defs/Node" },
          when: { oneOf: [{ type: "string", format: "date" }, { const: "asap" }] },
        },
        required: ["root"],
        $defs: { Node: { type: "object", properties: { name: { type: "string" }, children: { type: "array", items: { $ref: "#/$defs/Node" } } }, required: ["name"] } },
      },
      BASE,
    );
    expect(tree.check({ root: { name: "a", children: [{ name: "b", children: [{ name: "c" }] }] }, when: "asap" })).toEqual({ ok: true });
    expect(problems(tree, { root: { name: "a", children: [{ children: [] }] } }).problems).toEqual([{ path: "root.children[0].name", message: "is missing" }]);
    expect(problems(tree, { root: { name: "a" }, when: "soon" }).problems.map((p) => p.path)).toContain("when");
  });

  test("formats: JSON Schema's are checked, OpenAPI's int32 has its range, one nobody defines is an annotation", () => {
    const f = ArgsCheck.compile(
      { type: "object", properties: { email: { type: "string", format: "email" }, n: { type: "integer", format: "int32" }, tel: { type: "string", format: "phone-ke" } } },
      BASE,
    );
    expect(f.check({ email: "a@example.com", n: 2147483647, tel: "anything" })).toEqual({ ok: true });
    expect(problems(f, { email: "not-an-email" }).problems).toEqual([{ path: "email", message: 'must match format "email"' }]);
    expect(problems(f, { n: 2147483648 }).problems).toEqual([{ path: "n", message: 'must match format "int32"' }]);
  });

  test("schemas written for Gemini (nullable, propertyOrdering, example) compile and mean what OpenAPI says", () => {
    const g = ArgsCheck.compile(
      { type: "object", properties: { a: { type: "string", nullable: true, example: "x" }, b: { type: "number" } }, propertyOrdering: ["b", "a"] },
      BASE,
    );
    expect(g.check({ a: null, b: 1 })).toEqual({ ok: true });
    expect(problems(g, { a: 1 }).problems).toEqual([{ path: "a", message: "must be string" }]);
  });

  test("two tools may carry the same $id", () => {
    const s = { $id: "https://example.com/args.json", type: "object", properties: { a: { type: "string" } } };
    expect(() => {
      ArgsCheck.compile(s, BASE);
      ArgsCheck.compile({ ...s, properties: { b: { type: "string" } } }, "agents[1].tools[0].parameters");
    }).not.toThrow();
  });
});

describe("a schema that cannot be used is refused at load, naming its place", () => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ["an unknown type name", { type: "object", properties: { a: { type: "strng" } } }, /properties\/a\/type must be equal to one of the allowed values/],
    ["required that is not a list", { type: "object", required: "a" }, /required must be array/],
    ["a typo'd keyword", { type: "object", requried: ["a"] }, /unknown keyword: "requried"/],
    ["a $ref to nothing", { type: "object", properties: { a: { $ref: "#/$defs/Nope" } } }, /can't resolve reference #\/\$defs\/Nope/],
    ["a pattern that is not a regular expression", { type: "object", properties: { a: { type: "string", pattern: "([a-z" } } }, /pattern|regular expression|Invalid/i],
  ];
  test.each(cases)("%s", (_name, schema, why) => {
    try {
      ArgsCheck.compile(schema, BASE);
    } catch (e) {
      expect(e).toBeInstanceOf(ToolSchemaError);
      expect((e as ToolSchemaError).path).toBe(BASE);
      expect((e as ToolSchemaError).message).toStartWith(`${BASE}: not a usable JSON Schema: `);
      expect((e as ToolSchemaError).reason).toMatch(why);
      return;
    }
    throw new Error("compiled, but it should have been refused");
  });
});
