// GET /api/calls (newest first, summary fields, a `next` cursor), GET /api/calls/:id (the whole record),
// GET /api/calls/:id/recording (the WAV, with byte ranges, or a redirect to a short-lived link into object storage)
// and DELETE /api/calls/:id (the record and its recording). Mounted behind the admin guard (src/http/admin-auth.ts);
// phone numbers whole only for a viewer holding ADMIN_TOKEN (the rule: src/phone-numbers.ts).
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

/** What the API needs of the recordings (src/recordings). */
export interface RecordingFiles {
  serve(location: string, req: Request, callId: string): Promise<Response | undefined>;
  remove(location: string): Promise<void>;
}

export interface RecordsApiOptions {
  recordings?: RecordingFiles;
  /** A call in progress on this relay: it cannot be deleted while it runs. */
  live?: (callId: string) => boolean;
}

export function recordsApi(store: RecordStore, guard: MiddlewareHandler<Env>, log: Logger, o: RecordsApiOptions = {}): Hono<Env> {
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
      // The call's variables carry its parties' numbers (caller, callee) too.
      return c.json(full ? rec : { ...showParties(rec, false), metadata: showNumbersIn(rec.metadata, false), variables: showNumbersIn(rec.variables, false) });
    } catch (err) {
      return unavailable(err);
    }
  });

  api.get("/calls/:id/recording", async (c) => {
    const id = c.req.param("id");
    let rec;
    try {
      rec = await store.getRecording(id);
    } catch (err) {
      return unavailable(err);
    }
    if (rec === undefined) return c.json({ error: "no such call" }, 404);
    if (rec === null || rec.location === null) return c.json({ error: "this call has no recording" }, 404);
    if (rec.status === "recording") return c.json({ error: "the call is still being recorded" }, 409);
    const res = o.recordings === undefined ? undefined : await o.recordings.serve(rec.location, c.req.raw, id);
    return res ?? c.json({ error: "the recording's file is not on this relay (recorded by another instance, or deleted)" }, 404);
  });

  // Deletes the recording first, then the record: a recording that cannot be deleted now leaves the record in
  // place (503), so the same request can be made again. Deleting what is gone is 404.
  api.delete("/calls/:id", async (c) => {
    const id = c.req.param("id");
    if (o.live?.(id) === true) return c.json({ error: "the call is in progress; delete it once it has ended" }, 409);
    try {
      const rec = await store.getRecording(id);
      if (rec === undefined) return c.json({ error: "no such call" }, 404);
      if (rec !== null && rec.location !== null) {
        if (o.recordings === undefined) return c.json({ error: "recordings are not set up on this relay: cannot delete this call's recording" }, 503);
        try {
          await o.recordings.remove(rec.location);
        } catch (err) {
          log.warn({ callId: id, err: errText(err) }, "records API: could not delete a recording; the record stays");
          return c.json({ error: `could not delete the recording: ${errText(err)}` }, 503);
        }
      }
      const deleted = await store.deleteCall(id);
      log.info({ callId: id, recording: rec !== null }, "records API: call deleted");
      return deleted ? c.body(null, 204) : c.json({ error: "no such call" }, 404);
    } catch (err) {
      return unavailable(err);
    }
  });

  return api;
}
