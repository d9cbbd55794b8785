// One live socket per call across instances: two relays in this process on one database (a PostgreSQL server,
// and one SQLite file), sharing the stream token secret. A stream URL minted and opened on relay A is refused by
// relay B while A's socket is open (409, no model session on B), and after the call ended (410).
import { afterEach, describe, expect, test } from "bun:test";
import { singleAgent } from "../../src/call/agent.ts";
import { Caller, PROTO, startHarness, until, type Harness } from "../relay/harness.ts";
import { freshDatabase, pgTest } from "../support/postgres.ts";
import { agent } from "./helpers.ts";
import { removeSqlite, scratchSqliteFile } from "../support/scratch-db.ts";

const harnesses: Harness[] = [];
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.stop();
  for (const c of cleanups.splice(0)) await c();
}, 20000);

async function relayOn(databaseUrl: string): Promise<Harness> {
  const h = await startHarness({ DATABASE_URL: databaseUrl, STREAM_TOKEN_SECRET: "shared-stream-secret" }, {}, { router: singleAgent(agent) });
  harnesses.push(h);
  await h.records.store.ready;
  return h;
}

/** The upgrade request as a media server sends it, answered with its HTTP status (101 when accepted). */
function rawUpgrade(url: string): Promise<Response> {
  return fetch(url.replace(/^ws/, "http"), {
    headers: {
      upgrade: "websocket",
      connection: "Upgrade",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      "sec-websocket-version": "13",
      "sec-websocket-protocol": PROTO,
    },
  });
}

/** The same stream URL, sent to another relay (as a balancer might). */
function onRelay(url: string, h: Harness): string {
  const u = new URL(url);
  u.port = String(h.relay.port);
  return u.toString();
}

async function secondSocketRefusedElsewhere(databaseUrl: string, id: string): Promise<void> {
  const a = await relayOn(databaseUrl);
  const b = await relayOn(databaseUrl);
  const url = await a.streamUrlFor(id);
  const caller = await new Caller(url).open();
  expect(caller.opened).toBe(true);
  await until(() => a.calls.activeCalls === 1, "call live on A");

  const onB = onRelay(url, b);
  expect((await rawUpgrade(onB)).status).toBe(409);
  const second = new Caller(onB);
  await until(() => second.opened || second.closed !== undefined || second.error, "second upgrade on B answered");
  expect(second.opened).toBe(false);
  expect(b.calls.activeCalls).toBe(0);
  expect(b.standin.sessions.length).toBe(0);

  caller.ws.close(1000);
  await until(() => a.calls.activeCalls === 0, "call ended on A");
  // A marks the call ended in the database just after the socket closes; until then B still answers 409.
  let status = 409;
  for (const t0 = Date.now(); status === 409 && Date.now() - t0 < 10000; ) {
    status = (await rawUpgrade(onB)).status;
    if (status === 409) await Bun.sleep(20);
  }
  expect(status).toBe(410);
  expect(b.standin.sessions.length).toBe(0);
  expect(b.calls.activeCalls).toBe(0);
  // A refuses it too.
  expect((await rawUpgrade(url)).status).toBe(410);
}

describe("stream claims shared by instances", () => {
  pgTest(
    "PostgreSQL: a URL open on relay A gets 409 on relay B (no model session), and 410 on B after the call ended",
    async () => {
      const db = await freshDatabase();
      cleanups.push(() => db.drop());
      await secondSocketRefusedElsewhere(db.url, "SC_pg");
    },
    30000,
  );

  test("SQLite: two relays on one file: 409 on B while A's socket is open, 410 after the call ended", async () => {
    const file = scratchSqliteFile("stream-claims");
    cleanups.push(() => {
      removeSqlite(file);
    });
    await secondSocketRefusedElsewhere(`sqlite://${file}`, "SC_sqlite");
  }, 30000);
});
