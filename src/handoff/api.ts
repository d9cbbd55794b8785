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
