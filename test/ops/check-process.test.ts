// `sauti-relay check` as a real process (`bun src/main.ts check`, what `bun run check` runs): a valid setup prints
// every agent with its numbers, settings, tools and the setup message Gemini would get, secrets masked, exit 0;
// a bad setting or agents file exits 2 naming the setting or the place; nothing is started either way.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = new URL("../..", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "sauti-check-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

async function check(env: Record<string, string>, args = ["src/main.ts", "check"]): Promise<{ code: number; out: string; err: string }> {
  const p = Bun.spawn(["bun", "--no-env-file", ...args], {
    cwd: root,
    // Only what the test gives: no .env in the checkout, no inherited settings.
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out, err };
}

const AGENTS = `agents:
  - name: duka
    numbers: ["+254711000000", "+254711000001"]
    model: gemini-3.8-live
    voice: Puck
    prompt: "You answer for Duka Ltd."
    turnTaking: { startSensitivity: low, silenceDurationMs: 900 }
    language: [sw, en]
    temperature: 0.5
    maxCallSeconds: 300
    tools:
      - builtin: end_call
      - builtin: google_search
      - name: lookup_order
        description: "Look an order up."
        parameters:
          type: object
          properties: { order: { type: string } }
          required: [order]
          additionalProperties: false
        url: "https://svc-user:svc-pass-77@tools.duka.example/lookup?key=qk-secret-55"
        headers: { Authorization: "Bearer \${DUKA_TOKEN}" }
        behavior: non_blocking
        scheduling: silent
  - name: old
    model: gemini-2.5-flash-native-audio-preview-12-2025
    prompt: "Reception."
`;

describe("sauti-relay check", () => {
  test("valid: every agent with its numbers, settings, tools and setup message; secrets masked; exit 0", async () => {
    const r = await check({
      AGENTS_FILE: file("agents.yaml", AGENTS),
      DUKA_TOKEN: "tok-very-secret-123",
      GEMINI_API_KEY: "AIza-key-not-to-print-9",
      SAUTIKIT_WEBHOOK_SECRET: "webhook-secret-not-to-print",
      TOOL_SIGNING_SECRET: "signing-secret-not-to-print",
      GEMINI_PROACTIVE_AUDIO: "true",
    });
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const o = r.out;
    expect(o).toStartWith("sauti-relay check: the settings and the agents are valid.\n");
    expect(o).toContain("(GEMINI_API_KEY set)");
    expect(o).toContain("agent duka\n  numbers: +254711000000, +254711000001\n  model: gemini-3.8-live (3.8), voice Puck\n");
    expect(o).toContain("  turn-taking: startSensitivity low, silenceDurationMs 900\n  language: sw, en\n  temperature: 0.5\n");
    expect(o).toContain("    lookup_order: POST https://****:****@tools.duka.example/lookup?key=****, timeout 5000 ms, headers Authorization: ****, signed, non_blocking (results silent)\n");
    expect(o).toContain("    google_search: built in, run by Google (search grounding)\n");
    expect(o).toContain("    agents[0].tools[2].parameters.additionalProperties\n");
    expect(o).toContain("    GEMINI_PROACTIVE_AUDIO (2.5 native audio only; 3.8 does not take it)\n");
    expect(o).toContain("agent old\n  numbers: every number no other agent has (the default agent)\n  model: gemini-2.5-flash-native-audio-preview-12-2025 (2.5, on the v1alpha endpoint)");
    // The setup messages, as JSON: duka's tools in the openapi form with behavior, search, VAD, language hints.
    const setups = [...o.matchAll(/  setup message:\n((?:    .*\n)+)/g)].map((m) => JSON.parse(m[1]!.replace(/^ {4}/gm, "")) as { setup: Record<string, any> });
    expect(setups).toHaveLength(2);
    const duka = setups[0]!.setup;
    expect(duka.tools[0].functionDeclarations[1]).toMatchObject({ name: "lookup_order", behavior: "NON_BLOCKING", parameters: { type: "OBJECT" } });
    expect(duka.tools[1]).toEqual({ googleSearch: {} });
    expect(duka.realtimeInputConfig.automaticActivityDetection).toEqual({ startOfSpeechSensitivity: "START_SENSITIVITY_LOW", silenceDurationMs: 900 });
    expect(duka.inputAudioTranscription).toEqual({ languageCodes: ["sw", "en"] });
    expect(setups[1]!.setup.proactivity).toEqual({ proactiveAudio: true });
    for (const secret of ["tok-very-secret-123", "AIza-key-not-to-print-9", "webhook-secret-not-to-print", "signing-secret-not-to-print", "svc-pass-77", "qk-secret-55", "svc-user"]) expect(o).not.toContain(secret);
  });

  test("a real key without a webhook secret: exit 2, as the relay itself would refuse to start", async () => {
    const r = await check({ GEMINI_API_KEY: "AIza-key-not-to-print-9" });
    expect(r.code).toBe(2);
    expect(r.err).toContain("SAUTIKIT_WEBHOOK_SECRET");
    expect(r.err).toContain("ALLOW_UNSIGNED_WEBHOOKS");
  });

  test("without an agents file: the default agent from the settings", async () => {
    const r = await check({ AGENT_LANGUAGE: "sw-KE", GEMINI_END_SENSITIVITY: "low" });
    expect(r.code).toBe(0);
    expect(r.out).toContain("offline mode (GEMINI_API_KEY is not set: a local echo model)");
    expect(r.out).toContain("agent default\n  numbers: every number no other agent has (the default agent)\n");
    expect(r.out).toContain("  turn-taking: endSensitivity low\n  language: sw-KE\n");
  });

  test("a bad setting: exit 2 naming it", async () => {
    const r = await check({ GEMINI_TOOL_SCHEMA: "yaml" });
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
    expect(r.err).toBe('sauti-relay check: invalid GEMINI_TOOL_SCHEMA="yaml": expected one of openapi, json\n');
  });

  test("an agents file the openapi form cannot carry: exit 2 naming the place; the json form takes it", async () => {
    const yaml = `agents:
  - name: a
    prompt: p
    tools:
      - name: at
        description: d
        url: http://127.0.0.1:1/
        parameters: { type: object, properties: { point: { type: array, prefixItems: [{ type: number }, { type: number }] } } }
`;
    const p = file("tuple.yaml", yaml);
    const r = await check({ AGENTS_FILE: p });
    expect(r.code).toBe(2);
    expect(r.err).toStartWith(`sauti-relay check: invalid agents file ${p}\n  agents[0].tools[0].parameters.properties.point.prefixItems: a tuple (prefixItems) cannot be stated`);
    expect((await check({ AGENTS_FILE: p, GEMINI_TOOL_SCHEMA: "json" })).code).toBe(0);
  });

  test("bun run check is the same command", async () => {
    const r = await check({ GEMINI_TEMPERATURE: "7" }, ["run", "--silent", "check"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('invalid GEMINI_TEMPERATURE="7": expected a number from 0 to 2');
  });
});
