// The console's HTTP API (Hono, mounted on the relay's app), all behind the admin guard (src/http/admin-auth.ts):
//   GET  /api/softphone/agents     agents the softphone can call (and those that place calls), and the audio rates
//   POST /api/softphone {agent}    a new browser call: pre-warms the agent's model session, mints a one-use socket URL
//   GET  /api/console/events       Server-Sent Events: calls starting and ending, levels, the watched call's transcript
//   GET  /api/console/calls[/:id]  recently ended calls kept in memory (the history when no records store is there)
//   GET  /api/console/tools        every agent's tools, with their parameter schemas
//   POST /api/console/tools/run {agent, tool, args}  runs one through the path a call's function call takes
// Only a viewer holding the admin token sees whole phone numbers; everyone else gets the last 3 digits.
import type { Server } from "bun";
import { Hono } from "hono";
import { inboundParties, requiredVariables } from "../agents/variables.ts";
import type { CallManager } from "../call/manager.ts";
import type { Config } from "../config.ts";
import { adminAuth } from "../http/admin-auth.ts";
import type { Logger } from "../log.ts";
import type { ConsoleHub } from "./hub.ts";
import { toolInfo, tryTool } from "./tool-trial.ts";
import type { SoftphoneTickets } from "./softphone.ts";
import type { SoftphoneTicket } from "./web/softphone-ticket.ts";

export const SOFTPHONE_PATH = "/softphone";
/** SSE comment line sent this often so proxies keep an idle stream open. */
const HEARTBEAT_MS = 15_000;
/** Events queued for a viewer that stopped reading; past this the stream is closed rather than grown. */
const MAX_QUEUED_EVENTS = 2000;

export interface ConsoleApiDeps {
  config: Config;
  log: Logger;
  calls: CallManager;
  hub: ConsoleHub;
  tickets: SoftphoneTickets;
}

type Env = { Variables: { admin: "token" | "loopback" } };


