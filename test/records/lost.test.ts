// Records a process left open when it died: no instance owns them, so whichever instance sweeps first closes them
// as `lost` (two stores on one PostgreSQL database and on one SQLite file, sweeping at once); a relay restarted on
// the database sweeps at start. A record closed on a guess (lost, no_media) yields to the call if it turns up.
import { SQL } from "bun";
import { describe, expect, test } from "bun:test";
import { singleAgent } from "../../src/call/agent.ts";
import { LOST_MARGIN_MS, lostAfterMs, NO_LIMIT_MS } from "../../src/records/lost.ts";
import type { RecordOp } from "../../src/records/record.ts";
import type { SqlStore } from "../../src/records/store.ts";
import { startHarness } from "../relay/harness.ts";
import { cleanupAfterEach } from "../support/cleanup.ts";
import { removeSqlite, scratchSqliteFile } from "../support/scratch-db.ts";
import { agent, engines, getJson, recordWhen } from "./helpers.ts";
import type { CallRecord } from "../../src/records/record.ts";

const defer = cleanupAfterEach();
const { open, onBoth } = engines(defer);

const HOUR = 3600_000;

function ended(id: string, at: number): RecordOp {
  return {
    kind: "ended",
    id,
    at,
    durationMs: 1000,
    reason: "caller_hangup",
    detail: "caller socket closed (1000)",
    agentTurns: 1,
    bargeIns: 0,
    rejectedTurns: 0,
    firstAudioMs: undefined,
    audio: { framesIn: 1, framesOut: 1, underrunMs: 0, discardedMs: 0, droppedMs: 0, overflowMs: 0 },
    model: {},
    usage: { totalTokens: 0, tokens: {} },
    delivery: undefined,
  };
}

const started = (id: string, at: number): RecordOp => ({ kind: "started", id, agent: "a", caller: "+254700000001", callee: "+254700000002", source: "phone", at });

async function seed(store: SqlStore, now: number): Promise<void> {
  const claim = (id: string, at: number) => store.claim({ id, agent: "a", caller: "+254700000001", callee: "+254700000002", at });
  await claim("ringing_old", now - 2 * HOUR); // answered with <Stream>, then the process died
  await claim("live_old", now - 2 * HOUR); // mid-call when the process died
  await store.write([started("live_old", now - 2 * HOUR + 500)]);
  await claim("ended_old", now - 2 * HOUR);
  await store.write([started("ended_old", now - 2 * HOUR + 500), ended("ended_old", now - HOUR)]);
  await claim("fresh", now - 60_000);
  await claim("kept", now - 2 * HOUR); // still live on the sweeping instance (an agent with no limit)
}

async function twoStoresSweep(url: string, engine: "sqlite" | "postgres"): Promise<void> {
  const a = await open(url, engine);
  const b = await open(url, engine);
  const now = Date.now();
  await seed(a.store, now);
  const sweep = { before: now - HOUR, at: now, detail: "no instance ended it", keep: ["kept"] };
  const closed = await Promise.all([a.store.closeLost(sweep), b.store.closeLost(sweep), a.store.closeLost(sweep)]);
  expect(closed.reduce((x, y) => x + y, 0)).toBe(2);
  for (const id of ["ringing_old", "live_old"]) {
    const r = (await b.store.getCall(id))!;
    expect(r).toMatchObject({ endReason: "lost", endDetail: "no instance ended it", endedAt: new Date(now).toISOString() });
  }
  expect((await a.store.getCall("ringing_old"))!.answeredAt).toBeNull();
  expect((await a.store.getCall("ended_old"))!.endReason).toBe("caller_hangup");
  for (const id of ["fresh", "kept"]) expect((await a.store.getCall(id))!.endedAt).toBeNull();
  expect(await b.store.closeLost(sweep)).toBe(0);

  // A live instance that was only slow (or a call longer than the window) ends the call after all: its end wins.
  await a.store.write([ended("live_old", now + 1000)]);
  expect((await b.store.getCall("live_old"))!).toMatchObject({ endReason: "caller_hangup", durationMs: 1000 });
}

