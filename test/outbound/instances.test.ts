// Two relays on one PostgreSQL share a campaign: each contact is dialed exactly once per attempt, by one of them,
// and maxConcurrent holds across both (the campaign's row locked with FOR UPDATE SKIP LOCKED while claiming).
import { SQL } from "bun";
import { afterEach, expect } from "bun:test";
import { cleanupAgentFiles } from "../relay/fixtures.ts";
import { SECRET } from "../relay/harness.ts";
import { FakeClock } from "../support/fake-clock.ts";
import { freshDatabase, pgTest } from "../support/postgres.ts";
import { fakeSautikitRest, type CalleeScript } from "../support/sautikit-rest.ts";
import { API_KEY, startOutbound, type OutboundHarness } from "./support.ts";

const undo: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const f of undo.splice(0).reverse()) await f();
  cleanupAgentFiles();
});

const number = (i: number) => `+2547140000${String(i).padStart(2, "0")}`;

pgTest(
  "two relays on one PostgreSQL dial every contact exactly once per attempt, never more than maxConcurrent between them",
  async () => {
    const db = await freshDatabase();
    undo.push(() => db.drop());
    const script = (to: string): CalleeScript => {
      const n = Number(to.slice(-2));
      return n % 3 === 0 ? { kind: "busy", event: true } : n % 3 === 1 ? { kind: "no_answer", ringMs: 20 } : { kind: "answer", helloMs: 200, hangUpAfterMs: 500 };
    };
    const rest = fakeSautikitRest({ apiKey: API_KEY, webhookSecret: SECRET, eventsSecret: SECRET, script });
    undo.push(() => rest.stop());
    const clock = new FakeClock();
    clock.t = Date.UTC(2026, 11, 2, 7, 0);
    const env = { DATABASE_URL: db.url, OUTBOUND_RING_TIMEOUT_S: "30" };
    const a = await startOutbound({ rest, clock, loop: false, env });
    undo.push(() => a.stop());
    const b = await startOutbound({ rest, clock, loop: false, env });
    undo.push(() => b.stop());
    rest.options.eventsUrl = `${b.h.base}/sautikit/events`;
    const r = await a.post("/api/campaigns", {
      name: "shared",
      agent: "reminders",
      contacts: Array.from({ length: 30 }, (_, i) => ({ to: number(i), variables: { name: `N${i}`, time: "10:00" } })),
      maxConcurrent: 4,
      retry: { attempts: 2, backoffS: 60, on: ["no_answer", "busy"] },
    });
    expect(r.status).toBe(201);
    const id = String(r.body.id);
    const both: OutboundHarness[] = [a, b];
    let state = "";
    for (let i = 0; i < 3000 && state !== "done"; i++) {
      await Promise.all(both.map((x) => x.h.outbound.runOnce()));
      await Promise.all(both.map((x) => x.h.outbound.dialer.idle()));
      const c = (await b.get(`/api/campaigns/${id}`)).body as { state: string; counts: { states: Record<string, number> } };
      expect(c.counts.states.dialing!).toBeLessThanOrEqual(4);
      expect(rest.up).toBeLessThanOrEqual(4);
      state = c.state;
      if (rest.up > 0) await Bun.sleep(15);
      clock.t += 5000;
    }
    expect(state).toBe("done");
    const sql = new SQL(db.url, { max: 1 });
    undo.push(() => sql.close());
    const rows = (await sql`SELECT id, to_number, attempt_no, owner, outcome FROM outbound_attempts ORDER BY to_number, attempt_no`) as Array<{ id: string; to_number: string; attempt_no: number; owner: string; outcome: string }>;
    // 10 answered once, 20 tried twice.
    expect(rows).toHaveLength(10 + 20 * 2);
    expect(new Set(rows.map((x) => `${x.to_number}#${x.attempt_no}`)).size).toBe(rows.length);
    // The fake placed one call per attempt (a repeated request would have been answered, not dialed).
    expect(rest.calls.map((c) => c.clientRequestId).sort()).toEqual(rows.map((x) => x.id).sort());
    for (let i = 0; i < 30; i++) expect(rest.calls.filter((c) => c.to === number(i))).toHaveLength(i % 3 === 2 ? 1 : 2);
    const owners = new Set(rows.map((x) => x.owner));
    expect(owners).toEqual(new Set([a.h.outbound.instance, b.h.outbound.instance]));
    expect(rest.maxUp).toBeLessThanOrEqual(4);
  },
  120000,
);