export function consoleApi(d: ConsoleApiDeps): Hono<Env> {
  const app = new Hono<Env>();
  const guard = adminAuth(d.config.records.adminToken, d.log);

  const rates = () => ({ inputRate: d.config.callSampleRate, outputRate: d.config.playbackRate });

  // Every agent the router has, with the numbers it answers (null: the default agent, which answers the rest).
  // These are the business's own numbers, from its agents file, not callers': shown whole.
  app.get("/api/softphone/agents", guard, (c) =>
    c.json({
      agents: d.calls.router.list().map(({ agent: a, numbers }) => ({
        name: a.name,
        model: a.model,
        voice: a.voice,
        tools: a.tools.map((t) => t.declaration.name),
        numbers,
        // Outbound agents: the number they call from and the variables a call to them needs (the console's forms).
        outbound: a.outbound === undefined ? null : { from: a.outbound.from, variables: requiredVariables(a) },
      })),
      ...rates(),
    }),
  );

  app.post("/api/softphone", guard, async (c) => {
    // JSON only: a cross-site page can send a form or text/plain POST without asking, but not a JSON one, and
    // each softphone call opens a model session.
    if (!/^application\/json\b/i.test(c.req.header("content-type") ?? "")) {
      return c.json({ error: "expected content-type: application/json" }, 415);
    }
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return c.json({ error: 'expected a JSON body like {"agent": "name"}' }, 400);
    }
    const name = (body as { agent?: unknown } | null)?.agent;
    if (name !== undefined && typeof name !== "string") return c.json({ error: "agent must be a string" }, 400);
    const agents = d.calls.router.list().map((r) => r.agent);
    const agent = name ? agents.find((a) => a.name === name) : agents[0];
    if (agent === undefined) return c.json({ error: name ? `no agent named ${JSON.stringify(name)}` : "no agent configured" }, 404);

    const callId = `web-${crypto.randomUUID()}`;
    const log = d.log.child({ callId });
    const parties = inboundParties(agent, "browser", "", Date.now(), d.config.callTimezone);
    const warm = await d.calls.prepare(callId, parties, log);
    if (warm === "failed") {
      log.error({ agent: agent.name }, "softphone: no model session for this call");
      return c.json({ error: "the agent's model session could not be opened; see the relay log" }, 503);
    }
    const t = d.tickets.mint(callId, parties);
    log.info({ agent: agent.name, prewarm: warm, by: c.get("admin") }, "softphone call ready for its socket");
    // Relative, so the browser resolves it against the origin it loaded the console from (proxies included).
    const url = `${SOFTPHONE_PATH}?call=${encodeURIComponent(callId)}&token=${t.token}`;
    const ticket: SoftphoneTicket = { url, callId, agent: agent.name, expiresAt: new Date(t.expiresAt).toISOString(), ...rates() };
    return c.json(ticket, 201);
  });

  app.get("/api/console/calls", guard, (c) => {
    const limit = Math.min(100, Math.max(1, Number(c.req.query("limit") ?? 20) || 20));
    const beforeRaw = c.req.query("before");
    const before = beforeRaw === undefined || beforeRaw === "" ? undefined : Number(beforeRaw);
    if (before !== undefined && !Number.isFinite(before)) return c.json({ error: "before must be the `next` of a previous page" }, 400);
    return c.json(d.hub.recentCalls(c.get("admin") === "token", limit, before));
  });

  app.get("/api/console/calls/:id", guard, (c) => {
    const call = d.hub.detail(c.req.param("id"), c.get("admin") === "token");
    return call === undefined ? c.json({ error: "no such call in memory" }, 404) : c.json(call);
  });

  app.get("/api/console/tools", guard, (c) =>
    c.json({
      agents: d.calls.router.list().map(({ agent: a }) => ({ name: a.name, model: a.model, webSearch: a.webSearch === true, tools: toolInfo(a) })),
    }),
  );

  app.post("/api/console/tools/run", guard, async (c) => {
    // JSON only, for the reason the softphone's POST is: a run reaches the user's tool service.
    if (!/^application\/json\b/i.test(c.req.header("content-type") ?? "")) return c.json({ error: "expected content-type: application/json" }, 415);
    let body: { agent?: unknown; tool?: unknown; args?: unknown };
    try {
      body = (await c.req.json()) as typeof body;
    } catch {
      return c.json({ error: 'expected a JSON body like {"agent": "name", "tool": "name", "args": {}}' }, 400);
    }
    if (typeof body?.agent !== "string") return c.json({ error: "agent must be a string" }, 400);
    if (typeof body.tool !== "string") return c.json({ error: "tool must be a string" }, 400);
    const args = body.args ?? {};
    if (typeof args !== "object" || args === null || Array.isArray(args)) return c.json({ error: "args must be a JSON object (a model's arguments always are)" }, 400);
    const agent = d.calls.router.list().find((r) => r.agent.name === body.agent)?.agent;
    if (agent === undefined) return c.json({ error: `no agent named ${JSON.stringify(body.agent)}` }, 404);
    if (!agent.tools.some((t) => t.declaration.name === body.tool)) return c.json({ error: `agent ${agent.name} has no tool named ${JSON.stringify(body.tool)}` }, 404);
    const callId = `console-${crypto.randomUUID()}`;
    const log = d.log.child({ callId });
    log.info({ agent: agent.name, tool: body.tool, by: c.get("admin") }, "console: tool run");
    return c.json(await tryTool(agent, body.tool, args as Record<string, unknown>, callId, log));
  });

  app.get("/api/console/events", guard, (c) => {
    const full = c.get("admin") === "token";
    const watch = c.req.query("call") || undefined;
    // An event stream is idle between events; Bun's per-request idle timeout would cut it (docs/bun.md#sse).
    (c.env as Server<unknown> | undefined)?.timeout?.(c.req.raw, 0);
    const enc = new TextEncoder();
    let stop = (): void => {};
    const stream = new ReadableStream<Uint8Array>(
      {
        start(ctrl) {
          let open = true;
          const write = (s: string) => {
            if (!open) return;
            if ((ctrl.desiredSize ?? 0) < -MAX_QUEUED_EVENTS) {
              d.log.warn("console viewer stopped reading its event stream; closing it");
              stop();
              return;
            }
            try {
              ctrl.enqueue(enc.encode(s));
            } catch {
              stop();
            }
          };
          const unwatch = d.hub.watch({ full, watch, send: (event, json) => write(`event: ${event}\ndata: ${json}\n\n`) });
          const ping = setInterval(() => write(": ping\n\n"), HEARTBEAT_MS);
          stop = () => {
            if (!open) return;
            open = false;
            unwatch();
            clearInterval(ping);
            try {
              ctrl.close();
            } catch {
              // already closed by the client going away
            }
          };
          c.req.raw.signal.addEventListener("abort", () => stop());
        },
        cancel() {
          stop();
        },
      },
      { highWaterMark: 64 },
    );
    return new Response(stream, {
      headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", "x-accel-buffering": "no" },
    });
  });

  return app;
}
