// What a campaign request may say: CSV (parsed by csv-parse: quotes, commas and line breaks in fields, a BOM) and
// JSON; rows that cannot be called reported by row and column, duplicates merged and said so, settings refused
// naming their field.
import { describe, expect, test } from "bun:test";
import type { Agent } from "../../src/call/agent.ts";
import { fromCsv, fromJson } from "../../src/outbound/campaign-input.ts";
import { FieldError } from "../../src/outbound/requests.ts";

const agent: Agent = {
  name: "reminders",
  model: "m",
  voice: "v",
  prompt: "Remind {{name}} of {{time}}.",
  greeting: "",
  tools: [],
  maxCallSeconds: 0,
  idleSeconds: 0,
  outbound: { from: "+254711000100", greetAfterMs: 1500 },
};
const inbound: Agent = { ...agent, name: "desk", outbound: undefined };
const agents = [agent, inbound];
const NOW = Date.UTC(2026, 11, 1, 6);
const Q = { name: "December reminders", agent: "reminders" };

function fieldOf(fn: () => unknown): { field: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof FieldError) return { field: err.field, message: err.message };
    throw err;
  }
  throw new Error("no FieldError");
}

describe("CSV", () => {
  test("a header of to and variables; quoted fields with commas, quotes and line breaks; a BOM; blank lines", () => {
    const csv = '\ufeffto,name,time\n+254712000001,"Wanjiru, Jane",10:30\n\n254712000002,"Otieno ""Jo""",11:00\n+254 712 000 003,"Line\nbreak",12:00\n';
    const i = fromCsv(csv, Q, agents, "Africa/Nairobi", NOW);
    expect(i.refused).toEqual([]);
    expect(i.variables).toEqual(["name", "time"]);
    expect(i.contacts).toEqual([
      { row: 1, to: "+254712000001", variables: { name: "Wanjiru, Jane", time: "10:30" } },
      { row: 2, to: "+254712000002", variables: { name: 'Otieno "Jo"', time: "11:00" } },
      { row: 3, to: "+254712000003", variables: { name: "Line\nbreak", time: "12:00" } },
    ]);
  });

  test("rows that cannot be called are reported by row, line and column; none is dropped silently", () => {
    const csv = "to,name,time\n+254712000001,A,10:00\n0712000002,B,10:00\nnot a number,C,10:00\n+254712000004,,10:00\n+254712000005,E\n+254712000006,F,10:00\n";
    const i = fromCsv(csv, Q, agents, "Africa/Nairobi", NOW);
    expect(i.contacts.map((c) => c.row)).toEqual([1, 6]);
    expect(i.refused).toEqual([
      { row: 2, line: 3, column: "to", error: 'not a phone number in E.164 form, like "+254712345678"' },
      { row: 3, line: 4, column: "to", error: 'not a phone number in E.164 form, like "+254712345678"' },
      { row: 4, line: 5, column: "name", error: "empty: the agent's texts use {{name}}" },
      { row: 5, line: 6, column: "(row)", error: "expected 3 columns, found 2" },
    ]);
  });

  test("the same number twice is one contact at the first row's place; the later row only fills what it lacked", () => {
    const csv = "to,name,time,note\n+254712000001,A,10:00,\n+254712000002,B,11:00,x\n254712000001,Z,12:00,late\n";
    const i = fromCsv(csv, Q, agents, "Africa/Nairobi", NOW);
    expect(i.contacts).toEqual([
      { row: 1, to: "+254712000001", variables: { name: "A", time: "10:00", note: "late" } },
      { row: 2, to: "+254712000002", variables: { name: "B", time: "11:00", note: "x" } },
    ]);
    expect(i.merged).toEqual([{ to: "+254712000001", rows: [1, 3] }]);
  });

  test("the body: no to column, a column that is no variable name, a column twice, not CSV, nothing after the header", () => {
    expect(fieldOf(() => fromCsv("phone,name\n+254712000001,A\n", Q, agents, "UTC", NOW))).toMatchObject({ field: "body", message: expect.stringContaining('"to"') });
    expect(fieldOf(() => fromCsv("to,first name\n+254712000001,A\n", Q, agents, "UTC", NOW)).message).toContain("first name");
    expect(fieldOf(() => fromCsv("to,name,name\n+254712000001,A,B\n", Q, agents, "UTC", NOW)).message).toContain("twice");
    expect(fieldOf(() => fromCsv('to,name\n"+254712000001,A\n', Q, agents, "UTC", NOW)).message).toMatch(/not valid CSV/);
    expect(fieldOf(() => fromCsv("to,name,time\n", Q, agents, "UTC", NOW)).message).toContain("at least one row");
  });

  test("settings from query parameters named like the JSON fields", () => {
    const i = fromCsv("to,name,time\n+254712000001,A,1\n", {
      ...Q,
      maxConcurrent: "3",
      "window.days": "mon,tue,wed",
      "window.from": "08:00",
      "window.to": "17:30",
      "window.timezone": "Africa/Kampala",
      "retry.attempts": "2",
      "retry.backoffS": "600,3600",
      "retry.on": "no_answer,voicemail",
      startAt: "2026-12-01T08:00:00+03:00",
    }, agents, "Africa/Nairobi", NOW);
    expect(i.spec).toEqual({
      name: "December reminders",
      agent: "reminders",
      maxConcurrent: 3,
      window: { days: ["mon", "tue", "wed"], from: "08:00", to: "17:30", timezone: "Africa/Kampala" },
      retry: { attempts: 2, backoffS: [600, 3600], on: ["no_answer", "voicemail"] },
      startAt: Date.parse("2026-12-01T05:00:00Z"),
      endAt: null,
    });
  });
});

