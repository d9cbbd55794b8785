// The agents file as the real process sees it: an invalid file exits 2 naming the file and the place in it;
// SIGHUP reloads, a broken reload is refused and the old agents keep answering; SIGTERM hangs calls in progress
// up with reason "shutdown". Also the example tool server from examples/ answers the example agent's tool.
import { afterEach, describe, expect, test } from "bun:test";
import { scratchDatabaseUrl } from "../support/scratch-db.ts";
import pino from "pino";
import { loadAgentsFile } from "../../src/agents/load.ts";
import type { ToolContext } from "../../src/call/agent.ts";
import { agentsFile, cleanupAgentFiles } from "./fixtures.ts";
import { fakeSautikitRest } from "../support/sautikit-rest.ts";
import { Caller, until } from "./harness.ts";

const root = new URL("../..", import.meta.url).pathname;
const procs: Array<ReturnType<typeof Bun.spawn>> = [];
afterEach(() => {
  for (const p of procs.splice(0)) p.kill();
  cleanupAgentFiles();
});

/** Collects a stream's text as it arrives. */
function collect(stream: ReadableStream<Uint8Array>): { text: () => string } {
  let buf = "";
  const dec = new TextDecoder();
  void (async () => {
    for await (const chunk of stream) buf += dec.decode(chunk, { stream: true });
  })();
  return { text: () => buf };
}

const freePort = () => 20000 + Math.floor(Math.random() * 20000);

async function waitHealthy(port: number, timeoutMs = 15000): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() - t0 > timeoutMs) throw new Error("relay never answered /healthz");
    await Bun.sleep(50);
  }
}

describe("invalid agents file", () => {
  test("exits 2 with a message naming the file, the path inside it and what was expected", async () => {
    const file = agentsFile(
      "agents:\n  - name: a\n    prompt: p\n  - name: b\n    numbers: ['+254711000000']\n    prompt: p\n    tools:\n      - name: t\n        description: d\n        url: not-a-url\n",
    );
    const p = Bun.spawn(["bun", "src/main.ts"], { cwd: root, env: { ...process.env, AGENTS_FILE: file, PORT: "0" }, stdout: "pipe", stderr: "pipe" });
    expect(await p.exited).toBe(2);
    const err = await new Response(p.stderr).text();
    expect(err).toContain(file);
    expect(err).toContain("agents[1].tools[0].url: expected an absolute http(s) URL");
  });

  test("an unknown ${VAR} exits 2 too, naming the variable", async () => {
    const file = agentsFile("agents:\n  - name: a\n    prompt: 'Hello ${NOT_SET_ANYWHERE_42}'\n");
    const env: Record<string, string | undefined> = { ...process.env, AGENTS_FILE: file, PORT: "0" };
    delete env.NOT_SET_ANYWHERE_42;
    const p = Bun.spawn(["bun", "src/main.ts"], { cwd: root, env, stdout: "pipe", stderr: "pipe" });
    expect(await p.exited).toBe(2);
    expect(await new Response(p.stderr).text()).toContain("agents[0].prompt: unknown environment variable NOT_SET_ANYWHERE_42");
  });
});

describe("SIGHUP", () => {
  test("reloads the file; a broken file is refused with a log line and the old agents stay", async () => {
    const first = "agents:\n  - name: first\n    numbers: ['+254711000000']\n    prompt: 'First.'\n";
    const file = agentsFile(first);
    const port = freePort();
    const p = Bun.spawn(["bun", "src/main.ts"], {
      cwd: root,
      env: { PATH: process.env.PATH ?? "", AGENTS_FILE: file, PORT: String(port), HOST: "127.0.0.1", PREWARM: "false", DATABASE_URL: scratchDatabaseUrl() },
      stdout: "pipe",
      stderr: "pipe",
    });
    procs.push(p);
    const out = collect(p.stdout);
    await waitHealthy(port);
    let n = 0;
    const dialTo = async (to: string): Promise<{ xml: string; agent: string | undefined }> => {
      const id = `HD_hup_${++n}`;
      const res = await fetch(`http://127.0.0.1:${port}/voice`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: `sessionId=${id}&callerNumber=%2B254700000001&destinationNumber=${encodeURIComponent(to)}`,
      });
      const xml = await res.text();
      await Bun.sleep(50); // the log line is written before the answer; give the pipe a moment
      const line = out
        .text()
        .split("\n")
        .find((l) => l.includes(`"callId":"${id}"`) && l.includes("new call"));
      return { xml, agent: line ? (JSON.parse(line) as { agent: string }).agent : undefined };
    };

    expect(await dialTo("+254711000000")).toMatchObject({ agent: "first" });
    expect((await dialTo("+254722000000")).xml).toContain("<Hangup/>"); // nobody answers that number yet

    // A broken file: refused, and the old agents keep answering.
    await Bun.write(file, "agents:\n  - name: second\n    numbers: ['+254722000000']\n    prompt: 'Second.'\n    tools:\n      - builtin: teleport\n");
    p.kill("SIGHUP");
    await until(() => out.text().includes("agents file reload refused"), "refusal logged", 10000);
    const refusal = JSON.parse(out.text().split("\n").find((l) => l.includes("agents file reload refused"))!) as { level: number; problems: string[]; file: string };
    expect(refusal.level).toBe(50);
    expect(refusal.file).toBe(file);
    expect(refusal.problems.join("\n")).toContain("agents[0].tools[0].builtin");
    const still = await dialTo("+254711000000");
    expect(still.xml).toContain("<Stream");
    expect(still.agent).toBe("first");
    expect(p.exitCode).toBeNull();

    // A good file: the new agents answer.
    await Bun.write(file, "agents:\n  - name: second\n    numbers: ['+254722000000']\n    prompt: 'Second.'\n");
    p.kill("SIGHUP");
    await until(() => out.text().includes("agents file reloaded"), "reload logged", 10000);
    expect(await dialTo("+254722000000")).toMatchObject({ agent: "second" });
    expect((await dialTo("+254711000000")).xml).toContain("<Hangup/>");
  }, 30000);
});

