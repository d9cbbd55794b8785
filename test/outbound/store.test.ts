// The outbound tables on both engines: claims keep a campaign's maxConcurrent and give each contact to one claimer
// (two stores on one database claiming at once), the do-not-call list skips contacts as opted_out, an attempt's end
// moves its contact on by the retry rules exactly once, leases are taken over by exactly one instance.
import { describe, expect } from "bun:test";
import { SqlStore } from "../../src/records/store.ts";
import { newAttemptId } from "../../src/outbound/dialer.ts";
import type { Campaign, NewContact, OutboundStore } from "../../src/outbound/store.ts";
import { alwaysOpen } from "../../src/outbound/window.ts";
import { engines } from "../records/helpers.ts";
import { cleanupAfterEach } from "../support/cleanup.ts";
import { captureLog } from "../support/log.ts";

const defer = cleanupAfterEach();
const { open, onBoth } = engines(defer);

const T0 = Date.UTC(2026, 11, 1, 7);

function campaign(over: Partial<Campaign> = {}): Omit<Campaign, "endedAt"> {
  return {
    id: `cmp_${crypto.randomUUID().slice(0, 8)}`,
    name: "c",
    agent: "reminders",
    state: "running",
    window: alwaysOpen(),
    maxConcurrent: 3,
    retry: { attempts: 2, backoffS: [600], on: ["no_answer", "busy", "failed"] },
    startAt: null,
    endAt: null,
    createdAt: T0,
    contacts: 0,
    ...over,
  };
}

const contacts = (n: number): NewContact[] => Array.from({ length: n }, (_, i) => ({ to: `+2547120000${String(i).padStart(2, "0")}`, variables: { name: `n${i}` }, row: i + 1 }));

const claim = (s: OutboundStore, id: string, owner: string, now: number, limit = 10) =>
  s.claimContacts({ campaignId: id, from: "+254711000100", now, owner, leaseUntil: now + 30_000, nextCheckAt: now + 15_000, limit, newId: newAttemptId });

