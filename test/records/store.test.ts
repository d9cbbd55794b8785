// The store and its helpers on real databases: migrations once, retention, the bounded write queue; and the
// settings that configure them.
import { describe, expect, test } from "bun:test";
import { cleanupAfterEach } from "../support/cleanup.ts";
import { SQL } from "bun";
import { ConfigError, loadConfig } from "../../src/config.ts";
import type { RecordOp } from "../../src/records/record.ts";
import { MIGRATIONS } from "../../src/records/migrations.ts";
import { Recorder, TURN_DELAY_MS } from "../../src/records/recorder.ts";
import { Retention } from "../../src/records/retention.ts";
import type { RecordStore } from "../../src/records/store.ts";
import { captureLog, until } from "../gemini/helpers.ts";
import { engines } from "./helpers.ts";

const defer = cleanupAfterEach();

const { sqliteUrl, open, onBoth: onBothEngines } = engines(defer);

const DAY = 86400000;
const utter = (id: string, seq: number): RecordOp => ({ kind: "utterance", id, seq, role: "caller", text: `u${seq}`, startMs: seq, endMs: seq + 1, interrupted: false, heardMs: null });

async function retentionOn(url: string, engine: "sqlite" | "postgres"): Promise<void> {
  const { store } = await open(url, engine);
  const now = Date.now();
  for (const [id, ageDays] of [["old", 31], ["edge", 29], ["new", 0]] as const) {
    expect(await store.claim({ id, agent: "a", caller: "+1", callee: "+2", at: now - ageDays * DAY })).toBe(true);
    await store.write([utter(id, 0), utter(id, 1)]);
  }
  const { log } = captureLog();
  expect(await new Retention(store, 0, log).runOnce(now)).toBe(0);
  expect(await store.getCall("old")).toBeDefined();
  expect(await new Retention(store, 30, log).runOnce(now)).toBe(1);
  expect(await store.getCall("old")).toBeUndefined();
  expect((await store.getCall("edge"))!.transcript).toHaveLength(2);
  expect((await store.listCalls({ limit: 10, before: undefined, agent: undefined, number: undefined })).calls.map((c) => c.id)).toEqual(["new", "edge"]);
}

/** A clock 31 days fast (a relay started with a wrong clock) must not delete what the right clock keeps: nothing
 *  newer than the newest record's start minus the retention period goes, and the pass says how far ahead it looks. */
async function retentionClockAheadOn(url: string, engine: "sqlite" | "postgres"): Promise<void> {
  const { store } = await open(url, engine);
  const now = Date.now();
  for (const [id, ageDays] of [["ancient", 45], ["month", 20], ["today", 0]] as const) {
    expect(await store.claim({ id, agent: "a", caller: "+1", callee: "+2", at: now - ageDays * DAY })).toBe(true);
    await store.write([utter(id, 0)]);
  }
  const { log, lines } = captureLog();
  const fast = now + 31 * DAY;
  expect(await new Retention(store, 30, log).runOnce(fast)).toBe(1);
  const left = await store.listCalls({ limit: 10, before: undefined, agent: undefined, number: undefined });
  expect(left.calls.map((c) => c.id)).toEqual(["today", "month"]);
  expect((await store.getCall("month"))!.transcript).toHaveLength(1);
  const warn = lines.map((l) => JSON.parse(l) as { level: number; msg: string; aheadMs?: number }).filter((l) => l.level === 40);
  expect(warn).toHaveLength(1);
  expect(warn[0]!.msg).toContain("ahead");
  expect(warn[0]!.aheadMs!).toBeGreaterThanOrEqual(31 * DAY - 60000);
  expect(warn[0]!.aheadMs!).toBeLessThanOrEqual(31 * DAY + 60000);
  // The injected clock is the one start() and the daily pass use; a right clock deletes as before and says nothing.
  const right = captureLog();
  expect(await new Retention(store, 10, right.log, () => now).runOnce()).toBe(1);
  expect(right.lines.some((l) => l.includes('"level":40'))).toBe(false);
  expect((await store.listCalls({ limit: 10, before: undefined, agent: undefined, number: undefined })).calls.map((c) => c.id)).toEqual(["today"]);
}

/** Caller and callee are stored in E.164, by the webhook's claim and by a start that found no claim row (the
 *  socket reached an instance the webhook did not); metadata.raw keeps the forms that were changed, beside the
 *  media server's frame. */
