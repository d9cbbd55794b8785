// The agents file: YAML and JSON, ${VAR} expansion, promptFile, defaults from the settings, every kind of mistake
// named by its place in the file, and routing by dialed number. Real files in a temp directory.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AgentsFileError, loadAgentsFile, type LoadOptions } from "../../src/agents/load.ts";
import { toE164 } from "../../src/phone-numbers.ts";
import { NumberRouter } from "../../src/agents/router.ts";
import { geminiAgentCheck } from "../../src/gemini/agent-plan.ts";
import { HttpTool } from "../../src/tools/http-tool.ts";

const dir = mkdtempSync(join(tmpdir(), "agents-load-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let seq = 0;
function file(name: string, text: string): string {
  const sub = join(dir, String(++seq));
  mkdirSync(sub);
  const p = join(sub, name);
  writeFileSync(p, text);
  return p;
}

const opts = (env: Record<string, string> = {}): LoadOptions => ({
  env,
  defaults: { model: "gemini-3.8-live", voice: "Kore", greeting: "Say hello.", maxCallSeconds: 900 },
  toolSigningSecret: undefined,
});

/** The problems of a file that must not load. */
function problems(p: string, env: Record<string, string> = {}): string[] {
  try {
    loadAgentsFile(p, opts(env));
  } catch (err) {
    expect(err).toBeInstanceOf(AgentsFileError);
    expect((err as AgentsFileError).file).toBe(p);
    return (err as AgentsFileError).problems;
  }
  throw new Error(`${p} loaded, but it should not have`);
}

const ISSUE_EXAMPLE = `
agents:
  - name: support
    numbers: ["+254711000000"]
    model: gemini-3.8-live
    voice: Kore
    promptFile: prompts/support.md
    greeting: "Greet the caller and ask for their order number."
    maxCallSeconds: 900
    idleSeconds: 30
    tools:
      - builtin: end_call
      - name: lookup_order
        description: "Look up an order's status by its number."
        parameters: { type: object, properties: { order: { type: string } }, required: [order] }
        url: https://api.duka.example/voice/lookup-order
        headers: { Authorization: "Bearer \${DUKA_TOKEN}" }
        timeoutMs: 4000
  - name: reception
    prompt: "You are the receptionist."
`;

describe("loading", () => {
  test("the issue's YAML example: promptFile relative to the file, ${VAR} resolved, defaults filled in", () => {
    const p = file("agents.yaml", ISSUE_EXAMPLE);
    mkdirSync(join(p, "..", "prompts"));
    writeFileSync(join(p, "..", "prompts", "support.md"), "You answer for Duka Ltd.\n");
    const loaded = loadAgentsFile(p, opts({ DUKA_TOKEN: "tok-123" }));
    expect(loaded.map((l) => l.agent.name)).toEqual(["support", "reception"]);
    const [support, reception] = loaded;
    expect(support!.numbers).toEqual(["+254711000000"]);
    expect(support!.agent).toMatchObject({ model: "gemini-3.8-live", voice: "Kore", prompt: "You answer for Duka Ltd.", maxCallSeconds: 900, idleSeconds: 30 });
    expect(support!.agent.greeting).toBe("Greet the caller and ask for their order number.");
    expect(support!.agent.tools.map((t) => t.declaration.name)).toEqual(["end_call", "lookup_order"]);
    const lookup = support!.agent.tools[1]!;
    expect(lookup).toBeInstanceOf(HttpTool);
    expect(lookup.timeoutMs).toBe(4000);
    expect(lookup.declaration.parameters).toEqual({ type: "object", properties: { order: { type: "string" } }, required: ["order"] });
    expect((lookup as unknown as { spec: { headers: Record<string, string> } }).spec.headers).toEqual({ Authorization: "Bearer tok-123" });
    // The default agent: no numbers; everything it does not say comes from the settings.
    expect(reception!.numbers).toBeNull();
    expect(reception!.agent).toMatchObject({ model: "gemini-3.8-live", voice: "Kore", greeting: "Say hello.", maxCallSeconds: 900, idleSeconds: 0, tools: [] });
  });

  test("JSON by extension; an empty greeting stays empty (the caller speaks first); timeoutMs defaults to 5000", () => {
    const p = file(
      "agents.json",
      JSON.stringify({
        agents: [
          {
            name: "a",
            prompt: "P",
            greeting: "",
            model: "gemini-2.5-flash-native-audio-preview-12-2025",
            tools: [{ name: "t", description: "d", url: "http://127.0.0.1:1/x" }],
          },
        ],
      }),
    );
    const [a] = loadAgentsFile(p, opts());
    expect(a!.agent.greeting).toBe("");
    expect(a!.agent.model).toBe("gemini-2.5-flash-native-audio-preview-12-2025");
    expect(a!.agent.tools[0]!.timeoutMs).toBe(5000);
  });

  test("$${ is a literal ${", () => {
    const p = file("a.yaml", 'agents:\n  - name: a\n    prompt: "Prices look like $${amount}."\n');
    expect(loadAgentsFile(p, opts())[0]!.agent.prompt).toBe("Prices look like ${amount}.");
  });

  test("the README's complete example is the one in examples/, and it loads", async () => {
    const readme = await Bun.file(new URL("../../README.md", import.meta.url).pathname).text();
    const block = /### A complete example[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    const example = await Bun.file(new URL("../../examples/agents.yaml", import.meta.url).pathname).text();
    expect(Bun.YAML.parse(block!)).toEqual(Bun.YAML.parse(example));
    const [orders] = loadAgentsFile(file("readme.yaml", block!), opts({ DUKA_TOKEN: "dev-token" }));
    expect(orders!.agent.name).toBe("orders");
  });

  test("the Swahili example in examples/ loads with turn-taking, language, a non-blocking tool and search", () => {
    const p = new URL("../../examples/duka-sw.yaml", import.meta.url).pathname;
    const [duka] = loadAgentsFile(p, { ...opts({ DUKA_TOKEN: "dev-token" }), check: geminiAgentCheck({ toolSchema: "openapi", tuning: {} }, undefined) });
    expect(duka!.agent).toMatchObject({ languages: ["sw", "en"], webSearch: true, turnTaking: { startSensitivity: "low", endSensitivity: "low", silenceDurationMs: 800 } });
    expect(duka!.agent.tools.find((t) => t.declaration.name === "lookup_order")!.declaration).toMatchObject({ behavior: "non_blocking", scheduling: "when_idle" });
  });

  test("the example in examples/ loads", () => {
    const p = new URL("../../examples/agents.yaml", import.meta.url).pathname;
    const [orders] = loadAgentsFile(p, opts({ DUKA_TOKEN: "dev-token" }));
    expect(orders!.agent.tools.map((t) => t.declaration.name)).toEqual(["end_call", "lookup_order"]);
    expect(orders!.numbers).toBeNull();
  });
});

describe("mistakes name the file, the place and what was expected", () => {
  const cases: Array<[string, string, RegExp]> = [
    [
      "a bad tool url",
      "agents:\n  - name: a\n    prompt: p\n  - name: b\n    numbers: ['+254711000001']\n    prompt: p\n    tools:\n      - name: t\n        description: d\n        url: ftp://x.example/\n",
      /^agents\[1\]\.tools\[0\]\.url: expected an absolute http\(s\) URL$/,
    ],
    ["a misspelt field", "agents:\n  - name: a\n    prompt: p\n    numbrs: ['+254711000001']\n", /^agents\[0\]\.numbrs: unknown field/],
    ["a missing name", "agents:\n  - prompt: p\n", /^agents\[0\]\.name: missing \(expected string\)$/],
    ["no prompt", "agents:\n  - name: a\n", /^agents\[0\]\.prompt: expected exactly one of `prompt` or `promptFile`$/],
    ["an unknown builtin", "agents:\n  - name: a\n    prompt: p\n    tools:\n      - builtin: hang_up\n", /^agents\[0\]\.tools\[0\]\.builtin: expected "builtin: end_call", "builtin: voicemail", "builtin: opt_out", "builtin: google_search", "builtin: handoff" or an HTTP tool/],
    ["a national number", "agents:\n  - name: a\n    prompt: p\n    numbers: ['0711000000']\n", /^agents\[0\]\.numbers\[0\]: expected a phone number in E\.164 form/],
    [
      "two default agents",
      "agents:\n  - name: a\n    prompt: p\n  - name: b\n    prompt: p\n",
      /^agents\[1\]\.numbers: expected only one agent without numbers \(agents\[0\] is already the default\)$/,
    ],
    [
      "one number on two agents, written differently",
      "agents:\n  - name: a\n    prompt: p\n    numbers: ['+254711000000']\n  - name: b\n    prompt: p\n    numbers: ['+254 711 000 000']\n",
      /^agents\[1\]\.numbers\[0\]: expected a number routed to one agent only \(agents\[0\] has it too\)$/,
    ],
    ["a duplicate agent name", "agents:\n  - name: a\n    prompt: p\n    numbers: ['+254711000001']\n  - name: a\n    prompt: p\n", /^agents\[1\]\.name: expected a unique name/],
    [
      "a duplicate tool name",
      "agents:\n  - name: a\n    prompt: p\n    tools:\n      - builtin: end_call\n      - name: end_call\n        description: d\n        url: http://x.example/\n",
      /^agents\[0\]\.tools\[1\]: expected a tool name not used twice/,
    ],
    ["a negative idleSeconds", "agents:\n  - name: a\n    prompt: p\n    idleSeconds: -5\n", /^agents\[0\]\.idleSeconds: /],
    [
      "a tool timeout out of range",
      "agents:\n  - name: a\n    prompt: p\n    tools:\n      - name: t\n        description: d\n        url: http://x.example/\n        timeoutMs: 0\n",
      /^agents\[0\]\.tools\[0\]\.timeoutMs: /,
    ],
    ["no agents", "agents: []\n", /^agents: expected at least one agent$/],
    ["not a mapping", "- just a list\n", /^\(top level\): /],
  ];
  for (const [what, yaml, re] of cases) {
    test(what, () => {
      const ps = problems(file("agents.yaml", yaml));
      expect(ps.some((p) => re.test(p))).toBe(true);
    });
  }

  test("an unknown ${VAR} names the variable and where it is used; the message carries no other value", () => {
    const yaml = "agents:\n  - name: a\n    prompt: p\n    tools:\n      - name: t\n        description: d\n        url: http://x.example/\n        headers: { Authorization: 'Bearer ${NOPE_TOKEN}', X-Key: '${SET_ONE}' }\n";
    const ps = problems(file("agents.yaml", yaml), { SET_ONE: "s3cret-value" });
    expect(ps).toEqual([
      "agents[0].tools[0].headers.Authorization: unknown environment variable NOPE_TOKEN (set it, or write $${ for a literal ${)",
    ]);
    expect(ps.join(" ")).not.toContain("s3cret-value");
  });

  test("a promptFile that does not exist", () => {
    const ps = problems(file("agents.yaml", "agents:\n  - name: a\n    promptFile: nowhere.md\n"));
    expect(ps[0]).toStartWith("agents[0].promptFile: expected a readable, non-empty text file");
  });

  test("YAML that does not parse, a wrong extension, a missing file", () => {
    expect(problems(file("agents.yaml", "agents: [1,\n b: }"))[0]).toStartWith("not valid YAML");
    // The place of the mistake: line and column (1-based), and what is wrong there.
    const tab = problems(file("agents.yaml", "agents:\n  - name: a\n\tprompt: x\n"));
    expect(tab).toEqual([expect.stringMatching(/^not valid YAML at line 3, column 1: .*[Tt]ab/)]);
    const dash = problems(file("agents.yaml", 'agents:\n  - name: a\n    numbers: ["+1"]\n  - name: b\n   prompt: x\n'));
    expect(dash[0]).toStartWith("not valid YAML at line 5, column 1: ");
    expect(problems(file("agents.json", "{ agents: "))[0]).toStartWith("not valid JSON");
    expect(problems(file("agents.toml", "x = 1"))[0]).toContain("expected a .yaml, .yml or .json file");
    expect(problems(join(dir, "missing.yaml"))[0]).toContain("expected a readable file (ENOENT)");
  });
});

describe("routing", () => {
  test("dialed numbers are normalised to E.164", () => {
    expect(toE164("+254 711-000 000")).toBe("+254711000000");
    expect(toE164("00254711000000")).toBe("+254711000000");
    expect(toE164("254711000000")).toBe("+254711000000");
    expect(toE164("tel:+254711000000")).toBe("+254711000000");
    expect(toE164("0711000000")).toBeUndefined();
    expect(toE164("")).toBeUndefined();
  });

  test("exact number → its agent; anything else → the default; no default → nobody", () => {
    const p = file("agents.yaml", "agents:\n  - name: a\n    prompt: p\n    numbers: ['+254711000000']\n  - name: b\n    prompt: p\n    numbers: ['+254722000000']\n  - name: d\n    prompt: p\n");
    const r = new NumberRouter(loadAgentsFile(p, opts()));
    expect(r.route("254711000000")?.name).toBe("a");
    expect(r.route("+254 722 000 000")?.name).toBe("b");
    expect(r.route("+254733000000")?.name).toBe("d");
    expect(r.route("")?.name).toBe("d");
    const q = file("agents.yaml", "agents:\n  - name: a\n    prompt: p\n    numbers: ['+254711000000']\n");
    const noDefault = new NumberRouter(loadAgentsFile(q, opts()));
    expect(noDefault.route("+254711000000")?.name).toBe("a");
    expect(noDefault.route("+254733000000")).toBeUndefined();
  });
});

describe("turn-taking, language, temperature, tool behaviour and search", () => {
  const FULL = `
agents:
  - name: kiosk
    prompt: p
    turnTaking: { startSensitivity: low, endSensitivity: high, prefixPaddingMs: 40, silenceDurationMs: 900 }
    language: [sw-ke, EN-KE]
    temperature: 0.6
    tools:
      - builtin: google_search
      - name: slow_lookup
        description: d
        url: http://127.0.0.1:1/x
        behavior: non_blocking
      - name: quiet_log
        description: d
        url: http://127.0.0.1:1/y
        behavior: non_blocking
        scheduling: silent
      - name: pay
        description: d
        url: http://127.0.0.1:1/z
        behavior: blocking
  - name: plain
    prompt: p
    numbers: ['+254711000000']
    language: sw
    turnTaking: { silenceDurationMs: 1200 }
`;

  test("read, canonicalised, and merged field by field with the settings' defaults", () => {
    const p = file("agents.yaml", FULL);
    const [kiosk, plain] = loadAgentsFile(p, {
      ...opts(),
      defaults: { ...opts().defaults, turnTaking: { startSensitivity: "high", endSensitivity: "low" }, languages: ["en"], temperature: 1.1 },
    });
    expect(kiosk!.agent).toMatchObject({
      turnTaking: { startSensitivity: "low", endSensitivity: "high", prefixPaddingMs: 40, silenceDurationMs: 900 },
      languages: ["sw-KE", "en-KE"],
      temperature: 0.6,
      webSearch: true,
    });
    // google_search is the provider's: not a tool the relay runs.
    expect(kiosk!.agent.tools.map((t) => t.declaration.name)).toEqual(["slow_lookup", "quiet_log", "pay"]);
    expect(kiosk!.agent.tools.map((t) => [t.declaration.behavior, t.declaration.scheduling])).toEqual([
      ["non_blocking", "when_idle"],
      ["non_blocking", "silent"],
      ["blocking", undefined],
    ]);
    expect(kiosk!.agent.tools[0]!.declaration.origin).toBe("agents[0].tools[1]");
    expect(plain!.agent).toMatchObject({
      turnTaking: { startSensitivity: "high", endSensitivity: "low", silenceDurationMs: 1200 },
      languages: ["sw"],
      temperature: 1.1,
      webSearch: false,
    });
  });

  const mistakes: Array<[string, string, RegExp]> = [
    ["a sensitivity that is not low or high", "agents:\n  - name: a\n    prompt: p\n    turnTaking: { startSensitivity: medium }\n", /^agents\[0\]\.turnTaking\.startSensitivity: expected "low" or "high"$/],
    ["silence out of range", "agents:\n  - name: a\n    prompt: p\n    turnTaking: { silenceDurationMs: 20000 }\n", /^agents\[0\]\.turnTaking\.silenceDurationMs: /],
    ["an unknown turnTaking field", "agents:\n  - name: a\n    prompt: p\n    turnTaking: { silenceMs: 500 }\n", /^agents\[0\]\.turnTaking\.silenceMs: unknown field/],
    ["a language that is not BCP-47", "agents:\n  - name: a\n    prompt: p\n    language: en_US\n", /^agents\[0\]\.language: /],
    ["a bad language in a list", "agents:\n  - name: a\n    prompt: p\n    language: [sw, 'not a tag']\n", /^agents\[0\]\.language/],
    ["temperature out of range", "agents:\n  - name: a\n    prompt: p\n    temperature: 3\n", /^agents\[0\]\.temperature: /],
    [
      "scheduling on a tool that is not non_blocking",
      "agents:\n  - name: a\n    prompt: p\n    tools:\n      - name: t\n        description: d\n        url: http://x.example/\n        scheduling: silent\n",
      /^agents\[0\]\.tools\[0\]\.scheduling: expected only with `behavior: non_blocking`/,
    ],
    [
      "a behavior that is not blocking or non_blocking",
      "agents:\n  - name: a\n    prompt: p\n    tools:\n      - name: t\n        description: d\n        url: http://x.example/\n        behavior: async\n",
      /^agents\[0\]\.tools\[0\]\.behavior: expected "blocking" or "non_blocking"$/,
    ],
    [
      "parameters typed OBJECT (Gemini's spelling, not JSON Schema's)",
      "agents:\n  - name: a\n    prompt: p\n    tools:\n      - name: t\n        description: d\n        url: http://x.example/\n        parameters: { type: OBJECT, properties: { q: { type: STRING } } }\n",
      /^agents\[0\]\.tools\[0\]\.parameters\.type: expected "object" \(JSON Schema type names are lower case/,
    ],
    [
      "a parameters schema ajv cannot compile",
      "agents:\n  - name: a\n    prompt: p\n    tools:\n      - name: t\n        description: d\n        url: http://x.example/\n        parameters: { type: object, properties: { q: { type: string, minLength: -1 } } }\n",
      /^agents\[0\]\.tools\[0\]\.parameters: not a usable JSON Schema/,
    ],
    ["google_search with a field", "agents:\n  - name: a\n    prompt: p\n    tools:\n      - builtin: google_search\n        description: x\n", /^agents\[0\]\.tools\[0\]\.description: unknown field/],
  ];
  for (const [what, yaml, re] of mistakes) {
    test(what, () => {
      const ps = problems(file("agents.yaml", yaml));
      expect(ps.some((p) => re.test(p))).toBe(true);
    });
  }

  test("the model provider's check refuses what it cannot send, naming the place (a ToolSchemaError becomes a file problem)", () => {
    const yaml =
      "agents:\n  - name: a\n    prompt: p\n  - name: b\n    numbers: ['+254711000001']\n    prompt: p\n    tools:\n      - builtin: end_call\n      - name: book\n        description: d\n        url: http://x.example/\n" +
      "        parameters:\n          type: object\n          properties:\n            when: { oneOf: [{ type: string }, { type: integer }], type: string }\n";
    const p = file("agents.yaml", yaml);
    try {
      loadAgentsFile(p, { ...opts(), check: geminiAgentCheck({ toolSchema: "openapi", tuning: {} }, undefined) });
      throw new Error("loaded");
    } catch (err) {
      expect(err).toBeInstanceOf(AgentsFileError);
      expect((err as AgentsFileError).problems).toEqual([
        "agents[1].tools[1].parameters.properties.when.type: beside oneOf: the subset takes either a type or anyOf at one level (move it into the branches)",
      ]);
    }
    // The json form sends the schema as it is: the same file loads.
    expect(loadAgentsFile(p, { ...opts(), check: geminiAgentCheck({ toolSchema: "json", tuning: {} }, undefined) })).toHaveLength(2);
  });
});

describe("outbound agents and call variables", () => {
  const OUT = `agents:
  - name: desk
    prompt: "Caller {{caller}} on {{ date }} at {{time}}."
  - name: reminders
    outbound: { from: "254 711 000 100" }
    prompt: "Remind {{name}} of {{time}}."
    greeting: "Hello {{name}}."
    voicemail: { action: leave_message, message: "Hi {{name}}, call us back." }
    tools: [{ builtin: opt_out, description: "Stop calling them." }]
`;

  test("an agent with outbound and no numbers places calls only: not the default, no numbers routed; it gets voicemail and opt_out", () => {
    const list = loadAgentsFile(file("agents.yaml", OUT), opts());
    const r = new NumberRouter(list);
    expect(r.route("+254733000000")?.name).toBe("desk");
    const rem = list.find((e) => e.agent.name === "reminders")!;
    expect(rem.numbers).toEqual([]);
    expect(rem.agent.outbound).toEqual({ from: "+254711000100", greetAfterMs: 1500 });
    expect(rem.agent.voicemail).toEqual({ action: "leave_message", message: "Hi {{name}}, call us back." });
    const tools = rem.agent.tools.map((t) => [t.declaration.name, t.declaration.description]);
    expect(tools).toEqual([
      ["opt_out", "Stop calling them."],
      ["voicemail", expect.stringContaining("answering machine")],
    ]);
    expect(list.find((e) => e.agent.name === "desk")!.agent.tools).toEqual([]);
  });

  test("{{x}} no call could fill is refused at load, naming the field and what calls supply; an outbound agent's are not", () => {
    const ps = problems(file("agents.yaml", "agents:\n  - name: a\n    prompt: 'Hi {{name}}, it is {{time}}'\n    greeting: '{{when}} {{caller}}'\n"));
    expect(ps).toEqual([
      "agents[0].prompt: {{name}} can never be filled: this agent places no outbound calls (no `outbound`), and inbound calls supply only caller, callee, date, time",
      "agents[0].greeting: {{when}} can never be filled: this agent places no outbound calls (no `outbound`), and inbound calls supply only caller, callee, date, time",
    ]);
  });

  test("voicemail without outbound, leave_message without a message, a bad greetAfterMs are refused", () => {
    expect(problems(file("agents.yaml", "agents:\n  - name: a\n    prompt: p\n    voicemail: { action: hangup }\n"))).toEqual([
      "agents[0].voicemail: expected `outbound` too (only calls the relay places meet answering machines)",
    ]);
    expect(problems(file("agents.yaml", "agents:\n  - name: a\n    prompt: p\n    outbound: { from: '+254711000100' }\n    voicemail: { action: leave_message }\n"))).toEqual([
      "agents[0].voicemail.message: expected the message to leave (action leave_message)",
    ]);
    expect(problems(file("agents.yaml", "agents:\n  - name: a\n    prompt: p\n    outbound: { from: '0711000100', greetAfterMs: -1 }\n")).map((p) => p.split(":")[0])).toEqual([
      "agents[0].outbound.from",
      "agents[0].outbound.greetAfterMs",
    ]);
  });
});
