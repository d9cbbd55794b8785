// The database stopped mid-call (the real PostgreSQL cluster, pg_ctl stop): the call goes on and ends normally,
// webhooks are decided from process memory, and once the database is back the whole record lands.
import { afterEach, describe, expect, test } from "bun:test";
import { singleAgent } from "../../src/call/agent.ts";
import { KILL_AUDIO } from "../../src/telephony/audio-socket.ts";
import { startHarness, until, type Harness } from "../relay/harness.ts";
import { freshDatabase, pgCtl, pgTest } from "../support/postgres.ts";
import { ADMIN_ENV, agent, expectTalkRecord, LONG_ANSWER, openCall, recordWhen, talkAndHangUp } from "./helpers.ts";

function closedPort(): number {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const p = s.port;
  s.stop(true);
  return p;
}

let h: Harness | undefined;
let stopped = false;
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  if (stopped) await pgCtl("start"); // never leave the shared test cluster down
  stopped = false;
  await h?.stop();
  h = undefined;
  for (const c of cleanups.splice(0)) await c();
}, 20000);

describe("database outage", () => {
  pgTest("PostgreSQL stopped mid-call: the call continues, and its record lands after the database returns", async () => {
    const db = await freshDatabase();
    cleanups.push(() => db.drop());
    h = await startHarness({ DATABASE_URL: db.url, ...ADMIN_ENV }, {}, { router: singleAgent(agent) });
    await h.records.store.ready;
    const id = "HD_outage";
    const { caller, live } = await openCall(h, id);
    live.send({ serverContent: { inputTranscription: { text: "Hello, is anyone there?", finished: true } } });
    live.speak({ ms: 300, transcript: "Yes, I am here." });
    await recordWhen(h, id, (r) => r.transcript.length === 2, "first exchange recorded before the outage");

    await pgCtl("stop");
    stopped = true;
    // The call goes on: the caller is heard and transcribed, the agent answers and is cut by barge-in.
    const heardBefore = caller.audioMs();
    const loudBefore = caller.loudSamples();
    live.send({ serverContent: { inputTranscription: { text: "Where is my order?", finished: true } } });
    live.toolCall("lookup_order", { order: "B2" });
    await until(() => live.toolResponses.length === 1, "tool answered during the outage");
    live.speak({ ms: 3000, transcript: LONG_ANSWER });
    await until(() => caller.audioMs() > heardBefore + 800, "agent audio flowing during the outage", 10000);
    expect(caller.loudSamples()).toBeGreaterThan(loudBefore + 16000 * 0.5);
    live.interrupt();
    await until(() => caller.texts.includes(KILL_AUDIO), "barge-in during the outage");

    // A new call's webhook while the database is down: decided from process memory, and logged.
    const xml = await (await h.post("/voice", "sessionId=HD_outage_new&callerNumber=%2B254700000009")).text();
    expect(xml).toContain("<Stream");
    expect(await (await h.post("/voice", "sessionId=HD_outage_new&callSessionState=Answered")).text()).toContain("<Response/>");
    expect(h.logs.some((l) => l.includes("deciding from this process's memory"))).toBe(true);
    // The API says the database is unavailable rather than failing.
    expect((await fetch(`${h.base}/api/calls/${id}`, { headers: { authorization: `Bearer ${ADMIN_ENV.ADMIN_TOKEN}` } })).status).toBe(503);

    caller.ws.close();
    await until(() => h!.calls.activeCalls === 0, "call ended");
    await until(() => h!.records.recorder.pending > 0 && h!.logs.some((l) => l.includes("records: database write failed")), "records waiting in memory");
    expect(h.records.recorder.dropped).toBe(0);
    const health = (await (await fetch(`${h.base}/healthz`)).json()) as { status: string; records: { queued: number } };
    expect(health.status).toBe("ok");
    expect(health.records.queued).toBeGreaterThan(0);

    await pgCtl("start");
    stopped = false;
    const rec = await recordWhen(h, id, (r) => r.endedAt !== null, "record complete after the database returned", 30000);
    expect(rec.endReason).toBe("caller_hangup");
    expect(rec.transcript.map((u) => [u.role, u.interrupted])).toEqual([
      ["caller", false],
      ["agent", false],
      ["caller", false],
      ["agent", true],
    ]);
    expect(rec.transcript.map((u) => u.text).slice(0, 3)).toEqual(["Hello, is anyone there?", "Yes, I am here.", "Where is my order?"]);
    expect(LONG_ANSWER.startsWith(rec.transcript[3]!.text)).toBe(true);
    expect(rec.toolCalls).toMatchObject([{ name: "lookup_order", args: { order: "B2" }, outcome: "ok" }]);
    expect(rec.bargeIns).toBe(1);
    await until(() => h!.records.recorder.pending === 0, "queue drained");
    expect(h.logs.some((l) => l.includes("records: database writes resumed"))).toBe(true);
  }, 60000);

  test("no database at start: calls are answered and played, webhooks decided from memory, /healthz says records are not ready", async () => {
    h = await startHarness({ DATABASE_URL: `postgres://relay@127.0.0.1:${closedPort()}/nowhere` }, {}, { router: singleAgent(agent) });
    await until(() => h!.logs.some((l) => l.includes("cannot prepare the database")), "database failure logged");
    const { caller, live } = await openCall(h, "HD_nodb");
    expect(await (await h.post("/voice", "sessionId=HD_nodb")).text()).toContain("<Response/>");
    expect(h.logs.some((l) => l.includes("HD_nodb") && l.includes("deciding from this process's memory"))).toBe(true);
    live.speak({ ms: 400, transcript: "Hello." });
    await until(() => caller.loudSamples() > 16000 * 0.3, "agent heard");
    const health = (await (await fetch(`${h.base}/healthz`)).json()) as { status: string; records: { ready: boolean } };
    expect(health).toMatchObject({ status: "ok", records: { ready: false } });
    expect((await fetch(`${h.base}/api/calls`)).status).toBe(503);
    caller.ws.close();
    await until(() => h!.calls.activeCalls === 0, "call ended");
  }, 30000);

  pgTest("PostgreSQL down at start, up later: the schema is migrated then, and the call made meanwhile is recorded", async () => {
    const db = await freshDatabase();
    cleanups.push(() => db.drop());
    await pgCtl("stop");
    stopped = true;
    h = await startHarness({ DATABASE_URL: db.url, ...ADMIN_ENV }, {}, { router: singleAgent(agent) });
    await until(() => h!.logs.some((l) => l.includes("cannot prepare the database")), "database failure logged");
    await talkAndHangUp(h, "HD_late_db");
    await until(() => h!.calls.activeCalls === 0, "call ended");
    expect(h.records.store.isReady).toBe(false);
    await pgCtl("start");
    stopped = false;
    await h.records.store.ready;
    const rec = await recordWhen(h, "HD_late_db", (r) => r.endedAt !== null && r.transcript.length === 3, "record after the database came up", 30000);
    expectTalkRecord(rec, "HD_late_db");
  }, 60000);
});