async function numbersOn(url: string, engine: "sqlite" | "postgres"): Promise<void> {
  const { store } = await open(url, engine);
  const now = Date.now();
  await store.claim({ id: "n1", agent: "a", caller: "254711000001", callee: "+254 700 000 002", at: now });
  await store.write([{ kind: "started", id: "n2", agent: "a", caller: "tel:+254711000001", callee: "0711000000", source: "phone", at: now + 1 }]);
  const frames: RecordOp[] = [
    { kind: "metadata", id: "n1", meta: { streamSid: "MZ1" } },
    { kind: "metadata", id: "n2", meta: { streamSid: "MZ2" } },
  ];
  await store.write(frames);
  await store.write(frames); // a batch may run twice
  expect(await store.getCall("n1")).toMatchObject({
    caller: "+254711000001",
    callee: "+254700000002",
    metadata: { streamSid: "MZ1", raw: { caller: "254711000001", callee: "+254 700 000 002" } },
  });
  // A national number has no country code to recover: kept as sent, so nothing raw to keep.
  const n2 = (await store.getCall("n2"))!;
  expect(n2).toMatchObject({ caller: "+254711000001", callee: "0711000000" });
  expect(n2.metadata).toEqual({ streamSid: "MZ2", raw: { caller: "tel:+254711000001" } });
  const list = await store.listCalls({ limit: 10, before: undefined, agent: undefined, number: "+254711000001" });
  expect(list.calls.map((c) => c.id)).toEqual(["n2", "n1"]);
}

/** Runs of utterances go to the database as one statement each; a batch written twice still records each once. */
async function utteranceRunsOn(url: string, engine: "sqlite" | "postgres"): Promise<void> {
  const { store } = await open(url, engine);
  expect(await store.claim({ id: "u", agent: "a", caller: "+1", callee: "+2", at: Date.now() })).toBe(true);
  const agentCut: RecordOp = { kind: "utterance", id: "u", seq: 2, role: "agent", text: "cut", startMs: 2.4, endMs: 3.6, interrupted: true, heardMs: 812.7 };
  const batch: RecordOp[] = [
    utter("u", 0),
    utter("u", 1),
    { kind: "toolCall", id: "u", seq: 0, toolCallId: "t1", name: "lookup", args: { q: 1 }, atMs: 2 },
    agentCut,
    utter("u", 3),
  ];
  await store.write(batch);
  await store.write(batch);
  const rec = (await store.getCall("u"))!;
  expect(rec.transcript).toEqual([
    { role: "caller", text: "u0", startMs: 0, endMs: 1, interrupted: false, heardMs: null },
    { role: "caller", text: "u1", startMs: 1, endMs: 2, interrupted: false, heardMs: null },
    { role: "agent", text: "cut", startMs: 2, endMs: 4, interrupted: true, heardMs: 813 },
    { role: "caller", text: "u3", startMs: 3, endMs: 4, interrupted: false, heardMs: null },
  ]);
  expect(rec.toolCalls.map((t) => t.id)).toEqual(["t1"]);
}

describe("store", () => {
  onBothEngines("runs of utterances in a batch are written once each, in order, values intact, even when the batch is run again", utteranceRunsOn);

  test("SQLite: migrations apply once; a second open finds the schema current", async () => {
    const url = sqliteUrl();
    const a = await open(url, "sqlite");
    const b = await open(url, "sqlite");
    expect(a.lines.some((l) => l.includes("schema migrated"))).toBe(true);
    expect(b.lines.some((l) => l.includes("schema migrated"))).toBe(false);
    const raw = new SQL(url);
    defer(() => raw.close());
    expect(await raw`SELECT version FROM schema_migrations ORDER BY version`).toEqual(MIGRATIONS.map((m) => ({ version: m.version })).sort((x, y) => x.version - y.version));
    expect(await raw`PRAGMA journal_mode`).toEqual([{ journal_mode: "wal" }]);
  });

  onBothEngines("caller and callee are stored in E.164 by the claim and by a start without one; metadata.raw keeps the forms sent", numbersOn);
  onBothEngines("retention deletes calls past RECORDS_RETENTION_DAYS with their transcript; 0 keeps everything", retentionOn);
  onBothEngines("retention on a clock far ahead of the data deletes nothing newer than the newest start minus the period, and warns", retentionClockAheadOn);
});

/** A real store that can be switched off, as a database that went away. */
function switchable(inner: RecordStore): RecordStore & { down: boolean } {
  const s = Object.create(inner) as RecordStore & { down: boolean };
  s.down = true;
  s.write = (ops) => (s.down ? Promise.reject(new Error("connection refused")) : inner.write(ops));
  return s;
}