describe("outbound store", () => {
  onBoth("claims keep maxConcurrent, skip do-not-call numbers as opted_out, and retry by the rules", async (url, engine) => {
    const { store } = await open(url, engine);
    const s = store.outbound;
    const c = campaign();
    await s.createCampaign({ ...c, contacts: 6 }, contacts(6));
    await s.dncAdd("+254712000001", "api", T0);
    const first = await claim(s, c.id, "a", T0);
    expect(first.map((a) => a.to)).toEqual(["+254712000000", "+254712000002", "+254712000003"]);
    expect(first.every((a) => a.status === "dialing" && a.attemptNo === 1 && a.owner === "a" && a.variables.name !== undefined)).toBe(true);
    expect(await claim(s, c.id, "a", T0)).toEqual([]); // 3 dialing: full
    let counts = await s.campaignCounts(c.id);
    expect(counts.states).toEqual({ pending: 2, dialing: 3, done: 1 });
    expect(counts.outcomes.opted_out).toBe(1);

    // no_answer with attempts left: pending again after its backoff; busy on a second attempt: done.
    const r = await s.settleAttempt({ id: first[0]!.id, outcome: "no_answer", detail: "d", endReason: null, at: T0 + 1000 });
    expect(r!.contact).toMatchObject({ state: "pending", attempts: 1, lastOutcome: "no_answer", outcome: null, nextAt: T0 + 1000 + 600_000 });
    expect(await s.settleAttempt({ id: first[0]!.id, outcome: "failed", detail: "again", endReason: null, at: T0 + 2000 })).toBeUndefined();
    await s.settleAttempt({ id: first[1]!.id, outcome: "completed", detail: "talked", endReason: "caller_hangup", at: T0 + 1000, callId: "HD_1" });
    const next = await claim(s, c.id, "a", T0 + 2000);
    expect(next.map((a) => a.to)).toEqual(["+254712000004", "+254712000005"]); // the retry is not due yet
    expect((await claim(s, c.id, "a", T0 + 601_000)).map((a) => [a.to, a.attemptNo])).toEqual([]); // full again (3 dialing)
    await s.settleAttempt({ id: next[0]!.id, outcome: "busy", detail: "", endReason: null, at: T0 + 3000 });
    const retry = await claim(s, c.id, "a", T0 + 601_000);
    expect(retry.map((a) => [a.to, a.attemptNo])).toEqual([["+254712000000", 2]]);
    const last = await s.settleAttempt({ id: retry[0]!.id, outcome: "no_answer", detail: "", endReason: null, at: T0 + 602_000 });
    expect(last!.contact).toMatchObject({ state: "done", attempts: 2, outcome: "no_answer" });
    const list = await s.contacts(c.id, { limit: 10 });
    expect(list.find((k) => k.to === "+254712000002")!.callIds).toEqual(["HD_1"]);
    expect((await s.contacts(c.id, { limit: 10, outcome: "opted_out" })).map((k) => k.to)).toEqual(["+254712000001"]);
    expect((await s.contacts(c.id, { limit: 2, after: 1 })).map((k) => k.seq)).toEqual([2, 3]);

    // Cancel: pending contacts end cancelled; one dialing ends as it ends, and is not tried again.
    expect(await s.setCampaignState(c.id, ["running"], "cancelled", T0 + 700_000)).toBe(true);
    expect(await s.closeContacts(c.id, "cancelled", T0 + 700_000)).toBe(1);
    const after = await s.settleAttempt({ id: next[1]!.id, outcome: "no_answer", detail: "", endReason: null, at: T0 + 701_000 });
    expect(after!.contact).toMatchObject({ state: "done", outcome: "cancelled" });
    expect(await claim(s, c.id, "a", T0 + 800_000)).toEqual([]);
    counts = await s.campaignCounts(c.id);
    expect(counts.states).toEqual({ pending: 0, dialing: 1, done: 5 });
    expect(await s.finishIfDone(c.id, T0)).toBe(false); // cancelled is not running
  });

  onBoth("two instances claiming one campaign at once: never more than maxConcurrent, no contact twice", async (url, engine) => {
    const { store: a } = await open(url, engine);
    const { log } = captureLog();
    const b = new SqlStore(url, engine, log);
    defer(() => b.close());
    await b.ready;
    const c = campaign({ maxConcurrent: 4 });
    await a.outbound.createCampaign({ ...c, contacts: 20 }, contacts(20));
    const seen = new Set<string>();
    for (let round = 0; round < 8; round++) {
      const got = (await Promise.all([claim(a.outbound, c.id, "a", T0 + round), claim(b.outbound, c.id, "b", T0 + round), claim(a.outbound, c.id, "a", T0 + round)])).flat();
      const dialing = (await a.outbound.campaignCounts(c.id)).states.dialing;
      expect(dialing).toBeLessThanOrEqual(4);
      for (const x of got) {
        expect(seen.has(x.contactId!)).toBe(false);
        seen.add(x.contactId!);
      }
      // Two of the calls end; their places are taken in the next round.
      const open = (await a.outbound.contacts(c.id, { state: "dialing", limit: 10 })).slice(0, 2);
      for (const k of open) await a.outbound.settleAttempt({ id: k.lastAttemptId!, outcome: "completed", detail: "", endReason: "caller_hangup", at: T0 + round });
    }
    expect(seen.size).toBe(4 + 7 * 2);
  });

  onBoth("an expired lease goes to exactly one of two instances taking over at once; renewals keep it", async (url, engine) => {
    const { store: a } = await open(url, engine);
    const { log } = captureLog();
    const b = new SqlStore(url, engine, log);
    defer(() => b.close());
    await b.ready;
    const ids = Array.from({ length: 6 }, () => newAttemptId());
    for (const id of ids) {
      await a.outbound.insertAttempt({ id, campaignId: null, contactId: null, attemptNo: 1, agent: "r", from: "+254711000100", to: "+254712000001", variables: {}, owner: "dead", leaseUntil: T0, createdAt: T0, nextCheckAt: T0 });
    }
    await a.outbound.insertAttempt({ id: "att_alive", campaignId: null, contactId: null, attemptNo: 1, agent: "r", from: "+1", to: "+2", variables: {}, owner: "alive", leaseUntil: T0, createdAt: T0, nextCheckAt: null });
    expect(await a.outbound.renewLeases("alive", T0 + 60_000)).toEqual(["att_alive"]);
    const [x, y] = await Promise.all([a.outbound.takeOver("x", T0 + 1, T0 + 30_000, 10), b.outbound.takeOver("y", T0 + 1, T0 + 30_000, 10)]);
    const taken = [...x, ...y].map((t) => t.id).sort();
    expect(taken).toEqual([...ids].sort());
    expect(new Set(taken).size).toBe(6);
    for (const t of x) expect(t.owner).toBe("x");
    expect(await a.outbound.takeOver("z", T0 + 2, T0 + 30_000, 10)).toEqual([]);
    expect((await a.outbound.dueAttempts(x[0]?.owner ?? "y", T0 + 1, 10)).length).toBe((x[0] ? x : y).length);
    // Done attempts are nobody's to take over.
    await a.outbound.settleAttempt({ id: ids[0]!, outcome: "failed", detail: "", endReason: null, at: T0 });
    expect((await a.outbound.takeOver("w", T0 + 60_001, T0 + 90_000, 10)).map((t) => t.id).sort()).toEqual([...ids.slice(1), "att_alive"].sort());
  });

  onBoth("events are new once; the do-not-call list adds once and removes", async (url, engine) => {
    const { store } = await open(url, engine);
    const s = store.outbound;
    expect(await s.firstEvent("ev1", T0)).toBe(true);
    expect(await s.firstEvent("ev1", T0)).toBe(false);
    await s.forgetEvent("ev1");
    expect(await s.firstEvent("ev1", T0)).toBe(true);
    expect(await s.dncAdd("+254712000001", "opt_out", T0)).toBe(true);
    expect(await s.dncAdd("+254712000001", "api", T0)).toBe(false);
    expect(await s.dncList(10, undefined)).toEqual([{ number: "+254712000001", source: "opt_out", at: T0 }]);
    expect(await s.dncRemove("+254712000001")).toBe(true);
    expect(await s.dncHas("+254712000001")).toBe(false);
  });
});

