// The outbound HTTP surface. Admin (behind the records API's guard, src/http/admin-auth.ts):
//   POST /api/outbound {agent, to, variables}   one call → 201 the attempt; 400 naming the field, 409 do-not-call, 503 no room
//   GET  /api/outbound/:id                       the attempt: status, outcome, Sautikit's call id, the call record's id
//   GET  /api/dnc[?after&limit]  POST /api/dnc {number}  DELETE /api/dnc/:number
//   /api/campaigns…                              campaigns-api.ts
// Not admin, signed by Sautikit: POST /sautikit/events (events.ts).
// Whole phone numbers of the people called only for a viewer holding ADMIN_TOKEN (src/phone-numbers.ts).
import { Hono, type Context, type MiddlewareHandler } from "hono";
import type { RefusalSink } from "../log-limit.ts";
import type { Logger } from "../log.ts";
import { showNumber, showNumbersIn, toE164 } from "../phone-numbers.ts";
import { errText } from "./err.ts";
import { FieldError } from "./requests.ts";
import type { Attempt, OutboundStore } from "./store.ts";

export type AdminEnv = { Variables: { admin: "token" | "loopback" } };

export const bad = (c: Context, field: string, error: string) => c.json({ error, field }, 400);

type Body = { ok: true; body: Record<string, unknown> } | { ok: false; res: Response };

/** A JSON body, or the 4xx that says why not. */
export async function jsonBody(c: Context): Promise<Body> {
  // JSON only: a cross-site page can send a form or text/plain POST without asking, but not a JSON one.
  if (!/^application\/json\b/i.test(c.req.header("content-type") ?? "")) return { ok: false, res: c.json({ error: "expected content-type: application/json" }, 415) };
  return jsonObject(c);
}

/** The body as a JSON object, or the 400 that says why not (its content type already checked). */
export async function jsonObject(c: Context): Promise<Body> {
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    return { ok: false, res: c.json({ error: "the body is not valid JSON" }, 400) };
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) return { ok: false, res: c.json({ error: "expected a JSON object" }, 400) };
  return { ok: true, body: body as Record<string, unknown> };
}

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

/** An attempt as the API shows it. */
export function attemptView(a: Attempt, full: boolean) {
  return {
    id: a.id,
    status: a.status,
    outcome: a.outcome,
    detail: a.detail,
    endReason: a.endReason,
    agent: a.agent,
    from: a.from,
    to: showNumber(a.to, full),
    variables: showNumbersIn(a.variables, full),
    campaignId: a.campaignId,
    contactId: a.contactId,
    attemptNo: a.attemptNo,
    sautikitCallId: a.sautikitCallId,
    sautikitStatus: a.sautikitStatus,
    callId: a.callId,
    voicemailMessage: a.voicemailMessage,
    createdAt: iso(a.createdAt),
    placedAt: iso(a.placedAt),
    answeredAt: iso(a.answeredAt),
    endedAt: iso(a.endedAt),
  };
}

/** What a route that can fail answers: a FieldError is 400 naming its field; anything else is the store's 503. */
export function refusal(c: Context, err: unknown, unavailable: (err: unknown) => Response): Response {
  if (err instanceof FieldError) return bad(c, err.field, err.message);
  return unavailable(err);
}

/** What the routes need from the outbound module (index.ts's Outbound). */
export interface OutboundService {
  store: OutboundStore;
  /** POST /api/outbound: checks the request, then places the call. */
  placeCall(body: Record<string, unknown>): Promise<PlaceResult>;
  /** POST /sautikit/events. */
  event(req: Request, refusals: RefusalSink): Promise<Response>;
  log: Logger;
}

export type PlaceResult =
  | { ok: true; attempt: Attempt }
  | { ok: false; status: 400; field: string; error: string }
  | { ok: false; status: 409 | 503; error: string };

export const DNC_PAGE = 100;

export function outboundRoutes(
  svc: OutboundService,
  guard: MiddlewareHandler<AdminEnv>,
  refusals: RefusalSink,
  more: Array<(api: Hono<AdminEnv>) => void> = [],
): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>();
  const unavailable = (err: unknown) => {
    svc.log.warn({ err: errText(err) }, "outbound API: database unavailable");
    return Response.json({ error: "records database unavailable" }, { status: 503 });
  };
  const full = (c: Context<AdminEnv>) => c.get("admin") === "token";

  app.post("/sautikit/events", (c) => svc.event(c.req.raw, refusals));

  const api = new Hono<AdminEnv>();
  api.use("*", guard);

  api.post("/outbound", async (c) => {
    const b = await jsonBody(c);
    if (!b.ok) return b.res;
    const r = await svc.placeCall(b.body);
    if (r.ok) return c.json(attemptView(r.attempt, full(c)), 201);
    if (r.status === 400) return bad(c, r.field, r.error);
    return c.json({ error: r.error }, r.status);
  });

  api.get("/outbound/:id", async (c) => {
    try {
      const a = await svc.store.attempt(c.req.param("id"));
      return a === undefined ? c.json({ error: "no such attempt" }, 404) : c.json(attemptView(a, full(c)));
    } catch (err) {
      return unavailable(err);
    }
  });

  api.get("/dnc", async (c) => {
    const after = c.req.query("after");
    const limit = Math.min(1000, Math.max(1, Number(c.req.query("limit") ?? DNC_PAGE) || DNC_PAGE));
    try {
      const list = await svc.store.dncList(limit, after === undefined || after === "" ? undefined : after);
      return c.json({
        numbers: list.map((e) => ({ number: showNumber(e.number, full(c)), source: e.source, addedAt: new Date(e.at).toISOString() })),
        // The cursor is the last number itself: only a viewer who sees whole numbers can page on.
        next: list.length === limit && full(c) ? list[list.length - 1]!.number : null,
      });
    } catch (err) {
      return unavailable(err);
    }
  });

  api.post("/dnc", async (c) => {
    const b = await jsonBody(c);
    if (!b.ok) return b.res;
    const n = typeof b.body.number === "string" ? toE164(b.body.number) : undefined;
    if (n === undefined) return bad(c, "number", 'expected a phone number in E.164 form, like "+254712345678"');
    try {
      const added = await svc.store.dncAdd(n, "api", Date.now());
      svc.log.info({ added }, "do-not-call: number added through the API");
      return c.json({ number: showNumber(n, full(c)), added }, added ? 201 : 200);
    } catch (err) {
      return unavailable(err);
    }
  });

  api.delete("/dnc/:number", async (c) => {
    const n = toE164(decodeURIComponent(c.req.param("number")));
    if (n === undefined) return bad(c, "number", 'expected a phone number in E.164 form, like "+254712345678"');
    try {
      const removed = await svc.store.dncRemove(n);
      if (removed) svc.log.info("do-not-call: number removed through the API");
      return removed ? c.body(null, 204) : c.json({ error: "that number is not on the do-not-call list" }, 404);
    } catch (err) {
      return unavailable(err);
    }
  });

  for (const add of more) add(api);
  app.route("/api", api);
  return app;
}