describe("recorder queue", () => {
  test("a call's start is written within moments, with what was queued before it; utterances alone gather for TURN_DELAY_MS", async () => {
    const { store } = await open(sqliteUrl(), "sqlite");
    const batches: Array<{ kinds: string[]; afterMs: number }> = [];
    let t0 = performance.now();
    const watched = Object.create(store) as RecordStore;
    watched.write = (ops) => {
      batches.push({ kinds: ops.map((o) => o.kind), afterMs: performance.now() - t0 });
      return store.write(ops);
    };
    const rec = new Recorder({ store: watched, queueMax: 100, deliveries: false, log: captureLog().log });
    defer(() => rec.stop());
    rec.push(utter("HD_b", 0));
    rec.push({ kind: "started", id: "HD_b", agent: "a", caller: "+1", callee: "+2", source: "phone", at: Date.now() });
    await until(() => batches.length === 1, "the start's batch");
    expect(batches[0]!.kinds).toEqual(["utterance", "started"]);
    expect(batches[0]!.afterMs).toBeLessThan(TURN_DELAY_MS);
    await until(() => rec.pending === 0, "first batch written");
    t0 = performance.now();
    rec.push(utter("HD_b", 1));
    rec.push(utter("HD_b", 2));
    await until(() => batches.length === 2, "the utterances' batch");
    expect(batches[1]!.kinds).toEqual(["utterance", "utterance"]);
    expect(batches[1]!.afterMs).toBeGreaterThanOrEqual(TURN_DELAY_MS - 5);
    await until(() => rec.pending === 0, "second batch written");
    expect((await store.getCall("HD_b"))!.transcript.map((u) => u.text)).toEqual(["u0", "u1", "u2"]);
  });

  test("bounded: while the database is down ops wait; past the bound they are dropped, counted and logged; the rest land later", async () => {
    const { store } = await open(sqliteUrl(), "sqlite");
    expect(await store.claim({ id: "HD_q", agent: "a", caller: "", callee: "", at: Date.now() })).toBe(true);
    const flaky = switchable(store);
    const { log, lines } = captureLog();
    const rec = new Recorder({ store: flaky, queueMax: 100, deliveries: false, log });
    defer(() => rec.stop());
    for (let i = 0; i < 130; i++) rec.push(utter("HD_q", i));
    expect(rec.pending).toBe(100);
    expect(rec.dropped).toBe(30);
    expect(lines.filter((l) => l.includes("write queue full")).length).toBe(1);
    await until(() => lines.some((l) => l.includes("database write failed")), "write failure logged");
    flaky.down = false;
    await until(() => rec.pending === 0, "queue written after the database returned", 15000);
    const r = await store.getCall("HD_q");
    expect(r!.transcript.map((u) => u.text)).toEqual(Array.from({ length: 100 }, (_, i) => `u${i}`));
    expect(lines.some((l) => l.includes("database writes resumed"))).toBe(true);
  });
});

describe("settings", () => {
  const err = (env: Record<string, string>): ConfigError => {
    try {
      loadConfig(env);
    } catch (e) {
      if (e instanceof ConfigError) return e;
      throw e;
    }
    throw new Error("no ConfigError");
  };

  test("defaults: SQLite under ./data, 30 days, no webhook, no token", () => {
    const c = loadConfig({});
    expect(c.records).toMatchObject({ databaseUrl: "sqlite://./data/sauti-relay.db", engine: "sqlite", retentionDays: 30, queueMax: 10000, adminToken: undefined, webhook: undefined });
    expect(loadConfig({ DATABASE_URL: "postgres://u:p@db:5432/relay" }).records.engine).toBe("postgres");
  });

  test("bad values name their variable and never echo secrets", () => {
    const bad = err({ DATABASE_URL: "mysql://root:hunter2@db/x" });
    expect(bad.variable).toBe("DATABASE_URL");
    expect(bad.message).not.toContain("hunter2");
    expect(err({ RECORDS_RETENTION_DAYS: "-1" }).variable).toBe("RECORDS_RETENTION_DAYS");
    expect(err({ CALL_WEBHOOK_URL: "https://example.com/hook" }).variable).toBe("CALL_WEBHOOK_SECRET");
    const secret = err({ CALL_WEBHOOK_URL: "https://example.com/hook", CALL_WEBHOOK_SECRET: "plain-secret-value" });
    expect(secret.variable).toBe("CALL_WEBHOOK_SECRET");
    expect(secret.message).not.toContain("plain-secret-value");
    expect(err({ CALL_WEBHOOK_URL: "ftp://example.com" }).variable).toBe("CALL_WEBHOOK_URL");
    const ok = { CALL_WEBHOOK_URL: "https://example.com/hook", CALL_WEBHOOK_SECRET: `whsec_${Buffer.alloc(24, 7).toString("base64")}` };
    expect(err({ ...ok, CALL_WEBHOOK_RETRIES: "9" }).variable).toBe("CALL_WEBHOOK_RETRIES");
    expect(loadConfig(ok).records.webhook).toMatchObject({ retries: 6, backoffMs: 5000, timeoutMs: 15000 });
    expect(err({ ...ok, CALL_WEBHOOK_SECRET: `whsec_${Buffer.alloc(16, 7).toString("base64")}` }).variable).toBe("CALL_WEBHOOK_SECRET");
    const short = err({ ADMIN_TOKEN: "short" });
    expect(short.variable).toBe("ADMIN_TOKEN");
    expect(short.message).not.toContain('"short"');
  });
});