describe("retention", () => {
  onBoth("deletes ended attempts and finished campaigns older than the cutoff, keeps the rest and the do-not-call list", async (url, engine) => {
    const { store } = await open(url, engine);
    const s = store.outbound;
    const old = campaign({ state: "running" });
    await s.createCampaign({ ...old, contacts: 1 }, contacts(1));
    const [a] = await claim(s, old.id, "a", T0);
    await s.settleAttempt({ id: a!.id, outcome: "completed", detail: "", endReason: "caller_hangup", at: T0 });
    expect(await s.finishIfDone(old.id, T0)).toBe(true);
    const live = campaign({ state: "running" });
    await s.createCampaign({ ...live, contacts: 2 }, contacts(2));
    const single = newAttemptId();
    await s.insertAttempt({ id: single, campaignId: null, contactId: null, attemptNo: 1, agent: "r", from: "+1", to: "+254712000009", variables: { name: "x" }, owner: "a", leaseUntil: T0, createdAt: T0, nextCheckAt: null });
    await s.settleAttempt({ id: single, outcome: "busy", detail: "", endReason: null, at: T0 });
    const ringing = newAttemptId();
    await s.insertAttempt({ id: ringing, campaignId: null, contactId: null, attemptNo: 1, agent: "r", from: "+1", to: "+254712000008", variables: {}, owner: "a", leaseUntil: T0, createdAt: T0, nextCheckAt: null });
    await s.dncAdd("+254712000007", "opt_out", T0 - 86_400_000);
    await store.deleteOlderThan(T0 + 1);
    expect(await s.campaign(old.id)).toBeUndefined();
    expect(await s.attempt(a!.id)).toBeUndefined();
    expect(await s.contacts(old.id, { limit: 10 })).toEqual([]);
    expect(await s.attempt(single)).toBeUndefined();
    expect(await s.attempt(ringing)).toBeDefined();
    expect((await s.contacts(live.id, { limit: 10 })).length).toBe(2);
    expect(await s.dncHas("+254712000007")).toBe(true);
  });
});
