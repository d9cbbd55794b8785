// Tool calls over the wire: the Live leg reports toolCall, the call layer's ToolRunner runs the handler and the
// answer goes back through the leg with the same id; unknown tools and throwing handlers answer a structured
// error; cancelled ids get no answer; an answer pending across a goAway rotation goes out on the new socket.
import { describe, expect, test } from "bun:test";
import { cleanupAfterEach } from "../support/cleanup.ts";
import type { CallTool } from "../../src/call/agent.ts";
import { ToolRunner, type ToolRunReport } from "../../src/call/tool-runner.ts";
import type { FunctionDeclaration } from "../../src/gemini/protocol.ts";
import { declarationParameters } from "../../src/gemini/tool-schema.ts";
import { StandinServer } from "../support/gemini-spy.ts";
import { silentLog } from "../support/log.ts";
import { makeSession, recorder, until } from "./helpers.ts";

const defer = cleanupAfterEach();

function tool(name: string, run: CallTool["run"], parameters?: Record<string, unknown>, description?: string): CallTool {
  return { declaration: { name, ...(description ? { description } : {}), ...(parameters ? { parameters } : {}) }, timeoutMs: 5000, run };
}

async function setup(opts: { lifetimeMs?: number } = {}) {
  const srv = new StandinServer({ ...opts });
  const url = await srv.start();
  defer(() => srv.stop());
  const calls: Array<Record<string, unknown>> = [];
  let releaseSlow: (() => void) | undefined;
  const tools: CallTool[] = [
    tool(
      "lookup_order",
      async (args) => {
        calls.push(args);
        await Bun.sleep(5);
        return { eta: "16:00", orderId: args.orderId };
      },
      { type: "object", properties: { orderId: { type: "string" } } },
      "Find an order.",
    ),
    tool("explode", () => {
      throw new Error("kaboom");
    }),
    tool("slow", () => new Promise((r) => (releaseSlow = () => r({ status: "ok", late: true })))),
  ];
  const declarations = tools.map(({ declaration: d }): FunctionDeclaration => ({
    name: d.name,
    ...(d.description ? { description: d.description } : {}),
    ...(d.parameters ? declarationParameters("openapi", d.parameters, d.name).fields : {}),
  }));
  const s = makeSession(url, { tools: declarations });
  defer(() => s.close());
  const reports: ToolRunReport[] = [];
  const runner = new ToolRunner({
    tools,
    who: { callId: "C1", agent: "test", caller: "", callee: "" },
    call: { endCall: () => {} },
    log: silentLog,
    answer: (id, name, response) => s.sendToolResult(id, name, response),
    settled: (r) => void reports.push(r),
  });
  const r = recorder();
  s.attach({ ...r.handlers, toolCall: (c) => runner.run(c), toolCallCancelled: (ids) => runner.cancel(ids) });
  await s.start();
  return { srv, s, ss: srv.sessions[0]!, calls, reports, release: () => releaseSlow?.() };
}

describe("tools", () => {
  test("declarations go into setup.tools[].functionDeclarations", async () => {
    const { ss } = await setup();
    const decls = (ss.setup!.tools as Array<{ functionDeclarations: Array<{ name: string }> }>)[0]!.functionDeclarations;
    expect(decls.map((d) => d.name)).toEqual(["lookup_order", "explode", "slow"]);
  });

  test("round trip: handler runs with the args, the response carries the call's id and name", async () => {
    const { ss, calls, s } = await setup();
    const id = ss.toolCall("lookup_order", { orderId: "ORD-8472" });
    await until(() => ss.toolResponses.length === 1, "tool response");
    expect(calls).toEqual([{ orderId: "ORD-8472" }]);
    expect(ss.toolResponses[0]).toEqual({ id, name: "lookup_order", response: { status: "ok", output: { eta: "16:00", orderId: "ORD-8472" } } });
    expect(ss.pendingToolIds.size).toBe(0);
    expect(s.stats().toolCalls).toBe(1);
  });

  test("the trigger word in realtimeInput.text also produces a toolCall (stand-in path)", async () => {
    const { srv } = await setup();
    const ws = srv.sessions[0]!;
    // Not via the session API: the stand-in parses "<trigger> <name> <json>".
    ws.onFrame(JSON.stringify({ realtimeInput: { text: 'TOOLCALL lookup_order {"orderId":"A1"}' } }));
    await until(() => ws.toolResponses.length === 1, "response");
    expect((ws.toolResponses[0]!.response as { output: { orderId: string } }).output.orderId).toBe("A1");
  });

  test("unknown tool and throwing handler each answer a structured, non-retryable error for their id", async () => {
    const { ss, s, reports } = await setup();
    const a = ss.toolCall("no_such_tool", {});
    const b = ss.toolCall("explode", {});
    await until(() => ss.toolResponses.length === 2, "two responses");
    const byId = new Map(ss.toolResponses.map((r) => [r.id, r]));
    expect(byId.get(a)).toEqual({ id: a, name: "no_such_tool", response: { status: "error", retryable: false, message: "unknown tool: no_such_tool" } });
    expect(byId.get(b)!.response).toEqual({ status: "error", retryable: false, message: "tool explode failed: kaboom" });
    expect(reports.filter((r) => r.outcome === "error").length).toBe(2);
    expect(s.state).toBe("ready");
  });

  test("cancellation: no response is sent for the cancelled id; others still answered", async () => {
    const { ss, s, release, reports } = await setup();
    const slow = ss.toolCall("slow", {});
    await until(() => s.stats().toolCalls === 1, "call received");
    ss.cancelTools([slow]);
    await until(() => s.stats().toolCancellations === 1, "cancellation received");
    release();
    const other = ss.toolCall("lookup_order", { orderId: "X" });
    await until(() => ss.toolResponses.length === 1, "other answered");
    await Bun.sleep(100);
    expect(ss.toolResponses.map((r) => r.id)).toEqual([other]);
    expect(reports.filter((r) => r.outcome === "cancelled").map((r) => r.id)).toEqual([slow]);
  });

  test("a result pending across a goAway rotation is sent on the new socket, not dropped", async () => {
    const { srv, ss, s, release } = await setup();
    const id = ss.toolCall("slow", {});
    await until(() => s.stats().toolCalls === 1, "call received");
    ss.goAway(2000);
    await until(() => s.stats().rotations === 1, "rotation started");
    release();
    await until(() => srv.sessions.length === 2 && srv.sessions[1]!.toolResponses.length === 1, "answer on the new socket");
    expect(srv.sessions[1]!.resumedWith).toBeDefined();
    expect(srv.sessions[1]!.toolResponses[0]).toEqual({ id, name: "slow", response: { status: "ok", late: true } });
    expect(ss.toolResponses.length).toBe(0);
  });
});
