// The agents file's `analysis` and `handoff` blocks: what they load into, the handoff tool they bring, and every
// mistake named by its place in the file (a data schema that does not compile, or that Google's subset cannot
// state when ANALYSIS_SCHEMA=openapi; a handoff without a signing secret, a live handoff without Sautikit's API).
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AgentsFileError, loadAgentsFile, type LoadOptions } from "../../src/agents/load.ts";

const dir = mkdtempSync(join(tmpdir(), "agents-after-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let seq = 0;
function file(text: string): string {
  const p = join(dir, `${++seq}.yaml`);
  writeFileSync(p, text);
  return p;
}

const opts = (o: Partial<LoadOptions> = {}): LoadOptions => ({
  env: {},
  defaults: { model: "gemini-3.8-live", voice: "Kore", greeting: "", maxCallSeconds: 900 },
  toolSigningSecret: undefined,
  handoffSigning: true,
  sautikitApi: true,
  analysisSchemaForm: "json",
  ...o,
});

function problems(text: string, o: Partial<LoadOptions> = {}): string[] {
  try {
    loadAgentsFile(file(text), opts(o));
  } catch (err) {
    expect(err).toBeInstanceOf(AgentsFileError);
    return (err as AgentsFileError).problems;
  }
  throw new Error("loaded, but it should not have");
}

const README_AGENT = `
agents:
  - name: reminders
    prompt: "You call patients to confirm tomorrow's appointment."
    tools:
      - builtin: end_call
    analysis:
      summary: true
      success: "Did the caller confirm the appointment?"
      data:
        type: object
        properties:
          confirmed: { type: boolean }
          new_time: { type: string, description: "The new time if the caller asked to move it" }
        required: [confirmed]
    handoff:
      notify:
        url: https://ops.example.com/hooks/handoff
        headers: { Authorization: "Bearer tok" }
      say: "a colleague will call them back within the hour"
      live: { number: "+254 711 000 999", after: end }
`;

describe("loading", () => {
  test("the README's agent: analysis as written, handoff with its tool added after the listed ones", () => {
    const [r] = loadAgentsFile(file(README_AGENT), opts());
    const a = r!.agent;
    expect(a.analysis).toEqual({
      summary: true,
      success: "Did the caller confirm the appointment?",
      data: { type: "object", properties: { confirmed: { type: "boolean" }, new_time: { type: "string", description: "The new time if the caller asked to move it" } }, required: ["confirmed"] },
      model: undefined,
    });
    expect(a.handoff).toEqual({
      notify: { url: "https://ops.example.com/hooks/handoff", headers: { Authorization: "Bearer tok" } },
      say: "a colleague will call them back within the hour",
      live: { number: "+254711000999", after: "end" },
      timeoutMs: 8000,
    });
    expect(a.tools.map((t) => t.declaration.name)).toEqual(["end_call", "handoff"]);
    const handoff = a.tools[1]!;
    expect(handoff.timeoutMs).toBe(8000);
    expect(handoff.declaration.parameters).toMatchObject({ required: ["reason", "summary"] });
  });

  test("defaults: summary on, notify only, the agent resumes after a person; `builtin: handoff` only changes the description", () => {
    const [r] = loadAgentsFile(
      file(`
agents:
  - name: a
    prompt: p
    tools:
      - builtin: handoff
        description: "Pass the caller to the duty nurse."
    analysis: { success: "Was the caller helped?" }
    handoff:
      notify: { url: "http://127.0.0.1:9/h" }
      live: { number: "+254711000999" }
      timeoutMs: 5000
`),
      opts(),
    );
    expect(r!.agent.analysis).toMatchObject({ summary: true, success: "Was the caller helped?", data: undefined });
    expect(r!.agent.handoff).toMatchObject({ notify: { headers: {} }, say: undefined, live: { after: "resume" }, timeoutMs: 5000 });
    expect(r!.agent.tools.map((t) => [t.declaration.name, t.declaration.description, t.timeoutMs])).toEqual([["handoff", "Pass the caller to the duty nurse.", 5000]]);
  });

  test("the README's agent with analysis and handoff loads as it says", async () => {
    const readme = await Bun.file(new URL("../../README.md", import.meta.url).pathname).text();
    const block = /## What came of the call[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    const [r] = loadAgentsFile(file(block!), opts({ env: { OPS_TOKEN: "t" } }));
    expect(r!.agent.analysis).toMatchObject({ summary: true, success: "Did the caller confirm the appointment?", data: { required: ["confirmed"] } });
    expect(r!.agent.handoff).toMatchObject({ notify: { headers: { Authorization: "Bearer t" } }, live: { number: "+254711000999", after: "resume" } });
    expect(r!.agent.tools.map((t) => t.declaration.name)).toEqual(["end_call", "handoff"]);
  });

  test("an agent without the blocks has neither (and no handoff tool)", () => {
    const [r] = loadAgentsFile(file("agents:\n  - name: a\n    prompt: p\n"), opts());
    expect(r!.agent.analysis).toBeUndefined();
    expect(r!.agent.handoff).toBeUndefined();
    expect(r!.agent.tools).toEqual([]);
  });
});

describe("mistakes", () => {
  const agent = (block: string) => `agents:\n  - name: a\n    prompt: p\n${block}`;
  test("an analysis that asks for nothing", () => {
    expect(problems(agent("    analysis: { summary: false }\n"))).toEqual(["agents[0].analysis: expected at least one of summary: true, success or data"]);
  });
  test("a data schema that is not an object, or does not compile", () => {
    expect(problems(agent("    analysis:\n      data: { type: string }\n"))[0]).toStartWith("agents[0].analysis.data.type: expected \"object\"");
    expect(problems(agent("    analysis:\n      data: { type: object, properties: { n: { type: strin } } }\n"))[0]).toStartWith("agents[0].analysis.data: not a usable JSON Schema");
  });
  test("with ANALYSIS_SCHEMA=openapi, a data schema Google's subset cannot state is refused where it is", () => {
    const yaml = agent("    analysis:\n      data:\n        type: object\n        properties:\n          items: { type: object, patternProperties: { '^x': { type: string } } }\n");
    expect(problems(yaml, { analysisSchemaForm: "openapi" })[0]).toStartWith("agents[0].analysis.data.properties.items");
    expect(() => loadAgentsFile(file(yaml), opts())).not.toThrow(); // the json form takes it
  });
  test("a handoff with no secret to sign its events; a live handoff without SAUTIKIT_API_KEY", () => {
    const yaml = agent("    handoff:\n      notify: { url: 'https://x.example/h' }\n      live: { number: '+254711000999' }\n");
    expect(problems(yaml, { handoffSigning: false, sautikitApi: false })).toEqual([
      "agents[0].handoff: needs a secret to sign its events: set HANDOFF_WEBHOOK_SECRET (or CALL_WEBHOOK_SECRET)",
      "agents[0].handoff.live: needs SAUTIKIT_API_KEY (a person is brought on the line through Sautikit's API)",
    ]);
  });
  test("`builtin: handoff` without a handoff block; an HTTP tool named handoff beside one; a bad number; a bad `after`", () => {
    expect(problems(agent("    tools:\n      - builtin: handoff\n"))).toEqual(["agents[0].tools[0]: expected a `handoff` block on this agent (where the handoff goes)"]);
    expect(
      problems(agent("    tools:\n      - { name: handoff, description: d, url: 'https://x.example/t' }\n    handoff:\n      notify: { url: 'https://x.example/h' }\n")),
    ).toEqual(["agents[0].tools[0].name: expected another name: `handoff` is the built-in tool this agent's `handoff` block gives it"]);
    expect(problems(agent("    handoff:\n      notify: { url: 'https://x.example/h' }\n      live: { number: '0711000999' }\n"))[0]).toStartWith("agents[0].handoff.live.number: expected a phone number in E.164 form");
    expect(problems(agent("    handoff:\n      notify: { url: 'https://x.example/h' }\n      live: { number: '+254711000999', after: hangup }\n"))[0]).toStartWith("agents[0].handoff.live.after: expected \"resume\"");
    expect(problems(agent("    handoff:\n      notify: { url: 'ftp://x.example/h' }\n"))[0]).toStartWith("agents[0].handoff.notify.url: expected an absolute http(s) URL");
  });
});
