// Campaign routes (admin, mounted with the rest of the outbound API):
//   POST /api/campaigns                 JSON {name, agent, contacts, window, maxConcurrent, retry, startAt, endAt}, or
//                                       text/csv with the rest as query parameters → 201 the campaign (+ merged, skipped)
//   POST /api/campaigns/preview         the same body → 200 what would be created: first rows, variables, refusals
//   GET  /api/campaigns                 newest first
//   GET  /api/campaigns/:id             state, counts by contact state and outcome
//   GET  /api/campaigns/:id/contacts    ?state&outcome&after&limit: attempts, last outcome, call record ids
//   GET  /api/campaigns/:id/results.csv one row per contact (+ a column per analysis.data field when records have one)
//   POST /api/campaigns/:id/pause|resume|cancel
import { stringify } from "csv-stringify/sync";
import type { Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { Agent } from "../call/agent.ts";
import type { Logger } from "../log.ts";
import { showNumber, showNumbersIn } from "../phone-numbers.ts";
import { bad, jsonObject, type AdminEnv } from "./api.ts";
import { fromCsv, fromJson, type CampaignInput } from "./campaign-input.ts";
import type { Clock } from "./clock.ts";
import { errText } from "./err.ts";
import { FieldError } from "./requests.ts";
import { CONTACT_STATES, OUTCOMES, type Campaign, type CampaignCounts, type Contact, type ContactState, type Outcome, type OutboundStore } from "./store.ts";

export interface CampaignsDeps {
  store: OutboundStore;
  agents(): Agent[];
  clock: Clock;
  timeZone: string;
  /** The full record of a call (for results.csv's analysis columns); undefined when there is none. */
  callRecord(id: string): Promise<unknown>;
  /** Why this relay cannot place calls at all (no Sautikit API key), or undefined when it can. */
  cannotDial(): string | undefined;
  log: Logger;
}

/** A CSV of 100 000 contacts with a few variables is a few MB. */
const MAX_BODY_BYTES = 20 * 1024 * 1024;
const PAGE = 100;
const PREVIEW_ROWS = 10;

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

export function campaignView(c: Campaign, counts?: CampaignCounts) {
  return {
    id: c.id,
    name: c.name,
    agent: c.agent,
    state: c.state,
    window: c.window,
    maxConcurrent: c.maxConcurrent,
    retry: c.retry,
    startAt: iso(c.startAt),
    endAt: iso(c.endAt),
    createdAt: iso(c.createdAt),
    endedAt: iso(c.endedAt),
    contacts: c.contacts,
    ...(counts === undefined ? {} : { counts }),
  };
}

function contactView(k: Contact, full: boolean) {
  return {
    row: k.row,
    seq: k.seq,
    to: showNumber(k.to, full),
    variables: showNumbersIn(k.variables, full),
    state: k.state,
    attempts: k.attempts,
    lastOutcome: k.lastOutcome,
    outcome: k.outcome,
    nextAt: k.state === "pending" ? iso(k.nextAt) : null,
    lastAttemptId: k.lastAttemptId,
    callIds: k.callIds,
    endReason: k.lastEndReason,
  };
}

/** The analysis another part of the relay may put on a call record ({summary, success, data, …}), read defensively. */
function analysisOf(rec: unknown): { data: Record<string, unknown>; summary?: unknown; success?: unknown } | undefined {
  const a = (rec as { analysis?: unknown } | undefined)?.analysis;
  if (typeof a !== "object" || a === null) return undefined;
  const o = a as Record<string, unknown>;
  const data = typeof o.data === "object" && o.data !== null && !Array.isArray(o.data) ? (o.data as Record<string, unknown>) : {};
  return { data, summary: o.summary, success: o.success };
}

const cell = (v: unknown): string => (v === undefined || v === null ? "" : typeof v === "object" ? JSON.stringify(v) : String(v));

export function campaignRoutes(d: CampaignsDeps) {
  return (api: Hono<AdminEnv>): void => {
    const full = (c: Context<AdminEnv>) => c.get("admin") === "token";
    const unavailable = (err: unknown) => {
      d.log.warn({ err: errText(err) }, "campaigns API: database unavailable");
      return Response.json({ error: "records database unavailable" }, { status: 503 });
    };
    const limit = bodyLimit({ maxSize: MAX_BODY_BYTES, onError: (c) => c.json({ error: `the body is larger than ${MAX_BODY_BYTES} bytes` }, 413) });

    /** The request's campaign, checked; or the 4xx that says why not. */
    const read = async (c: Context<AdminEnv>): Promise<{ ok: true; input: CampaignInput } | { ok: false; res: Response }> => {
      const type = (c.req.header("content-type") ?? "").toLowerCase();
      const now = d.clock.now();
      try {
        if (/^text\/csv\b/.test(type)) return { ok: true, input: fromCsv(await c.req.text(), c.req.query(), d.agents(), d.timeZone, now) };
        if (/^application\/json\b/.test(type)) {
          const b = await jsonObject(c);
          return b.ok ? { ok: true, input: fromJson(b.body, d.agents(), d.timeZone, now) } : b;
        }
        return { ok: false, res: c.json({ error: "expected content-type: application/json or text/csv" }, 415) };
      } catch (err) {
        if (err instanceof FieldError) return { ok: false, res: bad(c, err.field, err.message) };
        throw err;
      }
    };

    const report = (i: CampaignInput, isFull: boolean) => ({
      merged: i.merged.map((m) => ({ to: showNumber(m.to, isFull), rows: m.rows })),
      refused: i.refused,
    });

    api.post("/campaigns/preview", limit, async (c) => {
      const r = await read(c);
      if (!r.ok) return r.res;
      const i = r.input;
      return c.json({
        campaign: { ...i.spec, startAt: iso(i.spec.startAt), endAt: iso(i.spec.endAt) },
        contacts: i.contacts.length,
        variables: i.variables,
        required: i.required,
        first: i.contacts.slice(0, PREVIEW_ROWS).map((k) => ({ row: k.row, to: showNumber(k.to, full(c)), variables: showNumbersIn(k.variables, full(c)) })),
        ...report(i, full(c)),
      });
    });

    api.post("/campaigns", limit, async (c) => {
      const r = await read(c);
      if (!r.ok) return r.res;
      const i = r.input;
      if (i.refused.length > 0 && !i.skipInvalid) {
        return c.json({ error: `${i.refused.length} row(s) cannot be called; fix them, or send skipInvalid to create the campaign without them`, field: "contacts", ...report(i, full(c)) }, 400);
      }
      if (i.contacts.length === 0) return bad(c, "contacts", "no row can be called");
      // A campaign that could never dial would sit "running" with every contact pending.
      const cannot = d.cannotDial();
      if (cannot !== undefined) return c.json({ error: cannot }, 503);
      const now = d.clock.now();
      const campaign: Omit<Campaign, "endedAt"> = {
        ...i.spec,
        id: `cmp_${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`,
        state: i.spec.startAt !== null && i.spec.startAt > now ? "scheduled" : "running",
        createdAt: now,
        contacts: i.contacts.length,
      };
      try {
        await d.store.createCampaign(campaign, i.contacts);
      } catch (err) {
        return unavailable(err);
      }
      d.log.info({ campaign: campaign.id, agent: campaign.agent, contacts: i.contacts.length, merged: i.merged.length, skipped: i.refused.length, state: campaign.state }, "campaign: created");
      return c.json({ ...campaignView({ ...campaign, endedAt: null }), ...report(i, full(c)) }, 201);
    });

    api.get("/campaigns", async (c) => {
      try {
        return c.json({ campaigns: (await d.store.campaigns(PAGE)).map((x) => campaignView(x)) });
      } catch (err) {
        return unavailable(err);
      }
    });

    api.get("/campaigns/:id", async (c) => {
      try {
        const x = await d.store.campaign(c.req.param("id"));
        if (x === undefined) return c.json({ error: "no such campaign" }, 404);
        return c.json(campaignView(x, await d.store.campaignCounts(x.id)));
      } catch (err) {
        return unavailable(err);
      }
    });

    api.get("/campaigns/:id/contacts", async (c) => {
      const q = c.req.query();
      if (q.state !== undefined && !(CONTACT_STATES as readonly string[]).includes(q.state)) return bad(c, "state", `expected one of ${CONTACT_STATES.join(", ")}`);
      if (q.outcome !== undefined && !(OUTCOMES as readonly string[]).includes(q.outcome)) return bad(c, "outcome", `expected one of ${OUTCOMES.join(", ")}`);
      if (q.after !== undefined && !/^\d{1,9}$/.test(q.after)) return bad(c, "after", "expected the `next` of a previous page");
      const n = q.limit === undefined ? PAGE : Number(q.limit);
      if (!Number.isInteger(n) || n < 1 || n > 500) return bad(c, "limit", "expected 1 to 500");
      try {
        const x = await d.store.campaign(c.req.param("id"));
        if (x === undefined) return c.json({ error: "no such campaign" }, 404);
        const page = await d.store.contacts(x.id, {
          state: q.state as ContactState | undefined,
          outcome: q.outcome as Outcome | undefined,
          after: q.after === undefined ? undefined : Number(q.after),
          limit: n,
        });
        return c.json({ contacts: page.map((k) => contactView(k, full(c))), next: page.length === n ? page[page.length - 1]!.seq : null });
      } catch (err) {
        return unavailable(err);
      }
    });

    api.get("/campaigns/:id/results.csv", async (c) => {
      try {
        const x = await d.store.campaign(c.req.param("id"));
        if (x === undefined) return c.json({ error: "no such campaign" }, 404);
        const all: Contact[] = [];
        for (let after: number | undefined; ; ) {
          const page = await d.store.contacts(x.id, { after, limit: 500 });
          all.push(...page);
          if (page.length < 500) break;
          after = page[page.length - 1]!.seq;
        }
        const varNames = [...new Set(all.flatMap((k) => Object.keys(k.variables)))];
        // Each contact's last call: its analysis (when post-call analysis has run) adds a column per data field.
        const analyses = new Map<string, NonNullable<ReturnType<typeof analysisOf>>>();
        for (const k of all) {
          const last = k.callIds[k.callIds.length - 1];
          if (last === undefined) continue;
          const a = analysisOf(await d.callRecord(last).catch(() => undefined));
          if (a !== undefined) analyses.set(k.id, a);
        }
        const dataNames = [...new Set([...analyses.values()].flatMap((a) => Object.keys(a.data)))];
        const hasAnalysis = analyses.size > 0;
        const header = ["row", "to", "state", "outcome", "end_reason", "attempts", "call_id", ...varNames, ...(hasAnalysis ? ["summary", "success"] : []), ...dataNames];
        const rows = all.map((k) => {
          const a = analyses.get(k.id);
          const vars = showNumbersIn(k.variables, full(c));
          return [
            k.row,
            showNumber(k.to, full(c)),
            k.state,
            k.outcome ?? k.lastOutcome ?? "",
            k.lastEndReason ?? "",
            k.attempts,
            k.callIds[k.callIds.length - 1] ?? "",
            ...varNames.map((n) => vars[n] ?? ""),
            ...(hasAnalysis ? [cell(a?.summary), cell(a?.success)] : []),
            ...dataNames.map((n) => cell(a?.data[n])),
          ];
        });
        const body = stringify([header, ...rows]);
        return new Response(body, {
          headers: { "content-type": "text/csv; charset=utf-8", "content-disposition": `attachment; filename="${x.id}-results.csv"` },
        });
      } catch (err) {
        return unavailable(err);
      }
    });

    const move = (path: string, from: Campaign["state"][], to: Campaign["state"], after?: (id: string) => Promise<unknown>) =>
      api.post(`/campaigns/:id/${path}`, async (c) => {
        const id = c.req.param("id");
        try {
          const x = await d.store.campaign(id);
          if (x === undefined) return c.json({ error: "no such campaign" }, 404);
          if (!(await d.store.setCampaignState(id, from, to, d.clock.now()))) {
            return c.json({ error: `a ${x.state} campaign cannot be ${path === "cancel" ? "cancelled" : path === "pause" ? "paused" : "resumed"}`, state: x.state }, 409);
          }
          await after?.(id);
          d.log.info({ campaign: id, state: to }, `campaign: ${path}`);
          const now = await d.store.campaign(id);
          return c.json(campaignView(now!, await d.store.campaignCounts(id)));
        } catch (err) {
          return unavailable(err);
        }
      });
    move("pause", ["running", "scheduled"], "paused");
    move("resume", ["paused"], "running");
    move("cancel", ["running", "scheduled", "paused"], "cancelled", (id) => d.store.closeContacts(id, "cancelled", d.clock.now()));
  };
}
