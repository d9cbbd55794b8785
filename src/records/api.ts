// GET /api/calls (newest first, summary fields, a `next` cursor) and GET /api/calls/:id (the whole record).
// Mounted behind the admin guard (src/http/admin-auth.ts); phone numbers whole only for a viewer holding
// ADMIN_TOKEN (the rule: src/phone-numbers.ts).
import { Hono, type MiddlewareHandler } from "hono";
import type { Logger } from "../log.ts";
import { showNumbersIn, showParties } from "../phone-numbers.ts";
import { errText, numberQuery, type Cursor, type RecordStore } from "./store.ts";

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 200;

export function encodeCursor(c: Cursor): string {
  return Buffer.from(`${c.startedAt}.${c.id}`).toString("base64url");
}

export function decodeCursor(s: string): Cursor | undefined {
  const raw = Buffer.from(s, "base64url").toString();
  const m = /^(\d{1,16})\.(.+)$/s.exec(raw);
  return m === null ? undefined : { startedAt: Number(m[1]), id: m[2]! };
}

const bad = (error: string) => Response.json({ error }, { status: 400 });

type Env = { Variables: { admin: "token" | "loopback" } };

export function recordsApi(store: RecordStore, guard: MiddlewareHandler<Env>, log: Logger): Hono<Env> {
  const api = new Hono<Env>();
  api.use("*", guard);

  const unavailable = (err: unknown) => {
    log.warn({ err: errText(err) }, "records API: database unavailable");
    return Response.json({ error: "records database unavailable" }, { status: 503 });
  };

  api.get("/calls", async (c) => {
    const q = c.req.query();
    let limit = DEFAULT_LIMIT;
    if (q.limit !== undefined) {
      if (!/^\d{1,4}$/.test(q.limit) || Number(q.limit) < 1 || Number(q.limit) > MAX_LIMIT) return bad(`limit must be 1 to ${MAX_LIMIT}`);
      limit = Number(q.limit);
    }
    let before: Cursor | undefined;
    if (q.before !== undefined && q.before !== "") {
      before = decodeCursor(q.before);
      if (before === undefined) return bad("before is not a cursor from a previous page's next");
    }
    const opt = (v: string | undefined) => (v === undefined || v === "" ? undefined : v.slice(0, 200));
    let number: string | undefined;
    if (opt(q.number) !== undefined) {
      number = numberQuery(opt(q.number)!);
      if (number === undefined) return bad("number must be a phone number, like +254711000001");
    }
    try {
      const page = await store.listCalls({ limit, before, agent: opt(q.agent), number });
      const full = c.get("admin") === "token";
      return c.json({ calls: page.calls.map((s) => showParties(s, full)), next: page.next === undefined ? null : encodeCursor(page.next) });
    } catch (err) {
      return unavailable(err);
    }
  });

  api.get("/calls/:id", async (c) => {
    const id = c.req.param("id");
    try {
      const rec = await store.getCall(id);
      if (rec === undefined) return c.json({ error: "no such call" }, 404);
      const full = c.get("admin") === "token";
      return c.json(full ? rec : { ...showParties(rec, false), metadata: showNumbersIn(rec.metadata, false) });
    } catch (err) {
      return unavailable(err);
    }
  });

  return api;
}
