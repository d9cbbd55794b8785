// Campaigns through the real relay and the Sautikit fake, on a fake clock the test moves: 50 contacts with
// maxConcurrent 5 never have more than 5 ringing or up, every contact ends with one outcome, retries come at
// their times and only for the outcomes asked; the calling window is kept across its end (calls in progress
// finish, nothing new until it opens again); pause, resume, cancel; CSV in, results.csv out.
import { SQL } from "bun";
import { afterEach, describe, expect, test } from "bun:test";
import { inWindow } from "../../src/outbound/window.ts";
import { cleanupAgentFiles } from "../relay/fixtures.ts";
import { FakeClock } from "../support/fake-clock.ts";
import type { CalleeScript } from "../support/sautikit-rest.ts";
import { startOutbound, until, type OutboundHarness } from "./support.ts";

let oh: OutboundHarness | undefined;
afterEach(async () => {
  await oh?.stop();
  oh = undefined;
  cleanupAgentFiles();
});

const number = (i: number) => `+2547130000${String(i).padStart(2, "0")}`;

async function start(script: (to: string) => CalleeScript, t: number): Promise<{ oh: OutboundHarness; clock: FakeClock }> {
  const clock = new FakeClock();
  clock.t = t;
  oh = await startOutbound({ fake: { script }, clock, loop: false, env: { OUTBOUND_RING_TIMEOUT_S: "45" } });
  return { oh, clock };
}

interface AttemptRow {
  to: string;
  attempt_no: number;
  created_at: number;
  ended_at: number | null;
  outcome: string | null;
  owner: string;
}

async function attempts(o: OutboundHarness): Promise<AttemptRow[]> {
  const db = new SQL(o.h.config.records.databaseUrl);
  try {
    const rows = (await db`SELECT to_number AS "to", attempt_no, created_at, ended_at, outcome, owner FROM outbound_attempts ORDER BY created_at, attempt_no`) as AttemptRow[];
    return rows.map((r) => ({ ...r, attempt_no: Number(r.attempt_no), created_at: Number(r.created_at), ended_at: r.ended_at === null ? null : Number(r.ended_at) }));
  } finally {
    await db.close();
  }
}

/**
 * Runs the outbound loop until the campaign is done: each round the fake clock moves `stepMs` (`idleStepMs` when
 * no call is ringing or up); every round checks the campaign never has more than `max` contacts dialing.
 */
async function drive(o: OutboundHarness, clock: FakeClock, id: string, max: number, stepMs: number, idleStepMs = stepMs, rounds = 20000): Promise<Record<string, unknown>> {
  for (let i = 0; i < rounds; i++) {
    await o.h.outbound.runOnce();
    await o.h.outbound.dialer.idle();
    const c = (await o.get(`/api/campaigns/${id}`)).body as { state: string; counts: { states: Record<string, number> } };
    expect(c.counts.states.dialing!).toBeLessThanOrEqual(max);
    expect(o.rest.up).toBeLessThanOrEqual(max);
    if (c.state === "done") return c as unknown as Record<string, unknown>;
    const busy = o.rest.up > 0 || c.counts.states.dialing! > 0;
    if (busy) await Bun.sleep(15);
    clock.t += busy ? stepMs : idleStepMs;
  }
  throw new Error("the campaign did not finish");
}

