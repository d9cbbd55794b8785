// Shared pieces of the records tests: a call with transcripts, a tool call and a barge-in, played through the
// real relay; reading records over the real API.
import { expect, test } from "bun:test";
import type { Agent, CallTool } from "../../src/call/agent.ts";
import { KILL_AUDIO } from "../../src/telephony/audio-socket.ts";
import { loadConfig } from "../../src/config.ts";
import type { CallRecord } from "../../src/records/record.ts";
import { SqlStore, type StoreOptions } from "../../src/records/store.ts";
import { captureLog } from "../support/log.ts";
import { Caller, until, type Harness } from "../relay/harness.ts";
import { freshDatabase, pgTest } from "../support/postgres.ts";
import { removeSqlite, scratchSqliteFile } from "../support/scratch-db.ts";

export const lookup: CallTool = {
  declaration: { name: "lookup_order", description: "Find an order.", parameters: { type: "object", properties: { order: { type: "string" } } } },
  timeoutMs: 2000,
  run: async (args) => ({ order: args.order, status: "ok", eta: "16:00" }),
};

export const agent: Agent = { name: "support", model: "gemini-3.8-live", voice: "Puck", prompt: "Test.", greeting: "", tools: [lookup], maxCallSeconds: 0, idleSeconds: 0 };

export const LONG_ANSWER = "Your order arrives at four in the afternoon, and the courier will call you first.";
export const METADATA = { streamSid: "MZ1", callSid: "x", from: "+254700000001", to: "+254700000002" };

/** Records tests that check whole records read them as the admin: only a viewer with ADMIN_TOKEN sees whole
 *  phone numbers (src/phone-numbers.ts). Start the harness with ADMIN_ENV for that. */
export const ADMIN_ENV = { ADMIN_TOKEN: "records-test-admin-token" };

function asAdmin(h: Harness, headers: Record<string, string> = {}): Record<string, string> {
  const t = h.config.records.adminToken;
  return t === undefined || "authorization" in headers ? headers : { ...headers, authorization: `Bearer ${t}` };
}

export async function getJson<T>(h: Harness, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(h.base + path, { headers: asAdmin(h, headers) });
  return { status: res.status, body: (await res.json()) as T };
}

