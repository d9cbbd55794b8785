// The console's tools panel in real Chromium, against the relay and a real HTTP tool server on loopback: pick an
// agent's tool, arguments filled in from its schema, edit, Run; the request carries the tool's `${VAR}` headers
// and a signature the service can verify; the page shows the outcome, the time taken and the answer exactly as
// the model would get it. Arguments outside the schema never reach the service; a slow one times out.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { agentsFile, cleanupAgentFiles } from "../relay/fixtures.ts";
import { startHarness } from "../relay/harness.ts";
import { artifactPath, browserAvailable, launch, silence, wav } from "../support/browser.ts";

const SIGNING = "tools-panel-signing-secret";
const TOKEN = "tok-panel-4455";
const run = browserAvailable();

interface Seen {
  path: string;
  auth: string | null;
  signature: string | null;
  body: string;
}
const seen: Seen[] = [];
let server: ReturnType<typeof Bun.serve>;

beforeAll(() => {
  server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const s: Seen = { path: new URL(req.url).pathname, auth: req.headers.get("authorization"), signature: req.headers.get("x-sauti-signature"), body: await req.text() };
      seen.push(s);
      if (s.path === "/slow") await Bun.sleep(2000);
      const args = (JSON.parse(s.body) as { args: Record<string, unknown> }).args;
      return Response.json({ booked: true, party: args.party, seating: args.seating });
    },
  });
});
afterAll(() => {
  server.stop(true);
  cleanupAgentFiles();
});

const yaml = () => `agents:
  - name: tables
    prompt: "Tables."
    tools:
      - builtin: end_call
      - name: book_table
        description: "Book a table."
        parameters:
          type: object
          properties:
            party: { type: integer, minimum: 1, maximum: 12 }
            seating: { type: string, enum: [indoor, outdoor] }
          required: [party, seating]
          additionalProperties: false
        url: http://127.0.0.1:${server.port}/book
        headers: { Authorization: "Bearer \${PANEL_TOKEN}" }
        behavior: non_blocking
      - name: slow_lookup
        description: "Slow."
        url: http://127.0.0.1:${server.port}/slow
        timeoutMs: 300
`;

describe.skipIf(!run)("tools panel in Chromium", () => {
  test("run a tool from its schema's arguments, see what the model would get; bad arguments and a timeout too", async () => {
    process.env.PANEL_TOKEN = TOKEN;
    const wavPath = artifactPath("silence-48k-tools.wav");
    await Bun.write(wavPath, wav(silence(48000, 500), 48000));
    await using h = await startHarness({ AGENTS_FILE: agentsFile(yaml()), TOOL_SIGNING_SECRET: SIGNING });
    await using browser = await launch(wavPath);
    const page = await browser.newPage({ viewport: { width: 1000, height: 1100 } });
    await page.goto(`${h.base}/console/tools`);
    await page.waitForSelector("#agent option[value='tables']", { state: "attached" });
    // The first tool is end_call; pick the HTTP one.
    await page.selectOption("#tool", "book_table");
    expect(await page.textContent("#tool-info")).toContain(`POST http://127.0.0.1:${server.port}/book, headers Authorization, signed, timeout 5000 ms, non_blocking (results when_idle)`);
    expect(JSON.parse(await page.inputValue("#args"))).toEqual({ party: 1, seating: "indoor" });

    // Edit and run: the service gets the arguments with the configured header and a valid signature.
    await page.fill("#args", JSON.stringify({ party: 4, seating: "outdoor" }));
    await page.click("#run");
    await page.waitForSelector("#outcome[data-outcome='ok']");
    expect(await page.textContent("#outcome")).toMatch(/^ok in \d+ ms$/);
    expect(JSON.parse((await page.textContent("#result"))!)).toEqual({ status: "ok", output: { booked: true, party: 4, seating: "outdoor" } });
    expect(seen).toHaveLength(1);
    const req = seen[0]!;
    expect(req.auth).toBe(`Bearer ${TOKEN}`);
    const sig = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(req.signature ?? "");
    expect(sig?.[2]).toBe(createHmac("sha256", SIGNING).update(`${req.body}.${sig![1]}`).digest("hex"));
    expect(JSON.parse(req.body)).toMatchObject({ tool: "book_table", args: { party: 4, seating: "outdoor" }, call: { agent: "tables", caller: "console" } });
    await page.screenshot({ path: artifactPath("console-tools.png"), fullPage: true });

    // Outside the schema: the model's error, and no request.
    await page.fill("#args", JSON.stringify({ party: 40, seating: "roof", extra: true }));
    await page.click("#run");
    await page.waitForSelector("#outcome[data-outcome='error']");
    expect(JSON.parse((await page.textContent("#result"))!)).toEqual({
      status: "error",
      retryable: false,
      message: 'invalid arguments: extra: is not an argument of this tool; party: must be <= 12; seating: must be one of "indoor", "outdoor". Correct them and call again.',
    });
    expect(seen).toHaveLength(1);

    // Not JSON: said on the page, nothing sent.
    await page.fill("#args", "{ party: ");
    await page.click("#run");
    await page.waitForSelector("#outcome[data-outcome='invalid']");
    expect(seen).toHaveLength(1);

    // Past its timeout: a retryable error, as the model would get it.
    await page.selectOption("#tool", "slow_lookup");
    expect(await page.inputValue("#args")).toBe("{}");
    await page.click("#run");
    await page.waitForSelector("#outcome[data-outcome='timeout']");
    expect(JSON.parse((await page.textContent("#result"))!)).toEqual({ status: "error", retryable: true, message: "tool slow_lookup timed out after 300 ms" });
    const ms = Number(/in (\d+) ms/.exec((await page.textContent("#outcome"))!)?.[1]);
    expect(ms).toBeGreaterThanOrEqual(300);
    expect(ms).toBeLessThan(1500);

    // end_call answers as it would on a call, and hangs nothing up.
    await page.selectOption("#tool", "end_call");
    await page.click("#run");
    await page.waitForSelector("#outcome[data-outcome='ok']");
    expect(await page.textContent("#outcome")).toContain("this would hang up");
    expect(h.calls.activeCalls).toBe(0);
  }, 60000);
});