/** no_media is decided by the instance that answered the webhook; it must not close a call another one took. */
async function guessesYield(url: string, engine: "sqlite" | "postgres"): Promise<void> {
  const { store } = await open(url, engine);
  const now = Date.now();
  const noMedia = (id: string): RecordOp => ({ kind: "unanswered", id, at: now, reason: "no_media", detail: "the media server never opened the audio socket" });
  for (const id of ["elsewhere", "late"]) await store.claim({ id, agent: "a", caller: "+254700000001", callee: "+254700000002", at: now - 20_000 });
  await store.write([started("elsewhere", now - 19_000)]);
  await store.write([noMedia("elsewhere"), noMedia("late")]);
  expect((await store.getCall("elsewhere"))!).toMatchObject({ endReason: null, endedAt: null });
  expect((await store.getCall("late"))!.endReason).toBe("no_media");
  await store.write([started("late", now + 1000)]);
  expect((await store.getCall("late"))!).toMatchObject({ endReason: null, endedAt: null, endDetail: null, answeredAt: new Date(now + 1000).toISOString() });
}

describe("records no instance owns", () => {
  onBoth("two stores on one database: open records older than the window are closed as lost once, by whichever sweeps first", twoStoresSweep);
  onBoth("a no_media guess never closes a call already answered, and yields to a socket that turns up late", guessesYield);

  test("the window is the longest call any agent allows plus a margin; an agent with no limit counts as NO_LIMIT_MS", () => {
    const a = (maxCallSeconds: number) => ({ ...agent, maxCallSeconds });
    expect(lostAfterMs([a(900), a(300)])).toBe(900_000 + LOST_MARGIN_MS);
    expect(lostAfterMs([a(900), a(0)])).toBe(NO_LIMIT_MS + LOST_MARGIN_MS);
    expect(lostAfterMs(undefined)).toBe(NO_LIMIT_MS + LOST_MARGIN_MS);
    expect(lostAfterMs([])).toBe(NO_LIMIT_MS + LOST_MARGIN_MS);
  });

  test("a relay restarted on the database closes the record its previous run left open, and leaves a recent one", async () => {
    const file = scratchSqliteFile("lost");
    defer(() => removeSqlite(file));
    const env = { DATABASE_URL: `sqlite://${file}` };
    const first = await startHarness(env, {}, { router: singleAgent({ ...agent, maxCallSeconds: 600 }) });
    await first.records.store.ready;
    // The previous run's rows as it left them: a call answered 2 hours ago, one a minute ago, neither ended.
    await first.stop();
    const raw = new SQL(`sqlite://${file}`);
    const now = Date.now();
    await raw`INSERT INTO calls (id, agent, caller, callee, source, started_at, answered_at) VALUES
      ('HD_died', 'support', '+254700000001', '+254700000002', 'phone', ${now - 2 * HOUR}, ${now - 2 * HOUR + 800}),
      ('HD_recent', 'support', '+254700000001', '+254700000002', 'phone', ${now - 60_000}, ${now - 59_000})`;
    await raw.close();

    await using h = await startHarness(env, {}, { router: singleAgent({ ...agent, maxCallSeconds: 600 }) });
    await h.records.store.ready;
    const died = await recordWhen(h, "HD_died", (r) => r.endedAt !== null, "left-open record closed");
    expect(died.endReason).toBe("lost");
    expect(died.endDetail).toContain("no instance");
    expect((await getJson<CallRecord>(h, "/api/calls/HD_recent")).body.endedAt).toBeNull();
    expect(h.logs.some((l) => l.includes('"level":40') && l.includes("lost") && l.includes('"closed":1'))).toBe(true);
  }, 30000);
});
