// A call through the relay leaves a record: transcript utterances in order with roles, times and the interrupted
// agent turn, the tool call, the end-of-call figures. On a real SQLite file and a real PostgreSQL server, read
// back over the API, and still there after the relay restarts on the same database.
import { afterEach, describe, expect, test } from "bun:test";
import { singleAgent, type Agent, type AgentRouter } from "../../src/call/agent.ts";
import type { CallRecord } from "../../src/records/record.ts";
import { Caller, startHarness, until, type Harness } from "../relay/harness.ts";
import { cleanupAfterEach } from "../support/cleanup.ts";
import { freshDatabase, pgTest } from "../support/postgres.ts";
import { removeSqlite, scratchSqliteFile } from "../support/scratch-db.ts";
import { ADMIN_ENV, agent, expectTalkRecord, getJson, openCall, recordWhen, talkAndHangUp } from "./helpers.ts";

let h: Harness | undefined;
// The relay stops first (registered first, so it runs first), then what the test started beside it.
afterEach(async () => {
  await h?.stop();
  h = undefined;
}, 20000);
const cleanup = cleanupAfterEach();

async function relayOn(databaseUrl: string): Promise<Harness> {
  const hh = await startHarness({ DATABASE_URL: databaseUrl, ...ADMIN_ENV }, {}, { router: singleAgent(agent) });
  await hh.records.store.ready;
  return hh;
}

async function callSurvivesRestart(databaseUrl: string, id: string): Promise<void> {
  h = await relayOn(databaseUrl);
  await talkAndHangUp(h, id);
  const rec = await recordWhen(h, id, (r) => r.endedAt !== null && r.transcript.length === 3, "record complete");
  expectTalkRecord(rec, id);
  const list = await getJson<{ calls: CallRecord[]; next: string | null }>(h, "/api/calls");
  expect(list.body.calls.map((c) => c.id)).toEqual([id]);

  await h.stop();
  h = await relayOn(databaseUrl);
  const again = await getJson<CallRecord>(h, `/api/calls/${id}`);
  expect(again.status).toBe(200);
  expect(again.body).toEqual(rec);
}

/** A turn longer than MAX_QUEUED_AUDIO_S loses the rest of its audio; the record says how much. */
async function overflowIsKept(databaseUrl: string, id: string): Promise<void> {
  h = await startHarness({ DATABASE_URL: databaseUrl, MAX_QUEUED_AUDIO_S: "1" }, {}, { router: singleAgent(agent) });
  await h.records.store.ready;
  const { caller, live } = await openCall(h, id);
  live.speak({ ms: 4000, transcript: "A very long answer." });
  // 2 s of it at the model's 24 kHz: the queue was full long before.
  await until(() => h!.calls.calls()[0]!.stats().audio.overflowBytes >= 2 * 48000, "turn overflowed");
  caller.ws.close();
  const rec = await recordWhen(h, id, (r) => r.endedAt !== null, "record ended");
  // About 3 of the 4 s: what did not fit in the 1 s queue (the stand-in sends 5x faster than real time).
  expect(rec.audio!.overflowMs).toBeGreaterThan(1500);
  expect(rec.audio!.overflowMs).toBeLessThan(4000);
}

describe("a call's record", () => {
  test("SQLite file: model audio dropped past MAX_QUEUED_AUDIO_S is in the record's audio summary", async () => {
    const file = scratchSqliteFile("records");
    cleanup(() => {
      removeSqlite(file);
    });
    await overflowIsKept(`sqlite://${file}`, "HD_overflow_sqlite");
  }, 30000);

  pgTest("PostgreSQL: model audio dropped past MAX_QUEUED_AUDIO_S is in the record's audio summary", async () => {
    const db = await freshDatabase();
    cleanup(() => db.drop());
    await overflowIsKept(db.url, "HD_overflow_pg");
  }, 30000);

  test("SQLite file: utterances in order with roles, times and the interrupted turn; survives a restart", async () => {
    const file = scratchSqliteFile("records");
    cleanup(() => {
      removeSqlite(file);
    });
    await callSurvivesRestart(`sqlite://${file}`, "HD_rec_sqlite");
  }, 30000);

  pgTest("PostgreSQL: utterances in order with roles, times and the interrupted turn; survives a restart", async () => {
    const db = await freshDatabase();
    cleanup(() => db.drop());
    await callSurvivesRestart(db.url, "HD_rec_pg");
  }, 30000);

  test("a socket reaching a relay that did not see the webhook runs the agent the webhook's relay chose, with who called whom", async () => {
    const file = scratchSqliteFile("records");
    cleanup(() => {
      removeSqlite(file);
    });
    // Two relays on one SQLite file (WAL), with the same two agents: the webhook reaches the first, the audio
    // socket the second. Before, the second ran its default agent and the record kept the first's choice.
    const other: Agent = { ...agent, name: "fallback-agent", prompt: "You are the fallback." };
    const both: AgentRouter = { route: (n) => (n === "+254700000002" ? agent : other), list: () => [agent, other].map((a) => ({ agent: a, numbers: null })) };
    const a = await startHarness({ ...ADMIN_ENV, DATABASE_URL: `sqlite://${file}` }, {}, { router: both });
    await a.records.store.ready;
    cleanup(() => a.stop());
    h = await startHarness({ ...ADMIN_ENV, DATABASE_URL: `sqlite://${file}`, STREAM_TOKEN_SECRET: "stream-secret" }, {}, { router: { ...both, route: () => other } });
    await h.records.store.ready;
    const url = (await a.streamUrlFor("HD_split")).replace(`:${a.relay.port}/`, `:${h.relay.port}/`);
    const c = await new Caller(url).open();
    await until(() => h!.standin.sessions.some((s) => s.ready), "live ready on the second relay");
    expect(h.calls.calls()[0]!.info).toMatchObject({ agent: { name: "support" }, caller: "+254700000001", callee: "+254700000002" });
    expect(JSON.stringify(h.standin.sessions[0]!.setup)).toContain(agent.prompt);
    c.ws.close();
    const rec = await recordWhen(h, "HD_split", (r) => r.endedAt !== null, "record ended");
    expect(rec).toMatchObject({ agent: "support", caller: "+254700000001", callee: "+254700000002", endReason: "caller_hangup" });
    expect(rec.answeredAt).not.toBeNull();
  }, 30000);
});
