// The handoff's HTTP side:
//   DELETE /api/calls/:id/supervision  (admin) ends the person's supervision: Sautikit is told, and the call, if this
//                                      instance has it, takes the call back at once (otherwise its own poll sees it)
//   POST   /sautikit/events            Sautikit's workspace webhook; a `call.supervision.*` event makes the relay
//                                      look at that call's supervision now. Its content is only a hint (the state is
//                                      read from Sautikit's API), so it is not verified and always answered 204.
import { Hono, type MiddlewareHandler } from "hono";
import type { HandoffService } from "./desk.ts";

type Env = { Variables: { admin: "token" | "loopback" } };

export function supervisionApi(desk: HandoffService, guard: MiddlewareHandler<Env>): Hono<Env> {
  const api = new Hono<Env>();
  api.use("*", guard);
  api.delete("/calls/:id/supervision", async (c) => {
    const id = c.req.param("id");
    const r = await desk.live.end(id);
    if (r.error !== undefined && !r.here) return c.json({ error: `supervision could not be ended: ${r.error}` }, 502);
    return c.json({ ended: r.error === undefined, here: r.here, ...(r.error === undefined ? {} : { error: r.error }) });
  });
  return api;
}

const ID_FIELDS = ["call_id", "callId", "session_id", "sessionId", "pbx_call_id", "supervision_id", "supervisionId"] as const;

/** The event's kind and every id it names (Sautikit's envelope is {kind, data:{call_id, …}}; others seen nest
 *  differently, so the top level and `data`, `payload` and `call` are all read). */
export function supervisionHint(body: unknown): { kind: string; ids: string[] } {
  const b = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
  const k = b.kind ?? b.type ?? b.event ?? b.event_type;
  const ids = new Set<string>();
  for (const o of [b, b.data, b.payload, b.call]) {
    if (typeof o !== "object" || o === null) continue;
    for (const f of ID_FIELDS) {
      const v = (o as Record<string, unknown>)[f];
      if (typeof v === "string" && v !== "" && v.length <= 128) ids.add(v);
    }
  }
  return { kind: typeof k === "string" ? k.slice(0, 64) : "", ids: [...ids] };
}

export function sautikitEvents(desk: HandoffService, limit: MiddlewareHandler): Hono {
  const app = new Hono();
  app.post("/sautikit/events", limit, async (c) => {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      body = undefined;
    }
    const h = supervisionHint(body);
    if (h.kind.startsWith("call.supervision")) desk.live.hint(h.ids);
    return c.body(null, 204);
  });
  return app;
}