describe("campaigns", () => {
  test("50 contacts, maxConcurrent 5: never more than 5 at once, one outcome each, retries at their times", async () => {
    const seen = new Map<string, number>();
    const script = (to: string): CalleeScript => {
      const n = Number(to.slice(-2));
      const k = (seen.get(to) ?? 0) + 1;
      seen.set(to, k);
      switch (n % 5) {
        case 0:
          return { kind: "answer", helloMs: 200, hangUpAfterMs: 700 };
        case 1:
          return { kind: "no_answer", ringMs: 20, event: true };
        case 2:
          return { kind: "busy", event: true };
        case 3:
          return { kind: "fail" }; // no event: learned by polling after the ring timeout
        default:
          return k === 1 ? { kind: "no_answer", ringMs: 20, event: true } : { kind: "answer", helloMs: 200, hangUpAfterMs: 700 };
      }
    };
    const { oh, clock } = await start(script, Date.UTC(2026, 11, 2, 7, 0)); // a Wednesday, 10:00 in Nairobi
    const r = await oh.post("/api/campaigns", {
      name: "December reminders",
      agent: "reminders",
      contacts: Array.from({ length: 50 }, (_, i) => ({ to: number(i), variables: { name: `Customer ${i}`, time: "10:30" } })),
      maxConcurrent: 5,
      retry: { attempts: 2, backoffS: 600, on: ["no_answer", "busy", "failed"] },
    });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ state: "running", contacts: 50, maxConcurrent: 5, merged: [], refused: [] });
    const id = String(r.body.id);
    const done = (await drive(oh, clock, id, 5, 5000)) as { counts: { states: Record<string, number>; outcomes: Record<string, number> } };
    expect(done.counts.states).toEqual({ pending: 0, dialing: 0, done: 50 });
    expect(done.counts.outcomes).toMatchObject({ completed: 20, no_answer: 10, busy: 10, failed: 10, voicemail: 0, opted_out: 0 });
    expect(oh.rest.maxUp).toBe(5);

    const rows = await attempts(oh);
    expect(rows).toHaveLength(10 + 40 * 2);
    // Each contact dialed once per attempt; the fake placed exactly those calls.
    expect(oh.rest.calls).toHaveLength(rows.length);
    const byTo = Map.groupBy(rows, (x) => x.to);
    for (let i = 0; i < 50; i++) {
      const list = byTo.get(number(i))!;
      expect(list.map((x) => x.attempt_no)).toEqual(i % 5 === 0 ? [1] : [1, 2]);
      expect(oh.rest.calls.filter((c) => c.to === number(i))).toHaveLength(list.length);
      // Never before its backoff (with all 5 places taken by first attempts, possibly later).
      if (list.length === 2) expect(list[1]!.created_at).toBeGreaterThanOrEqual(list[0]!.ended_at! + 600_000);
    }
    const contacts = await oh.get(`/api/campaigns/${id}/contacts?outcome=completed&limit=500`);
    const list = contacts.body.contacts as Array<{ attempts: number; callIds: string[]; to: string; endReason: string | null }>;
    expect(list).toHaveLength(20);
    for (const k of list) expect([k.callIds.length, k.endReason]).toEqual([1, "caller_hangup"]);
    const text = await (await fetch(`${oh.h.base}/metrics`)).text();
    expect(text).toContain('sauti_outbound_attempts_total{agent="reminders",outcome="no_answer"} 30');
  }, 120000);

  test("with room, each retry comes at its time: the backoff list in order, its last one repeating", async () => {
    const { oh, clock } = await start(() => ({ kind: "no_answer", ringMs: 20, event: true }), Date.UTC(2026, 11, 2, 7, 0));
    const r = await oh.post("/api/campaigns", {
      name: "r",
      agent: "surveys",
      contacts: [{ to: number(1) }, { to: number(2) }],
      retry: { attempts: 4, backoffS: [600, 1200], on: ["no_answer"] },
    });
    await drive(oh, clock, String(r.body.id), 5, 5000);
    const rows = await attempts(oh);
    for (const to of [number(1), number(2)]) {
      const list = rows.filter((x) => x.to === to);
      expect(list.map((x) => x.attempt_no)).toEqual([1, 2, 3, 4]);
      [600, 1200, 1200].forEach((b, i) => {
        const due = list[i]!.ended_at! + b * 1000;
        expect(list[i + 1]!.created_at).toBeGreaterThanOrEqual(due);
        expect(list[i + 1]!.created_at).toBeLessThanOrEqual(due + 5000);
      });
    }
    expect(((await oh.get(`/api/campaigns/${r.body.id}`)).body as { counts: { outcomes: Record<string, number> } }).counts.outcomes.no_answer).toBe(2);
  }, 60000);

  test("the window is kept across its end: calls in progress finish, nothing new until it opens again", async () => {
    // Friday 16:58 in Nairobi (UTC+3); the window is weekdays 08:00-17:00 there.
    const friday = Date.UTC(2026, 11, 4, 13, 58);
    const { oh, clock } = await start(() => ({ kind: "answer", helloMs: 200, hangUpAfterMs: 1500 }), friday);
    const window = { days: ["mon", "tue", "wed", "thu", "fri"], from: "08:00", to: "17:00", timezone: "Africa/Nairobi" };
    const csv = "to,name,time\n" + Array.from({ length: 6 }, (_, i) => `${number(i)},N${i},09:00`).join("\n");
    const q = new URLSearchParams({ name: "Weekend test", agent: "reminders", maxConcurrent: "2", "window.days": window.days.join(","), "window.from": "08:00", "window.to": "17:00" });
    const res = await fetch(`${oh.h.base}/api/campaigns?${q}`, { method: "POST", headers: { authorization: `Bearer ${oh.h.config.records.adminToken}`, "content-type": "text/csv" }, body: csv });
    expect(res.status).toBe(201);
    const id = String(((await res.json()) as { id: string }).id);
    await drive(oh, clock, id, 2, 5000, 300_000);
    const rows = await attempts(oh);
    expect(rows).toHaveLength(6);
    const close = Date.UTC(2026, 11, 4, 14, 0);
    const monday = Date.UTC(2026, 11, 7, 5, 0);
    for (const x of rows) expect(inWindow({ ...window, days: window.days as never }, x.created_at)).toBe(true);
    const before = rows.filter((x) => x.created_at < close);
    expect(before).toHaveLength(2);
    // In progress at 17:00: they finished after it.
    for (const x of before) expect([x.outcome, x.ended_at! > close]).toEqual(["completed", true]);
    for (const x of rows.filter((y) => y.created_at >= close)) expect(x.created_at).toBeGreaterThanOrEqual(monday);
  }, 120000);

  test("pause stops the dialing, resume goes on, cancel ends the pending contacts as cancelled; results.csv", async () => {
    const { oh, clock } = await start(() => ({ kind: "busy", event: true }), Date.UTC(2026, 11, 2, 7, 0));
    const csv = "to,name,time\n" + Array.from({ length: 8 }, (_, i) => `${number(i)},N${i},09:00`).join("\n") + `\n${number(0)},Dup,10:00\n`;
    const auth = { authorization: `Bearer ${oh.h.config.records.adminToken}` };
    const q = new URLSearchParams({ name: "c", agent: "reminders", maxConcurrent: "2", "retry.attempts": "1" });
    const preview = await (await fetch(`${oh.h.base}/api/campaigns/preview?${q}`, { method: "POST", headers: { ...auth, "content-type": "text/csv" }, body: csv })).json();
    expect(preview).toMatchObject({ contacts: 8, variables: ["name", "time"], required: ["name", "time"], merged: [{ to: number(0), rows: [1, 9] }], refused: [] });
    expect((preview as { first: unknown[] }).first).toHaveLength(8);
    expect(await (await oh.get("/api/campaigns")).body).toEqual({ campaigns: [] });
    const created = (await (await fetch(`${oh.h.base}/api/campaigns?${q}`, { method: "POST", headers: { ...auth, "content-type": "text/csv" }, body: csv })).json()) as { id: string };
    const id = created.id;
    await oh.h.outbound.runOnce();
    await oh.h.outbound.dialer.idle();
    expect(oh.rest.originates).toHaveLength(2);
    // The gauge was read at the round's start: 8 waiting, none dialing yet; bounded labels only.
    const gauge = (await (await fetch(`${oh.h.base}/metrics`)).text()).split("\n").filter((l) => l.startsWith("sauti_campaign_contacts{"));
    expect(gauge).toContain('sauti_campaign_contacts{state="pending"} 8');
    expect(gauge).toContain('sauti_campaign_contacts{state="dialing"} 0');
    expect(gauge.every((l) => /^sauti_campaign_contacts\{state="[a-z_]+"\} \d+$/.test(l))).toBe(true);
    expect((await oh.post(`/api/campaigns/${id}/pause`, {})).body).toMatchObject({ state: "paused" });
    expect((await oh.post(`/api/campaigns/${id}/pause`, {})).status).toBe(409);
    await until(() => oh.rest.calls.every((c) => c.eventAnswers.includes("settled")), "the two calls ended");
    for (let i = 0; i < 3; i++) {
      clock.t += 5000;
      await oh.h.outbound.runOnce();
      await oh.h.outbound.dialer.idle();
    }
    expect(oh.rest.originates).toHaveLength(2);
    expect((await oh.post(`/api/campaigns/${id}/resume`, {})).body).toMatchObject({ state: "running" });
    await oh.h.outbound.runOnce();
    await oh.h.outbound.dialer.idle();
    expect(oh.rest.originates).toHaveLength(4);
    const cancelled = (await oh.post(`/api/campaigns/${id}/cancel`, {})).body as { state: string; counts: { outcomes: Record<string, number> } };
    expect(cancelled.state).toBe("cancelled");
    expect(cancelled.counts.outcomes.cancelled).toBe(4);
    await until(() => oh.rest.calls.every((c) => c.eventAnswers.includes("settled")), "the last two calls ended");
    clock.t += 5000;
    await oh.h.outbound.runOnce();
    expect(oh.rest.originates).toHaveLength(4);
    const csvOut = await (await fetch(`${oh.h.base}/api/campaigns/${id}/results.csv`, { headers: auth })).text();
    const lines = csvOut.trim().split("\n");
    expect(lines[0]).toBe("row,to,state,outcome,end_reason,attempts,call_id,name,time");
    expect(lines).toHaveLength(9);
    expect(lines[1]).toBe(`1,${number(0)},done,busy,,1,,N0,09:00`);
    expect(lines.filter((l) => l.includes(",cancelled,"))).toHaveLength(4);
  }, 60000);

  test("results.csv adds a column per analysis.data field when a call record carries post-call analysis", async () => {
    const { oh, clock } = await start(() => ({ kind: "answer", helloMs: 200, hangUpAfterMs: 600 }), Date.UTC(2026, 11, 2, 7, 0));
    // Post-call analysis lands on the record as `analysis`; until it exists here, the record is given one.
    const store = oh.h.records.store;
    const getCall = store.getCall.bind(store);
    let first = true;
    store.getCall = async (id) => {
      const rec = await getCall(id);
      if (rec === undefined || !first) return rec;
      first = false;
      return Object.assign(rec, { analysis: { summary: "Confirmed, asked for 11:00", success: true, successReason: "r", data: { confirmed: true, newTime: "11:00", notes: { a: 1 } }, model: "m", analyzedAt: "t" } });
    };
    const r = await oh.post("/api/campaigns", { name: "a", agent: "reminders", contacts: [0, 1].map((i) => ({ to: number(i), variables: { name: `N${i}`, time: "10:00" } })) });
    await drive(oh, clock, String(r.body.id), 5, 5000);
    const text = await (await fetch(`${oh.h.base}/api/campaigns/${r.body.id}/results.csv`, { headers: { authorization: `Bearer ${oh.h.config.records.adminToken}` } })).text();
    const lines = text.trim().split("\n");
    expect(lines[0]).toBe("row,to,state,outcome,end_reason,attempts,call_id,name,time,summary,success,confirmed,newTime,notes");
    expect(lines[1]).toMatch(new RegExp(`^1,\\${number(0)},done,completed,caller_hangup,1,HD_\\w+,N0,10:00,"Confirmed, asked for 11:00",true,true,11:00,"{""a"":1}"$`));
    expect(lines[2]).toMatch(/,N1,10:00,,,,,$/);
  }, 60000);

  test("a CSV with rows that cannot be called is refused with each of them; skipInvalid creates it without them", async () => {
    const { oh } = await start(() => ({ kind: "busy" }), Date.UTC(2026, 11, 2, 7, 0));
    const auth = { authorization: `Bearer ${oh.h.config.records.adminToken}`, "content-type": "text/csv" };
    const csv = `to,name,time\n${number(1)},A,1\n0712,B,2\n${number(3)},,3\n`;
    const q = new URLSearchParams({ name: "c", agent: "reminders" });
    const bad = await fetch(`${oh.h.base}/api/campaigns?${q}`, { method: "POST", headers: auth, body: csv });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({
      field: "contacts",
      refused: [
        { row: 2, line: 3, column: "to" },
        { row: 3, line: 4, column: "name" },
      ],
    });
    q.set("skipInvalid", "true");
    const ok = await fetch(`${oh.h.base}/api/campaigns?${q}`, { method: "POST", headers: auth, body: csv });
    expect(ok.status).toBe(201);
    expect(await ok.json()).toMatchObject({ contacts: 1, refused: [{ row: 2 }, { row: 3 }] });
    const badField = await fetch(`${oh.h.base}/api/campaigns?name=c&agent=reminders&window.to=25:00`, { method: "POST", headers: auth, body: csv });
    expect(await badField.json()).toMatchObject({ field: "window.to" });
  });
});
