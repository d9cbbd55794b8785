// HTTP tools through the real relay: the Live spy asks for a function, the relay POSTs to a real tool server on
// loopback, and the answer (or a structured error) goes back to the spy. Signatures are checked here with an
// independent HMAC, not with the relay's own code.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import type { CallEvent } from "../../src/call/events.ts";
import type { StandinSession } from "../support/gemini-spy.ts";
import { agentsFile, cleanupAgentFiles } from "./fixtures.ts";
import { Caller, startHarness, until, type Harness } from "./harness.ts";

const SIGNING_SECRET = "tool-signing-secret";
const TOKEN = "tok-duka-123";

interface Seen {
  path: string;
  headers: Headers;
  body: string;
  aborted: boolean;
  answered: boolean;
}
const seen: Seen[] = [];
let server: ReturnType<typeof Bun.serve>;
let closedPort = 0;

beforeAll(() => {
  server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const s: Seen = { path: new URL(req.url).pathname, headers: req.headers, body: await req.text(), aborted: false, answered: false };
      seen.push(s);
      req.signal.addEventListener("abort", () => (s.aborted = true));
      const answer = (r: Response) => {
        s.answered = true;
        return r;
      };
      switch (s.path) {
        case "/ok":
          return answer(Response.json({ eta: "eta-16h-kx", order: (JSON.parse(s.body) as { args: { order: string } }).args.order }));
        case "/status":
          return answer(Response.json({ status: "not_found", message: "No such order." }));
        case "/fail":
          return answer(new Response("upstream exploded", { status: 500 }));
        case "/missing":
          return answer(new Response("no", { status: 404 }));
        case "/text":
          return answer(new Response("hello, not json", { headers: { "content-type": "text/plain" } }));
        case "/slow":
          await Bun.sleep(3000);
          return answer(Response.json({ late: true }));
        case "/hold":
          await new Promise((r) => req.signal.addEventListener("abort", r));
          return answer(Response.json({ never: true }));
      }
      return new Response("?", { status: 400 });
    },
  });
  // A port nothing listens on: bind one, note it, release it.
  const tmp = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  closedPort = tmp.port!;
  tmp.stop(true);
});
afterAll(() => server.stop(true));

let h: Harness | undefined;
let caller: Caller | undefined;
afterEach(async () => {
  caller?.ws.close();
  caller = undefined;
  await h?.stop();
  h = undefined;
  seen.length = 0;
  cleanupAgentFiles();
});

function tool(name: string, path: string, timeoutMs = 2000, base = `http://127.0.0.1:${server.port}`): string {
  return `      - name: ${name}
        description: "${name} for the tests."
        parameters: { type: object, properties: { order: { type: string } } }
        url: ${base}${path}
        headers: { Authorization: "Bearer \${TEST_TOOL_TOKEN}", X-Shop: duka }
        timeoutMs: ${timeoutMs}
`;
}

async function start(): Promise<{ s: StandinSession; events: CallEvent[] }> {
  process.env.TEST_TOOL_TOKEN = TOKEN;
  const yaml =
    `agents:\n  - name: shop\n    numbers: ["+254711000000"]\n    prompt: "Shop."\n    tools:\n` +
    tool("lookup_ok", "/ok") +
    tool("lookup_status", "/status") +
    tool("lookup_fail", "/fail") +
    tool("lookup_missing", "/missing") +
    tool("lookup_text", "/text") +
    tool("lookup_slow", "/slow", 300) +
    tool("lookup_hold", "/hold", 10000) +
    tool("lookup_down", "/x", 2000, `http://127.0.0.1:${closedPort}`);
  h = await startHarness({ AGENTS_FILE: agentsFile(yaml), TOOL_SIGNING_SECRET: SIGNING_SECRET });
  const events: CallEvent[] = [];
  h.calls.events.subscribe((e) => void events.push(e));
  caller = await new Caller(await h.streamUrlFor("HD_tools", "+254711000000")).open();
  await until(() => h!.standin.sessions[0]?.ready === true, "live session ready");
  return { s: h.standin.sessions[0]!, events };
}

/** Asks for `name` and waits for the relay's answer to that call id. */
async function ask(s: StandinSession, name: string, args: Record<string, unknown> = { order: "ord-1042-kx" }): Promise<Record<string, unknown>> {
  const id = s.toolCall(name, args);
  await until(() => s.toolResponses.some((r) => r.id === id), `answer to ${name}`, 10000);
  const r = s.toolResponses.find((x) => x.id === id)!;
  expect(r.name).toBe(name);
  return r.response as Record<string, unknown>;
}

