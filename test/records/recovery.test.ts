// The SQLite records file when the filesystem misbehaves: its directory cannot be created at start (the parent path
// is a regular file, which stops root too) and can later; the file is deleted, or replaced, under a running relay.
// Real relays, real files and directories, the real /healthz.
import { SQL } from "bun";
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { singleAgent } from "../../src/call/agent.ts";
import { startHarness, until, type Harness } from "../relay/harness.ts";
import { cleanupAfterEach } from "../support/cleanup.ts";
import { removeSqlite } from "../support/scratch-db.ts";
import { ADMIN_ENV, agent, engines, expectTalkRecord, openCall, recordWhen, talkAndHangUp } from "./helpers.ts";

const defer = cleanupAfterEach();
const { open } = engines(defer);

function scratchPath(what: string): string {
  const p = `${tmpdir()}/sauti-${what}-${process.pid}-${crypto.randomUUID()}`;
  defer(() => rmSync(p, { recursive: true, force: true }));
  return p;
}

async function recordsReady(h: Harness): Promise<boolean> {
  const body = (await (await fetch(`${h.base}/healthz`)).json()) as { records: { ready: boolean } };
  return body.records.ready;
}

async function eventually(pred: () => Promise<boolean>, label: string, timeoutMs = 20000): Promise<void> {
  const t0 = Date.now();
  while (!(await pred())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for: ${label}`);
    await Bun.sleep(50);
  }
}

/** The call ids in the calls table of the file on disk now (not what a relay's open connection sees). */
async function idsOnDisk(file: string): Promise<string[]> {
  const raw = new SQL({ adapter: "sqlite", filename: file, readonly: true });
  try {
    return ((await raw`SELECT id FROM calls ORDER BY id`) as { id: string }[]).map((r) => r.id);
  } finally {
    await raw.close();
  }
}

const errors = (h: Harness, text: string) => h.logs.filter((l) => l.includes('"level":50') && l.includes(text));

describe("SQLite records file", () => {
  test("its directory cannot be created at start: calls work meanwhile, and once it can the store opens a new client, migrates, and the record lands", async () => {
    const dir = scratchPath("unopenable");
    writeFileSync(dir, "a regular file where the records directory should be");
    await using h = await startHarness({ ...ADMIN_ENV, DATABASE_URL: `sqlite://${dir}/records.db` }, {}, { router: singleAgent(agent) });
    await until(() => h.logs.some((l) => l.includes("cannot prepare the database")), "open failure logged");
    await talkAndHangUp(h, "HD_unopenable");
    await until(() => h.calls.activeCalls === 0, "call ended");
    expect(await recordsReady(h)).toBe(false);

    rmSync(dir);
    mkdirSync(dir);
    await eventually(() => recordsReady(h), "records ready once the directory exists", 40000);
    expect(existsSync(`${dir}/records.db`)).toBe(true);
    const rec = await recordWhen(h, "HD_unopenable", (r) => r.endedAt !== null && r.transcript.length === 3, "record written after recovery");
    expectTalkRecord(rec, "HD_unopenable");
    expect(await idsOnDisk(`${dir}/records.db`)).toEqual(["HD_unopenable"]);
  }, 60000);

  test("deleted under a running relay: logged at error, ready false while it cannot be reopened, then a fresh file is migrated and records land in it", async () => {
    const dir = scratchPath("deleted");
    mkdirSync(dir);
    const file = `${dir}/records.db`;
    await using h = await startHarness({ DATABASE_URL: `sqlite://${file}` }, {}, { router: singleAgent(agent) });
    await h.records.store.ready;
    (await openCall(h, "HD_before")).caller.ws.close();
    await recordWhen(h, "HD_before", (r) => r.endedAt !== null, "first record");
    expect(await idsOnDisk(file)).toEqual(["HD_before"]);

    // Deleted, the directory still there: noticed, and a fresh file is opened at once.
    removeSqlite(file);
    await until(() => errors(h, "deleted").length === 1, "deletion logged at error", 15000);
    await eventually(async () => existsSync(file) && (await recordsReady(h)), "fresh file ready");
    (await openCall(h, "HD_after")).caller.ws.close();
    await recordWhen(h, "HD_after", (r) => r.endedAt !== null, "record in the fresh file");
    expect(await idsOnDisk(file)).toEqual(["HD_after"]);
    const raw = new SQL({ adapter: "sqlite", filename: file, readonly: true });
    expect(((await raw`SELECT version FROM schema_migrations ORDER BY version`) as { version: number }[]).length).toBeGreaterThanOrEqual(3);
    await raw.close();

    // Now the directory goes too and a regular file takes its place: /healthz says not ready until it is back.
    rmSync(dir, { recursive: true });
    writeFileSync(dir, "in the way");
    await eventually(async () => !(await recordsReady(h)), "records not ready while the file cannot be reopened", 15000);
    expect(errors(h, "deleted").length).toBe(2);
    (await openCall(h, "HD_while_gone")).caller.ws.close();
    await until(() => h.calls.activeCalls === 0, "call during the outage ended");
    await Bun.sleep(1000);
    expect(await recordsReady(h)).toBe(false);
    rmSync(dir);
    mkdirSync(dir);
    await eventually(() => recordsReady(h), "ready again once the directory is back", 40000);
    const rec = await recordWhen(h, "HD_while_gone", (r) => r.endedAt !== null, "queued record landed");
    expect(rec.endReason).toBe("caller_hangup");
    expect(await idsOnDisk(file)).toEqual(["HD_while_gone"]);
  }, 90000);

  test("replaced under a running store (a backup moved into place): the store reopens onto the new file", async () => {
    const dir = scratchPath("replaced");
    mkdirSync(dir);
    const file = `${dir}/records.db`;
    const { store, lines } = await open(`sqlite://${file}`, "sqlite", { fileCheckMs: 50 });
    expect(await store.claim({ id: "mine", agent: "a", caller: "", callee: "", at: Date.now() })).toBe(true);
    const other = await open(`sqlite://${dir}/backup.db`, "sqlite");
    expect(await other.store.claim({ id: "from_backup", agent: "a", caller: "", callee: "", at: Date.now() })).toBe(true);
    await other.store.close();
    renameSync(`${dir}/backup.db`, file);
    await eventually(async () => store.isReady && (await store.getCall("from_backup").catch(() => undefined)) !== undefined, "store reads the replacement");
    expect(await store.getCall("mine")).toBeUndefined();
    expect(lines.some((l) => l.includes('"level":50') && l.includes("replaced"))).toBe(true);
  }, 20000);
});