describe("JSON", () => {
  const base = { ...Q, contacts: [{ to: "+254712000001", variables: { name: "A", time: "10:00" } }] };

  test("defaults: every day all day in the default time zone, 5 at once, 3 attempts 1800 s apart on no_answer, busy, failed", () => {
    expect(fromJson(base, agents, "Africa/Nairobi", NOW).spec).toMatchObject({
      window: { days: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], from: "00:00", to: "24:00", timezone: "Africa/Nairobi" },
      maxConcurrent: 5,
      retry: { attempts: 3, backoffS: [1800], on: ["no_answer", "busy", "failed"] },
    });
  });

  test("each setting refused names its field", () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ name: "" }, "name"],
      [{ agent: "desk" }, "agent"],
      [{ agent: "ghost" }, "agent"],
      [{ contacts: [] }, "contacts"],
      [{ window: { days: ["monday", "xyz"] } }, "window.days"],
      [{ window: { from: "8am" } }, "window.from"],
      [{ window: { from: "18:00", to: "08:00" } }, "window.to"],
      [{ window: { timezone: "Mars/Olympus" } }, "window.timezone"],
      [{ window: "all day" }, "window"],
      [{ maxConcurrent: 0 }, "maxConcurrent"],
      [{ retry: { attempts: 11 } }, "retry.attempts"],
      [{ retry: { backoffS: [-1] } }, "retry.backoffS"],
      [{ retry: { on: ["completed"] } }, "retry.on"],
      [{ startAt: "tomorrow" }, "startAt"],
      [{ endAt: "2020-01-01T00:00:00Z" }, "endAt"],
    ];
    for (const [over, field] of cases) expect([over, fieldOf(() => fromJson({ ...base, ...over }, agents, "UTC", NOW)).field]).toEqual([over, field]);
  });

  test("a contact's problems name contacts[i] and the variable", () => {
    const i = fromJson({ ...base, contacts: [{ to: "+254712000001", variables: { name: "A" } }, { to: 254, variables: {} }, { to: "+254712000003", variables: { name: ["x"], time: "1" } }] }, agents, "UTC", NOW);
    expect(i.refused).toEqual([
      { row: 1, column: "contacts[0].variables.time", error: "empty: the agent's texts use {{time}}" },
      { row: 2, column: "contacts[1].to", error: 'not a phone number in E.164 form, like "+254712345678"' },
      { row: 3, column: "contacts[2].variables.name", error: "expected text (or a number)" },
    ]);
  });
});