describe("HTTP tools", () => {
  test("round trip: POST with the call's context, configured headers and a signature the service can verify", async () => {
    const { s } = await start();
    expect(await ask(s, "lookup_ok")).toEqual({ status: "ok", output: { eta: "eta-16h-kx", order: "ord-1042-kx" } });
    const req = seen[0]!;
    expect(req.path).toBe("/ok");
    expect(req.headers.get("content-type")).toBe("application/json");
    expect(req.headers.get("authorization")).toBe(`Bearer ${TOKEN}`);
    expect(req.headers.get("x-shop")).toBe("duka");
    expect(JSON.parse(req.body)).toEqual({
      tool: "lookup_ok",
      args: { order: "ord-1042-kx" },
      call: { id: "HD_tools", agent: "shop", caller: "+254700000001", callee: "+254711000000" },
    });
    // X-Sauti-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, body + "." + t)>
    const sig = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(req.headers.get("x-sauti-signature") ?? "");
    expect(sig).not.toBeNull();
    expect(Math.abs(Number(sig![1]) - Date.now() / 1000)).toBeLessThan(60);
    expect(sig![2]).toBe(createHmac("sha256", SIGNING_SECRET).update(`${req.body}.${sig![1]}`).digest("hex"));
    expect(sig![2]).not.toBe(createHmac("sha256", "another-secret").update(`${req.body}.${sig![1]}`).digest("hex"));

    // An answer with its own status goes to the model as it is.
    expect(await ask(s, "lookup_status")).toEqual({ status: "not_found", message: "No such order." });

    // Arguments and results are in debug lines only; info and warn lines carry neither, nor the token. (The values
    // are distinctive strings: a bare number would also match the digits of a log line's timestamp.)
    const lines = h!.logs.map((l) => JSON.parse(l) as { level: number });
    const loud = JSON.stringify(lines.filter((l) => l.level >= 30));
    expect(loud).not.toContain("ord-1042-kx");
    expect(loud).not.toContain("eta-16h-kx");
    expect(loud).not.toContain(TOKEN);
    expect(JSON.stringify(lines.filter((l) => l.level < 30))).toContain("eta-16h-kx");
    expect(lines.filter((l) => l.level >= 30 && JSON.stringify(l).includes('"tool call done"')).every((l) => (l as { callId?: string }).callId === "HD_tools")).toBe(true);
  });

  test("a 500, a 404, a non-JSON body and an unreachable service come back as structured errors", async () => {
    const { s } = await start();
    expect(await ask(s, "lookup_fail")).toEqual({ status: "error", retryable: true, message: "lookup_fail failed: its service answered HTTP 500" });
    expect(await ask(s, "lookup_missing")).toEqual({ status: "error", retryable: false, message: "lookup_missing failed: its service answered HTTP 404" });
    expect(await ask(s, "lookup_text")).toEqual({ status: "error", retryable: false, message: "lookup_text failed: its service answered something that is not JSON" });
    const down = await ask(s, "lookup_down");
    expect(down).toMatchObject({ status: "error", retryable: true });
    expect(String(down.message)).toStartWith("lookup_down failed: its service could not be reached");
    // Each failure is one warn line with the call id and why, and the call goes on.
    const warns = h!.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === "tool call done" && l.level === 40);
    expect(warns.map((w) => [w.callId, w.tool, w.outcome])).toEqual([
      ["HD_tools", "lookup_fail", "error"],
      ["HD_tools", "lookup_missing", "error"],
      ["HD_tools", "lookup_text", "error"],
      ["HD_tools", "lookup_down", "error"],
    ]);
    expect(String(warns[0]!.why)).toContain("HTTP 500");
    expect(caller!.closed).toBeUndefined();
    expect(await ask(s, "lookup_ok")).toMatchObject({ status: "ok" });
  });

  test("a tool past its timeoutMs: the model gets a retryable error while the service is still working, and the request is aborted", async () => {
    const { s, events } = await start();
    const answer = await ask(s, "lookup_slow");
    expect(answer).toEqual({ status: "error", retryable: true, message: "tool lookup_slow timed out after 300 ms" });
    const req = seen.find((r) => r.path === "/slow")!;
    expect(req.answered).toBe(false); // the service was still sleeping (3 s) when the model got its answer
    await until(() => req.aborted, "slow request aborted");
    await until(() => events.some((e) => e.type === "toolResult"), "toolResult event");
    expect(events.find((e) => e.type === "toolResult")).toMatchObject({ name: "lookup_slow", outcome: "timeout" });
  });

  test("a cancelled tool call aborts its HTTP request and gets no answer", async () => {
    const { s, events } = await start();
    const id = s.toolCall("lookup_hold", { order: "7" });
    await until(() => seen.some((r) => r.path === "/hold"), "request reached the service");
    s.cancelTools([id]);
    const req = seen.find((r) => r.path === "/hold")!;
    await until(() => req.aborted, "held request aborted", 5000);
    await until(() => events.some((e) => e.type === "toolResult"), "toolResult event");
    expect(events.find((e) => e.type === "toolResult")).toMatchObject({ id, name: "lookup_hold", outcome: "cancelled" });
    // Another answer settles after it; the cancelled id never got one.
    await ask(s, "lookup_ok");
    expect(s.toolResponses.map((r) => r.id)).not.toContain(id);
  });
});