/** Polls the API until the call's record satisfies `done`. */
export async function recordWhen(h: Harness, id: string, done: (r: CallRecord) => boolean, label: string, timeoutMs = 15000): Promise<CallRecord> {
  let last: CallRecord | undefined;
  const t0 = Date.now();
  for (;;) {
    const res = await fetch(`${h.base}/api/calls/${encodeURIComponent(id)}`, { headers: asAdmin(h) });
    if (res.status === 200) {
      last = (await res.json()) as CallRecord;
      if (done(last)) return last;
    }
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for: ${label}; last record: ${JSON.stringify(last)}`);
    await Bun.sleep(50);
  }
}

export async function openCall(h: Harness, id: string): Promise<{ caller: Caller; live: Harness["standin"]["sessions"][number] }> {
  const before = h.standin.sessions.length;
  const caller = await new Caller(await h.streamUrlFor(id)).open();
  caller.ws.send(JSON.stringify({ ...METADATA, callSid: id }));
  await until(() => h.standin.sessions.length > before && h.standin.sessions[h.standin.sessions.length - 1]!.ready, "live ready");
  return { caller, live: h.standin.sessions[h.standin.sessions.length - 1]! };
}

/**
 * The caller asks (two input transcription fragments), the agent answers (output fragments), calls a tool, starts
 * a long answer and is cut by barge-in; then the caller hangs up.
 */
export async function talkAndHangUp(h: Harness, id: string): Promise<void> {
  const { caller, live } = await openCall(h, id);
  live.send({ serverContent: { inputTranscription: { text: "Where is my", finished: false } } });
  live.send({ serverContent: { inputTranscription: { text: " order?", finished: true } } });
  const turnsDone = () => live.sent.filter((k) => k.includes("usageMetadata")).length;
  live.speak({ ms: 400, transcript: "Let me check that for you." });
  await until(() => turnsDone() === 1 && caller.audioMs() > 400, "first answer complete and played", 10000);
  live.toolCall("lookup_order", { order: "A1" });
  await until(() => live.toolResponses.length === 1, "tool answered");
  live.speak({ ms: 5000, transcript: LONG_ANSWER });
  await until(() => caller.audioMs() > 1200, "second answer playing", 10000);
  live.interrupt();
  await until(() => caller.texts.includes(KILL_AUDIO), "killAudio");
  caller.ws.close();
}

/** What every engine must have stored for talkAndHangUp(). */
export function expectTalkRecord(r: CallRecord, id: string): void {
  expect(r).toMatchObject({
    id,
    agent: "support",
    caller: "+254700000001",
    callee: "+254700000002",
    source: "phone",
    endReason: "caller_hangup",
    agentTurns: 2,
    bargeIns: 1,
    metadata: { ...METADATA, callSid: id },
  });
  expect(Date.parse(r.startedAt)).toBeLessThanOrEqual(Date.parse(r.answeredAt!));
  expect(Date.parse(r.answeredAt!)).toBeLessThanOrEqual(Date.parse(r.endedAt!));
  expect(r.durationMs!).toBeGreaterThan(0);
  expect(r.transcript.map((u) => [u.role, u.interrupted])).toEqual([
    ["caller", false],
    ["agent", false],
    ["agent", true],
  ]);
  const [ask, answer, cut] = r.transcript as [CallRecord["transcript"][0], CallRecord["transcript"][0], CallRecord["transcript"][0]];
  expect(ask.text).toBe("Where is my order?");
  expect(ask.heardMs).toBeNull();
  expect(answer.text).toBe("Let me check that for you.");
  expect(answer.heardMs).not.toBeNull();
  // Only what was generated before the cut; the caller heard part of the 5 s answer, not all of it.
  expect(cut.text.length).toBeGreaterThan(0);
  expect(LONG_ANSWER.startsWith(cut.text)).toBe(true);
  expect(cut.text.length).toBeLessThan(LONG_ANSWER.length);
  expect(cut.heardMs!).toBeGreaterThan(0);
  expect(cut.heardMs!).toBeLessThan(5000);
  // Times: ms from the stream's start, each utterance ordered within itself and after the one before it.
  for (const u of r.transcript) expect(u.endMs).toBeGreaterThanOrEqual(u.startMs);
  expect(ask.startMs).toBeGreaterThanOrEqual(0);
  expect(answer.startMs).toBeGreaterThanOrEqual(ask.startMs);
  expect(cut.startMs).toBeGreaterThan(answer.endMs);
  expect(cut.endMs).toBeLessThanOrEqual(r.durationMs!);
  expect(r.toolCalls).toHaveLength(1);
  expect(r.toolCalls[0]).toMatchObject({ name: "lookup_order", args: { order: "A1" }, outcome: "ok", result: { order: "A1", status: "ok", eta: "16:00" } });
  expect(r.toolCalls[0]!.atMs).toBeGreaterThan(answer.startMs);
  expect(r.toolCalls[0]!.atMs).toBeLessThan(cut.startMs);
  expect(r.usage!.totalTokens).toBeGreaterThan(0);
  expect(Object.keys(r.usage!.tokens).length).toBeGreaterThan(0);
  expect(r.firstAudioMs!.max).toBeGreaterThanOrEqual(r.firstAudioMs!.p50);
  // More than 1.2 s of audio went out, in frames of the default PLAYOUT_FRAME_MS the test relays run with.
  expect(r.audio!.framesOut * loadConfig({}).playoutFrameMs).toBeGreaterThan(1200);
  expect(r.reconnects).toBe(0);
  expect(r.rotations).toBe(0);
  expect(r.model!.connections).toBe(1);
}

export type EngineName = "sqlite" | "postgres";

/**
 * Store tests on both engines, cleaned up through `defer` (a file's cleanupAfterEach): `sqliteUrl()` is a fresh
 * SQLite file, `open` a store on a URL, `onBoth` runs one body as a SQLite test and as a PostgreSQL test on a fresh database.
 */
export function engines(defer: (undo: () => unknown) => void): {
  sqliteUrl(): string;
  /** A store on `url`, migrated, closed after the test; `lines` are its log. */
  open(url: string, engine: EngineName, o?: StoreOptions): Promise<{ store: SqlStore; lines: string[] }>;
  onBoth(what: string, body: (url: string, engine: EngineName) => Promise<void>, timeoutMs?: number): void;
} {
  const sqliteUrl = (): string => {
    const file = scratchSqliteFile("store");
    defer(() => removeSqlite(file));
    return `sqlite://${file}`;
  };
  return {
    sqliteUrl,
    async open(url, engine, o) {
      const { log, lines } = captureLog();
      const store = new SqlStore(url, engine, log, o);
      defer(() => store.close());
      await store.ready;
      return { store, lines };
    },
    onBoth(what, body, timeoutMs) {
      test(`SQLite: ${what}`, () => body(sqliteUrl(), "sqlite"), timeoutMs);
      pgTest(
        `PostgreSQL: ${what}`,
        async () => {
          const db = await freshDatabase();
          defer(() => db.drop());
          await body(db.url, "postgres");
        },
        timeoutMs,
      );
    },
  };
}