describe("SIGTERM", () => {
  test("the first signal drains; a second one hangs calls in progress up through Sautikit with reason shutdown", async () => {
    const rest = fakeSautikitRest();
    const port = freePort();
    const p = Bun.spawn(["bun", "src/main.ts"], {
      cwd: root,
      env: { PATH: process.env.PATH ?? "", PORT: String(port), HOST: "127.0.0.1", PREWARM: "false", SAUTIKIT_API_KEY: "tsk_test", SAUTIKIT_API_URL: rest.url, DATABASE_URL: scratchDatabaseUrl() },
      stdout: "pipe",
      stderr: "pipe",
    });
    procs.push(p);
    try {
      const out = collect(p.stdout);
      await waitHealthy(port);
      const res = await fetch(`http://127.0.0.1:${port}/voice`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "sessionId=HD_term&callerNumber=%2B254700000001&destinationNumber=%2B254711000000",
      });
      const url = /url="([^"]+)"/.exec(await res.text())![1]!.replaceAll("&amp;", "&");
      const c = await new Caller(url).open();
      await until(() => out.text().includes('"audio socket open"'), "call started", 10000);
      p.kill("SIGTERM");
      await until(() => out.text().includes("drain"), "drain started", 5000);
      expect(rest.hangups.length).toBe(0); // the first signal leaves calls alone
      p.kill("SIGTERM");
      expect(await p.exited).toBe(0);
      expect(rest.hangups.map((x) => x.callId)).toEqual(["HD_term"]);
      await until(() => c.closed !== undefined, "caller socket closed", 5000);
      await until(() => out.text().includes('"call ended"'), "call ended logged", 5000);
      const endedLine = out.text().split("\n").find((l) => l.includes('"call ended"'));
      expect(JSON.parse(endedLine!)).toMatchObject({ callId: "HD_term", reason: "shutdown" });
    } finally {
      rest.stop();
    }
  }, 30000);
});

describe("examples/", () => {
  test("the example tool server answers the example agent's lookup_order, signature and token checked", async () => {
    const port = freePort();
    const env = { PATH: process.env.PATH ?? "", PORT: String(port), DUKA_TOKEN: "dev-token", TOOL_SIGNING_SECRET: "example-secret" };
    const srv = Bun.spawn(["bun", "examples/tool-server.ts"], { cwd: root, env, stdout: "pipe", stderr: "pipe" });
    procs.push(srv);
    const out = collect(srv.stdout);
    await until(() => out.text().includes("lookup_order service on"), "tool server up", 15000);
    // The example file as written, pointed at this test's port.
    const text = (await Bun.file(`${root}examples/agents.yaml`).text()).replace("127.0.0.1:8081", `127.0.0.1:${port}`);
    const load = (secret: string | undefined) =>
      loadAgentsFile(agentsFile(text), {
        env: { DUKA_TOKEN: "dev-token" },
        defaults: { model: "gemini-3.8-live", voice: "Kore", greeting: "", maxCallSeconds: 900 },
        toolSigningSecret: secret,
      })[0]!.agent.tools.find((t) => t.declaration.name === "lookup_order")!;
    const ctx = (): ToolContext => ({
      callId: "HD_example",
      agent: "orders",
      caller: "+254700000001",
      callee: "+254711000000",
      signal: AbortSignal.timeout(4000),
      deadline: performance.now() + 4000,
      log: pino({ level: "silent" }),
      call: { endCall: () => {} },
    });
    const signed = load("example-secret");
    expect(await signed.run({ order: "1042" }, ctx())).toEqual({ status: "ok", order: "1042", delivery: "out for delivery", eta: "today before 5 pm" });
    expect(await signed.run({ order: "9999" }, ctx())).toEqual({ status: "not_found", message: "There is no order 9999." });
    // Signed with the wrong secret: the example server refuses it, and the model hears a non-retryable error.
    await expect(load("wrong-secret").run({ order: "1042" }, ctx())).rejects.toThrow("lookup_order failed: its service answered HTTP 401");
  }, 30000);
});
