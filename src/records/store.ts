// Call records in SQL, on Bun's built-in client for both engines (docs/bun.md#sql): SQLite for one host (WAL, so
// several processes on it can share the file), PostgreSQL for several instances. One class: the dialects differ
// only in how a write transaction starts and in SQLite's single connection (see `run`).
import { SQL } from "bun";
import { mkdirSync, rmSync } from "node:fs";
import { stat } from "node:fs/promises";
import { dirname } from "node:path";
import type { ClaimStore } from "../admission/admission.ts";
import type { OutboundStore } from "../outbound/store.ts";
import { toE164 } from "../phone-numbers.ts";
import type { AnalysisSpec } from "../call/agent.ts";
import type { CallPurpose, CallSource, CallVariables, EndReason, Grounding, RecordingInfo, RecordingStatus, ToolCallEntry, ToolOutcome, Utterance } from "../call/data.ts";
import type { Logger } from "../log.ts";
import type { ClaimResult } from "../telephony/stream-claims.ts";
import { migrate, type Engine } from "./migrations.ts";
import { SqlOutboundStore } from "./outbound-store.ts";
import type { CallAnalysis, CallClaim, CallRecord, CallSummary, HandoffLive, HandoffRecord, RecordOp } from "./record.ts";

type UtteranceOp = Extract<RecordOp, { kind: "utterance" }>;
type HandoffOp = Extract<RecordOp, { kind: "handoff" }>;

export type { Engine };

/** Position in the newest-first list: the last call of the previous page. */
export interface Cursor {
  startedAt: number;
  id: string;
}

export interface ListQuery {
  limit: number;
  before: Cursor | undefined;
  agent: string | undefined;
  /** Matches the caller or the callee exactly, as stored (E.164 for phone numbers: see storedNumber). */
  number: string | undefined;
}

/** Closes records nobody will end: still open, started before `before`, not one of `keep` (this process's own). */
export interface LostQuery {
  before: number;
  at: number;
  detail: string;
  keep: readonly string[];
}

export interface CallPage {
  calls: CallSummary[];
  next: Cursor | undefined;
}

export interface DeliveryRow {
  id: string;
  callId: string;
  /** The JSON body, fixed at the first attempt so every retry sends the same bytes. */
  payload: string | null;
  attempts: number;
  /** The event type; null for call.ended (rows written before other events existed). */
  kind: string | null;
  /** A target of its own (call.handoff: the agent's notify URL and headers, JSON); null: CALL_WEBHOOK_URL. */
  url: string | null;
  headers: string | null;
}

/** A queued analysis, as the worker takes it (src/analysis/worker.ts). */
export interface AnalysisRow {
  callId: string;
  agent: string;
  spec: AnalysisSpec;
  attempts: number;
  badAnswers: number;
}

export interface AnalysisSettlement {
  status: "done" | "failed" | "skipped";
  /** What the record shows (a CallAnalysis other than pending). */
  result: CallAnalysis;
  attempts: number;
  badAnswers: number;
  at: number;
  /** Queue the call.analyzed event in the same transaction. */
  deliveryId: string | undefined;
}

export interface RecordStore extends ClaimStore {
  readonly engine: Engine;
  /** Outbound attempts, campaigns, the do-not-call list (src/outbound owns the contract). */
  readonly outbound: OutboundStore;
  /** Resolves once the schema is migrated; migration is retried in the background while the database is down. */
  readonly ready: Promise<void>;
  readonly isReady: boolean;
  /** Inserts the call's row if no row has its id; true when this insert made it (this relay answers <Stream>). */
  claim(c: CallClaim): Promise<boolean>;
  /** Deletes the call's row if its call never started (not answered, not ended): the claim is given up. */
  releaseClaim(id: string): Promise<void>;
  /** Applies a batch in one transaction. Every op is idempotent, so a batch may be run again. */
  write(ops: RecordOp[]): Promise<void>;
  listCalls(q: ListQuery): Promise<CallPage>;
  getCall(id: string): Promise<CallRecord | undefined>;
  dueDeliveries(now: number, limit: number): Promise<DeliveryRow[]>;
  /** Takes a delivery for one attempt until `until`; false when another instance holds it or it is done. */
  leaseDelivery(id: string, now: number, until: number): Promise<boolean>;
  setDeliveryPayload(id: string, payload: string): Promise<void>;
  deliveryDone(id: string, attempts: number, at: number): Promise<void>;
  deliveryRetry(id: string, attempts: number, nextAt: number, error: string): Promise<void>;
  deliveryFailed(id: string, attempts: number, error: string): Promise<void>;
  /** Analyses due by `now` and not held by a live lease. */
  dueAnalyses(now: number, limit: number): Promise<AnalysisRow[]>;
  /** Takes an analysis until `until` (which is then its lease token); false when another instance holds it. */
  leaseAnalysis(callId: string, now: number, until: number): Promise<boolean>;
  /** Another attempt at `nextAt`; ignored unless the lease `lease` still holds the row. */
  analysisRetry(callId: string, lease: number, r: { attempts: number; badAnswers: number; nextAt: number; error: string }): Promise<void>;
  /** Settles an analysis (and queues its call.analyzed event); false when the lease no longer holds the row
   *  (the analysis was queued again meanwhile). */
  analysisSettled(callId: string, lease: number, s: AnalysisSettlement): Promise<boolean>;
  /** Queues the call's analysis again from scratch (POST /api/calls/:id/analyze). */
  requeueAnalysis(callId: string, agent: string, spec: AnalysisSpec, now: number): Promise<"queued" | "no_call" | "not_ended">;
  /** Takes the call's stream mark until `expiresAt` unless a live one exists (an expired one is taken over). */
  claimStream(callId: string, now: number, expiresAt: number): Promise<ClaimResult>;
  /** `ended`: the mark refuses the URL from now on (written even if the claim never reached the store);
   *  otherwise an open mark is removed so the URL may be used again. */
  releaseStream(callId: string, ended: boolean, expiresAt: number): Promise<void>;
  /** Deletes stream marks expired by `now`; returns how many. */
  sweepStreamClaims(now: number): Promise<number>;
  /** Deletes calls started before `cutoff` (unix ms) with their transcript, tool calls, deliveries, analyses and
   *  handoffs, except the ones in `keep` (their recordings could not be deleted), and the outbound attempts and
   *  campaigns that ended before it. */
  deleteOlderThan(cutoff: number, keep?: readonly string[]): Promise<number>;
  /** Calls started before `cutoff` that have a recording file, and where it is. */
  recordingsOlderThan(cutoff: number): Promise<Array<{ id: string; location: string }>>;
  /** The call's recording; `null` when the call has none, undefined when there is no such call. */
  getRecording(id: string): Promise<RecordingInfo | null | undefined>;
  /** Deletes one call with its transcript, tool calls and deliveries; false when there was no such call. */
  deleteCall(id: string): Promise<boolean>;
  /** The newest call's start (unix ms), undefined when there is none. */
  newestStart(): Promise<number | undefined>;
  /** How many calls started in [from, to). */
  countStarted(from: number, to: number): Promise<number>;
  /** Ends matching open records as `lost` (one statement, so of several instances sweeping one closes each);
   *  returns how many. */
  closeLost(q: LostQuery): Promise<number>;
  close(): Promise<void>;
}

export class StoreNotReady extends Error {
  constructor() {
    super("records database not migrated yet (unreachable?)");
  }
}

export interface StoreOptions {
  /** SQLite: how often the file's identity is checked (a deleted or replaced file is reopened). */
  fileCheckMs?: number;
}

/** A stat every few seconds is the whole cost of noticing a deleted or replaced SQLite file. */
const FILE_CHECK_MS = 2000;

/** SQLite answers "database is locked" at once (busy_timeout 0, so the event loop never blocks on another
 *  process's lock); we wait asynchronously and try again for this long. */
const SQLITE_BUSY_GIVE_UP_MS = 3000;
const MIGRATE_RETRY_MAX_MS = 30000;

/** The file a sqlite:/file: URL names ("sqlite://./data/x.db" → "./data/x.db", "sqlite:///abs/x.db" → "/abs/x.db"). */
export function sqliteFilename(url: string): string {
  return url.replace(/^(sqlite|file):(\/\/)?/i, "").replace(/\?.*$/, "");
}

/** Where a database URL points, for logs: engine and host, never the user or password. */
export function describeDatabase(url: string, engine: Engine): string {
  if (engine === "sqlite") return `sqlite ${sqliteFilename(url)}`;
  try {
    const u = new URL(url);
    return `postgres ${u.hostname}:${u.port || "5432"}${u.pathname}`;
  } catch {
    return "postgres";
  }
}

/** How a caller or callee is stored: E.164 when it is a phone number in any form toE164 reads, else as sent. */
function storedNumber(n: string): string {
  return toE164(n) ?? n;
}

/** The `number` filter in the form numbers are stored in (storedNumber): any form of a phone number finds its E.164
 *  records; one with no country code (stored as sent) matches only as written. Undefined when it is not a phone
 *  number at all. */
export function numberQuery(v: string): string | undefined {
  const e164 = toE164(v);
  if (e164 !== undefined) return e164;
  const bare = v.trim().replace(/^tel:/i, "").replace(/[\s\-.()]/g, "");
  return /^\+?\d{1,20}$/.test(bare) ? v.trim() : undefined;
}

/** The numbers as sent, for each stored in another form; undefined when both were stored as sent. */
function rawNumbers(caller: string, callee: string): { caller?: string; callee?: string } | undefined {
  const raw: { caller?: string; callee?: string } = {};
  if (storedNumber(caller) !== caller) raw.caller = caller;
  if (storedNumber(callee) !== callee) raw.callee = callee;
  return raw.caller === undefined && raw.callee === undefined ? undefined : raw;
}

const rawMetadata = (caller: string, callee: string): string | null => {
  const raw = rawNumbers(caller, callee);
  return raw === undefined ? null : JSON.stringify({ raw });
};

/** dev:inode of a path, undefined when it cannot be stat'ed (gone, or a parent is not a directory). */
async function fileId(path: string): Promise<string | undefined> {
  try {
    const s = await stat(path);
    return `${s.dev}:${s.ino}`;
  } catch {
    return undefined;
  }
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const iso = (v: unknown): string | null => (v === null || v === undefined ? null : new Date(Number(v)).toISOString());
const json = <T>(v: unknown): T | null => {
  if (typeof v !== "string" || v === "") return null;
  try {
    return JSON.parse(v) as T;
  } catch {
    return null;
  }
};
const text = (v: unknown): string | null => (v === undefined ? null : JSON.stringify(v));
/** A call's purpose as the calls row keeps it (inbound when not known). */
const purposeCols = (p: CallPurpose | undefined) => ({
  direction: p?.direction ?? "inbound",
  attempt: p?.attemptId ?? null,
  variables: p === undefined ? null : JSON.stringify(p.variables),
});

type Row = Record<string, unknown>;

function summary(r: Row): CallSummary {
  return {
    id: String(r.id),
    agent: String(r.agent),
    caller: String(r.caller),
    callee: String(r.callee),
    source: String(r.source) as CallSource,
    direction: r.direction === "outbound" ? "outbound" : "inbound",
    attemptId: (r.attempt_id ?? null) as string | null,
    startedAt: iso(r.started_at)!,
    answeredAt: iso(r.answered_at),
    endedAt: iso(r.ended_at),
    durationMs: num(r.duration_ms),
    endReason: (r.end_reason ?? null) as EndReason | null,
    agentTurns: num(r.agent_turns),
    bargeIns: num(r.barge_ins),
  };
}

function recording(r: Row): RecordingInfo | null {
  if (r.recording_status === null || r.recording_status === undefined) return null;
  return {
    status: String(r.recording_status) as RecordingStatus,
    durationMs: num(r.recording_duration_ms) ?? 0,
    bytes: num(r.recording_bytes) ?? 0,
    location: (r.recording_location ?? null) as string | null,
    error: (r.recording_error ?? null) as string | null,
  };
}

function analysisOf(r: Row | undefined): CallAnalysis | null {
  if (r === undefined) return null;
  const attempts = Number(r.attempts);
  if (String(r.status) === "pending") return { pending: true, attempts };
  return json<CallAnalysis>(r.result) ?? { error: "the stored analysis could not be read", attempts };
}

function handoffOf(h: Row): HandoffRecord {
  const status = String(h.d_status ?? "pending");
  return {
    id: String(h.id),
    at: iso(h.at)!,
    atMs: num(h.at_ms)!,
    reason: String(h.reason),
    summary: String(h.summary),
    notify: {
      status: status === "delivered" || status === "failed" ? status : "pending",
      attempts: num(h.d_attempts) ?? 0,
      error: (h.d_error ?? null) as string | null,
    },
    live: json<HandoffLive>(h.live),
  };
}

function record(r: Row, utts: Row[], tools: Row[], analysis: Row | undefined = undefined, handoffs: Row[] = []): CallRecord {
  const p50 = num(r.first_audio_p50_ms);
  const max = num(r.first_audio_max_ms);
  const tokens = json<Record<string, number>>(r.usage_tokens);
  return {
    ...summary(r),
    endDetail: (r.end_detail ?? null) as string | null,
    rejectedTurns: num(r.rejected_turns),
    firstAudioMs: p50 === null || max === null ? null : { p50, max },
    usage: tokens === null ? null : { totalTokens: num(r.total_tokens) ?? 0, tokens },
    audio:
      r.frames_in === null || r.frames_in === undefined
        ? null
        : {
            framesIn: num(r.frames_in)!,
            framesOut: num(r.frames_out)!,
            underrunMs: num(r.underrun_ms)!,
            discardedMs: num(r.discarded_ms)!,
            droppedMs: num(r.dropped_ms)!,
            // Records written before the column existed did not keep it.
            overflowMs: num(r.overflow_ms) ?? 0,
          },
    reconnects: num(r.reconnects),
    rotations: num(r.rotations),
    model: json<Record<string, number>>(r.model_stats),
    metadata: json<Record<string, unknown>>(r.metadata),
    transcript: utts.map(
      (u): Utterance => {
        const grounding = json<Grounding>(u.grounding);
        return {
          role: String(u.role) as Utterance["role"],
          text: String(u.text),
          startMs: num(u.start_ms)!,
          endMs: num(u.end_ms)!,
          interrupted: Number(u.interrupted) === 1,
          heardMs: num(u.heard_ms),
          ...(grounding !== null ? { grounding } : {}),
        };
      },
    ),
    toolCalls: tools.map(
      (t): ToolCallEntry => ({
        id: String(t.tool_call_id),
        name: String(t.name),
        args: json<Record<string, unknown>>(t.args) ?? {},
        atMs: num(t.at_ms)!,
        outcome: (t.outcome ?? null) as ToolOutcome | null,
        durationMs: num(t.duration_ms),
        result: json<Record<string, unknown>>(t.result),
      }),
    ),
    recording: recording(r),
    analysis: analysisOf(analysis),
    handoffs: handoffs.map(handoffOf),
    variables: json<CallVariables>(r.variables),
  };
}

const isBusy = (err: unknown): boolean => (err as { code?: string } | null)?.code === "SQLITE_BUSY";

export class SqlStore implements RecordStore {
  readonly engine: Engine;
  readonly outbound: SqlOutboundStore;
  readonly ready: Promise<void>;
  isReady = false;
  private sql: SQL;
  private closed = false;
  /** SQLite: one connection, so every store operation runs alone (a query started while a transaction is
   *  open would otherwise join it). */
  private chain: Promise<unknown> = Promise.resolve();
  /** SQLite file (not :memory:): what it and its WAL files were when this client opened them (dev:inode). */
  private readonly filename: string | undefined;
  private opened: { db: string | undefined; wal: string | undefined; shm: string | undefined } | undefined;
  private readonly watch: ReturnType<typeof setInterval> | undefined;
  private checking = false;

  constructor(
    private readonly url: string,
    engine: Engine,
    private readonly log: Logger,
    o: StoreOptions = {},
  ) {
    this.engine = engine;
    const file = engine === "sqlite" ? sqliteFilename(url) : undefined;
    this.filename = file === undefined || file === ":memory:" ? undefined : file;
    this.sql = this.connect();
    // Read through a function: the SQLite client is replaced when its file is reopened.
    this.outbound = new SqlOutboundStore({ engine, sql: () => this.sql, run: (fn) => this.run(fn), tx: (fn) => this.tx(fn), need: () => this.need() });
    this.ready = this.migrateUntilDone("start");
    // A store that never becomes ready is reported by the retry loop; nobody must crash on it.
    this.ready.catch(() => {});
    if (this.filename !== undefined) {
      this.watch = setInterval(() => void this.checkFile(), o.fileCheckMs ?? FILE_CHECK_MS);
      this.watch.unref?.();
    }
  }

  /** A new client. SQLite opens lazily, and a client whose first open failed keeps failing even once the path
   *  could be opened (docs/bun.md#sql), so every retry after a failure starts from a new one. */
  private connect(): SQL {
    if (this.engine === "sqlite") {
      const filename = sqliteFilename(this.url);
      try {
        if (this.filename !== undefined) mkdirSync(dirname(filename), { recursive: true });
      } catch {
        // opening the file fails next, and the migration loop reports it
      }
      return new SQL({ adapter: "sqlite", filename, create: true, readwrite: true });
    }
    return new SQL(this.url, {
      max: 4,
      connectionTimeout: 5,
      idleTimeout: 60,
      // A hung server fails the query rather than holding a connection forever.
      connection: { application_name: "sauti-relay", statement_timeout: "15000" },
    });
  }

  private async migrateUntilDone(why: "start" | "reopen"): Promise<void> {
    let delay = 500;
    for (let attempt = 1; ; attempt++) {
      if (this.closed) throw new Error("records store closed");
      try {
        if (attempt > 1 && this.engine === "sqlite") {
          await this.sql.close().catch(() => undefined);
          this.sql = this.connect();
        }
        const applied = await this.run(async () => {
          if (this.engine === "sqlite") {
            // WAL: readers never wait for the writer, and other processes on this host can share the file.
            await this.sql`PRAGMA journal_mode = WAL`;
            await this.sql`PRAGMA synchronous = NORMAL`;
            await this.sql`PRAGMA busy_timeout = 0`;
          }
          return migrate(this.sql, this.engine);
        });
        if (this.filename !== undefined) {
          const f = this.filename;
          this.opened = { db: await fileId(f), wal: await fileId(`${f}-wal`), shm: await fileId(`${f}-shm`) };
        }
        this.isReady = true;
        if (applied.length > 0) this.log.info({ applied }, "records: schema migrated");
        if (why === "reopen") this.log.info({ attempts: attempt }, "records: database file reopened; schema ready");
        else if (attempt > 1) this.log.info({ attempts: attempt }, "records: database reachable again; schema ready");
        return;
      } catch (err) {
        if (attempt === 1 || attempt % 10 === 0) {
          this.log.error({ err: errText(err), attempt, retryInMs: delay }, "records: cannot prepare the database; retrying in the background");
        }
        await Bun.sleep(delay);
        delay = Math.min(delay * 2, MIGRATE_RETRY_MAX_MS);
      }
    }
  }

  /**
   * SQLite: is the file at the path still the one this client has open? Deleted, an open connection goes on
   * writing into the unlinked file (lost at the next restart); replaced, it goes on with the old one. Either way:
   * not ready, a new client on the path, the schema migrated, ready again.
   */
  private async checkFile(): Promise<void> {
    const f = this.filename;
    const was = this.opened;
    if (f === undefined || was === undefined || !this.isReady || this.checking || this.closed) return;
    this.checking = true;
    try {
      const now = await fileId(f);
      if (now === was.db || !this.isReady || this.closed) return;
      this.isReady = false;
      this.log.error(
        { file: f },
        now === undefined
          ? "records: the database file was deleted under the relay; opening a fresh one (records written since the last check went with it)"
          : "records: the database file was replaced under the relay; reopening the one now at its path",
      );
      // Operations already started finish on the old client first (SQLite runs them one at a time).
      await this.run(() => this.sql.close().catch(() => undefined));
      // The old database's WAL files stay at the path after the close, and a new client would read them as its
      // own (measured: the old data reappears in the new file). Ones another process has made since are kept.
      for (const [suffix, id] of [["-wal", was.wal], ["-shm", was.shm]] as const) {
        if (id !== undefined && (await fileId(f + suffix)) === id) rmSync(f + suffix, { force: true });
      }
      this.opened = undefined;
      this.sql = this.connect();
      void this.migrateUntilDone("reopen").catch(() => undefined);
    } finally {
      this.checking = false;
    }
  }

  private run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.engine === "postgres") return fn();
    const next = this.chain.then(() => this.busyRetry(fn));
    this.chain = next.catch(() => {});
    return next;
  }

  private async busyRetry<T>(fn: () => Promise<T>): Promise<T> {
    const t0 = Date.now();
    for (let i = 1; ; i++) {
      try {
        return await fn();
      } catch (err) {
        if (!isBusy(err) || Date.now() - t0 > SQLITE_BUSY_GIVE_UP_MS) throw err;
        await Bun.sleep(Math.min(5 * i, 50) + Math.random() * 10);
      }
    }
  }

  private tx<T>(fn: (tx: SQL) => Promise<T>): Promise<T> {
    return this.run(() => (this.engine === "sqlite" ? this.sql.begin("IMMEDIATE", fn) : this.sql.begin(fn)));
  }

  private need(): void {
    if (!this.isReady) throw new StoreNotReady();
  }

  async claim(c: CallClaim): Promise<boolean> {
    this.need();
    const p = purposeCols(c.purpose);
    const rows = await this.run(
      () => this.sql`INSERT INTO calls (id, agent, caller, callee, source, started_at, metadata, direction, attempt_id, variables)
        VALUES (${c.id}, ${c.agent}, ${storedNumber(c.caller)}, ${storedNumber(c.callee)}, ${"phone"}, ${c.at},
          ${rawMetadata(c.caller, c.callee)}, ${p.direction}, ${p.attempt}, ${p.variables})
        ON CONFLICT (id) DO NOTHING RETURNING id`,
    );
    return rows.length === 1;
  }

  async claimed(id: string): Promise<CallClaim | undefined> {
    this.need();
    const rows = (await this.run(
      () => this.sql`SELECT agent, caller, callee, started_at, direction, attempt_id, variables FROM calls WHERE id = ${id}`,
    )) as Row[];
    const r = rows[0];
    if (r === undefined) return undefined;
    const claim: CallClaim = { id, agent: String(r.agent), caller: String(r.caller), callee: String(r.callee), at: Number(r.started_at) };
    const variables = json<CallVariables>(r.variables);
    if (variables !== null) {
      claim.purpose = { direction: r.direction === "outbound" ? "outbound" : "inbound", attemptId: (r.attempt_id ?? null) as string | null, variables };
    }
    return claim;
  }

  async releaseClaim(id: string): Promise<void> {
    this.need();
    await this.run(() => this.sql`DELETE FROM calls WHERE id = ${id} AND answered_at IS NULL AND ended_at IS NULL`);
  }

  async write(ops: RecordOp[]): Promise<void> {
    this.need();
    if (ops.length === 0) return;
    await this.tx(async (tx) => {
      for (let i = 0; i < ops.length; ) {
        const op = ops[i]!;
        if (op.kind !== "utterance") {
          await this.apply(tx, op);
          i++;
          continue;
        }
        // A run of utterances (the bulk of a busy relay's writes) is one statement: per-statement cost dominates.
        let j = i + 1;
        while (j < ops.length && ops[j]!.kind === "utterance") j++;
        await this.utterances(tx, ops.slice(i, j) as UtteranceOp[]);
        i = j;
      }
    });
  }

  private async utterances(tx: SQL, ops: UtteranceOp[]): Promise<void> {
    const rows = ops.map((op) => ({
      call_id: op.id,
      seq: op.seq,
      role: op.role,
      text: op.text,
      start_ms: Math.round(op.startMs),
      end_ms: Math.round(op.endMs),
      interrupted: op.interrupted ? 1 : 0,
      heard_ms: op.heardMs === null ? null : Math.round(op.heardMs),
      grounding: op.grounding === undefined ? null : text(op.grounding),
    }));
    await tx`INSERT INTO utterances ${tx(rows)} ON CONFLICT (call_id, seq) DO NOTHING`;
  }

  /** One op of any kind but an utterance (write() writes those in runs). */
  private async apply(tx: SQL, op: Exclude<RecordOp, UtteranceOp>): Promise<void> {
    switch (op.kind) {
      case "started": {
        // The webhook's claim row (possibly written by another instance) knows caller, callee and agent best. An
        // end that was a guess (no_media, lost) gives way to the call that turned up after all.
        const p = purposeCols(op.purpose);
        await tx`INSERT INTO calls (id, agent, caller, callee, source, started_at, answered_at, metadata, direction, attempt_id, variables)
          VALUES (${op.id}, ${op.agent}, ${storedNumber(op.caller)}, ${storedNumber(op.callee)}, ${op.source}, ${op.at},
            ${op.at}, ${rawMetadata(op.caller, op.callee)}, ${p.direction}, ${p.attempt}, ${p.variables})
          ON CONFLICT (id) DO UPDATE SET
            answered_at = excluded.answered_at,
            source = excluded.source,
            direction = CASE WHEN calls.attempt_id IS NULL THEN excluded.direction ELSE calls.direction END,
            attempt_id = COALESCE(calls.attempt_id, excluded.attempt_id),
            variables = COALESCE(calls.variables, excluded.variables),
            agent = CASE WHEN calls.agent = '' THEN excluded.agent ELSE calls.agent END,
            caller = CASE WHEN calls.caller = '' THEN excluded.caller ELSE calls.caller END,
            callee = CASE WHEN calls.callee = '' THEN excluded.callee ELSE calls.callee END,
            ended_at = CASE WHEN calls.end_reason IN ('no_media', 'lost') THEN NULL ELSE calls.ended_at END,
            end_detail = CASE WHEN calls.end_reason IN ('no_media', 'lost') THEN NULL ELSE calls.end_detail END,
            end_reason = CASE WHEN calls.end_reason IN ('no_media', 'lost') THEN NULL ELSE calls.end_reason END`;
        return;
      }
      case "metadata": {
        // The media server's frame, keeping the numbers as sent that the row's first write put there.
        const rows = (await tx`SELECT metadata FROM calls WHERE id = ${op.id}`) as Row[];
        const raw = json<{ raw?: unknown }>(rows[0]?.metadata)?.raw;
        const meta = raw === undefined ? op.meta : { ...op.meta, raw };
        await tx`UPDATE calls SET metadata = ${meta === undefined ? null : text(meta)} WHERE id = ${op.id}`;
        return;
      }
      case "toolCall":
        await tx`INSERT INTO tool_calls (call_id, seq, tool_call_id, name, args, at_ms)
          VALUES (${op.id}, ${op.seq}, ${op.toolCallId}, ${op.name}, ${text(op.args)}, ${Math.round(op.atMs)})
          ON CONFLICT (call_id, seq) DO NOTHING`;
        return;
      case "toolResult":
        await tx`UPDATE tool_calls SET outcome = ${op.outcome}, duration_ms = ${Math.round(op.durationMs)},
            result = ${op.result === undefined ? null : text(op.result)}, result_at_ms = ${Math.round(op.atMs)}
          WHERE call_id = ${op.id} AND seq = ${op.seq}`;
        return;
      case "ended": {
        const a = op.audio;
        const fa = op.firstAudioMs;
        await tx`INSERT INTO calls (id, started_at, answered_at, ended_at, duration_ms, end_reason, end_detail,
            agent_turns, barge_ins, rejected_turns, first_audio_p50_ms, first_audio_max_ms, total_tokens, usage_tokens,
            frames_in, frames_out, underrun_ms, discarded_ms, dropped_ms, overflow_ms, reconnects, rotations, model_stats)
          VALUES (${op.id}, ${op.at - op.durationMs}, ${op.at - op.durationMs}, ${op.at}, ${op.durationMs}, ${op.reason},
            ${op.detail}, ${op.agentTurns}, ${op.bargeIns}, ${op.rejectedTurns}, ${fa?.p50 ?? null}, ${fa?.max ?? null},
            ${op.usage.totalTokens}, ${text(op.usage.tokens)}, ${a.framesIn}, ${a.framesOut}, ${a.underrunMs},
            ${a.discardedMs}, ${a.droppedMs}, ${a.overflowMs}, ${op.model.reconnects ?? 0}, ${op.model.rotations ?? 0}, ${text(op.model)})
          ON CONFLICT (id) DO UPDATE SET
            ended_at = excluded.ended_at, duration_ms = excluded.duration_ms, end_reason = excluded.end_reason,
            end_detail = excluded.end_detail, agent_turns = excluded.agent_turns, barge_ins = excluded.barge_ins,
            rejected_turns = excluded.rejected_turns, first_audio_p50_ms = excluded.first_audio_p50_ms, first_audio_max_ms = excluded.first_audio_max_ms,
            total_tokens = excluded.total_tokens, usage_tokens = excluded.usage_tokens,
            frames_in = excluded.frames_in, frames_out = excluded.frames_out, underrun_ms = excluded.underrun_ms,
            discarded_ms = excluded.discarded_ms, dropped_ms = excluded.dropped_ms, overflow_ms = excluded.overflow_ms,
            reconnects = excluded.reconnects, rotations = excluded.rotations, model_stats = excluded.model_stats`;
        if (op.delivery !== undefined) {
          await tx`INSERT INTO deliveries (id, call_id, created_at, next_attempt_at)
            VALUES (${op.delivery.id}, ${op.id}, ${op.at}, ${op.at})
            ON CONFLICT (id) DO NOTHING`;
        }
        if (op.analysis !== undefined) {
          await tx`INSERT INTO analyses (call_id, agent, spec, status, next_attempt_at, created_at)
            VALUES (${op.id}, ${op.analysis.agent}, ${JSON.stringify(op.analysis.spec)}, ${"pending"}, ${op.at}, ${op.at})
            ON CONFLICT (call_id) DO NOTHING`;
        }
        return;
      }
      case "recording":
        // A report of an older state never undoes a newer one: the call's last word (ready/failed) and the
        // sweep's (partial) stand over `recording`, and a failure over a later `recording`.
        await tx`UPDATE calls SET recording_status = ${op.status}, recording_duration_ms = ${Math.round(op.durationMs)},
            recording_bytes = ${op.bytes}, recording_location = ${op.location}, recording_error = ${op.error}
          WHERE id = ${op.id} AND NOT (${op.status} = 'recording' AND recording_status IS NOT NULL AND recording_status <> 'recording')`;
        return;
      case "handoff":
        await this.handoff(tx, op);
        return;
      case "unanswered":
        // A socket that reached another instance (one database behind one address) made this a call: leave it.
        await tx`UPDATE calls SET ended_at = ${op.at}, end_reason = ${op.reason}, end_detail = ${op.detail}
          WHERE id = ${op.id} AND answered_at IS NULL AND ended_at IS NULL`;
        return;
    }
  }

  private async handoff(tx: SQL, op: HandoffOp): Promise<void> {
    const live = op.live === null ? null : JSON.stringify(op.live);
    await tx`INSERT INTO handoffs (id, call_id, at, at_ms, reason, summary, live)
      VALUES (${op.handoffId}, ${op.id}, ${op.at}, ${Math.round(op.atMs)}, ${op.reason}, ${op.summary}, ${live})
      ON CONFLICT (id) DO UPDATE SET live = excluded.live`;
    const d = op.delivery;
    if (d === undefined) return;
    // Headers can hold a receiver's token: kept only while the event may still be sent.
    const headers = d.status === "pending" ? JSON.stringify(d.headers) : null;
    await tx`INSERT INTO deliveries (id, call_id, created_at, payload, status, attempts, next_attempt_at, last_error,
        delivered_at, kind, target_url, target_headers)
      VALUES (${op.handoffId}, ${op.id}, ${op.at}, ${d.payload}, ${d.status}, ${d.attempts}, ${d.nextAt}, ${d.error},
        ${d.status === "delivered" ? op.at : null}, ${"call.handoff"}, ${d.url}, ${headers})
      ON CONFLICT (id) DO NOTHING`;
  }

  async listCalls(q: ListQuery): Promise<CallPage> {
    this.need();
    const s = this.sql;
    const agent = q.agent !== undefined ? s`AND agent = ${q.agent}` : s``;
    const number = q.number !== undefined ? s`AND (caller = ${q.number} OR callee = ${q.number})` : s``;
    const b = q.before;
    const before = b !== undefined ? s`AND (started_at < ${b.startedAt} OR (started_at = ${b.startedAt} AND id < ${b.id}))` : s``;
    const rows = (await this.run(
      () => s`SELECT id, agent, caller, callee, source, started_at, answered_at, ended_at, duration_ms, end_reason,
          agent_turns, barge_ins, direction, attempt_id
        FROM calls WHERE 1 = 1 ${agent} ${number} ${before}
        ORDER BY started_at DESC, id DESC LIMIT ${q.limit + 1}`,
    )) as Row[];
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    return {
      calls: page.map(summary),
      next: rows.length > q.limit && last !== undefined ? { startedAt: Number(last.started_at), id: String(last.id) } : undefined,
    };
  }

  async getCall(id: string): Promise<CallRecord | undefined> {
    this.need();
    const s = this.sql;
    const [call, utts, tools, analysis, handoffs] = await this.run(async () => [
      (await s`SELECT * FROM calls WHERE id = ${id}`) as Row[],
      (await s`SELECT * FROM utterances WHERE call_id = ${id} ORDER BY seq`) as Row[],
      (await s`SELECT * FROM tool_calls WHERE call_id = ${id} ORDER BY seq`) as Row[],
      (await s`SELECT status, attempts, result FROM analyses WHERE call_id = ${id}`) as Row[],
      (await s`SELECT h.id, h.at, h.at_ms, h.reason, h.summary, h.live, d.status AS d_status, d.attempts AS d_attempts,
          d.last_error AS d_error
        FROM handoffs h LEFT JOIN deliveries d ON d.id = h.id WHERE h.call_id = ${id} ORDER BY h.at_ms, h.id`) as Row[],
    ]);
    const row = call[0];
    return row === undefined ? undefined : record(row, utts, tools, analysis[0], handoffs);
  }

  async dueDeliveries(now: number, limit: number): Promise<DeliveryRow[]> {
    this.need();
    const rows = (await this.run(
      () => this.sql`SELECT id, call_id, payload, attempts, kind, target_url, target_headers FROM deliveries
        WHERE status = 'pending' AND next_attempt_at <= ${now} AND (locked_until IS NULL OR locked_until < ${now})
        ORDER BY next_attempt_at LIMIT ${limit}`,
    )) as Row[];
    return rows.map((r) => ({
      id: String(r.id),
      callId: String(r.call_id),
      payload: (r.payload ?? null) as string | null,
      attempts: Number(r.attempts),
      kind: (r.kind ?? null) as string | null,
      url: (r.target_url ?? null) as string | null,
      headers: (r.target_headers ?? null) as string | null,
    }));
  }

  async leaseDelivery(id: string, now: number, until: number): Promise<boolean> {
    this.need();
    // The conditions sit on the UPDATE itself, so of two instances racing for one row only one matches it.
    const rows = await this.run(
      () => this.sql`UPDATE deliveries SET locked_until = ${until}
        WHERE id = ${id} AND status = 'pending' AND (locked_until IS NULL OR locked_until < ${now}) RETURNING id`,
    );
    return rows.length === 1;
  }

  async setDeliveryPayload(id: string, payload: string): Promise<void> {
    this.need();
    await this.run(() => this.sql`UPDATE deliveries SET payload = ${payload} WHERE id = ${id} AND payload IS NULL`);
  }

  async deliveryDone(id: string, attempts: number, at: number): Promise<void> {
    this.need();
    await this.run(
      () => this.sql`UPDATE deliveries SET status = 'delivered', attempts = ${attempts}, delivered_at = ${at},
        locked_until = NULL, last_error = NULL, target_headers = NULL WHERE id = ${id}`,
    );
  }

  async deliveryRetry(id: string, attempts: number, nextAt: number, error: string): Promise<void> {
    this.need();
    await this.run(
      () => this.sql`UPDATE deliveries SET attempts = ${attempts}, next_attempt_at = ${nextAt}, last_error = ${error},
        locked_until = NULL WHERE id = ${id}`,
    );
  }

  async deliveryFailed(id: string, attempts: number, error: string): Promise<void> {
    this.need();
    await this.run(
      () => this.sql`UPDATE deliveries SET status = 'failed', attempts = ${attempts}, last_error = ${error},
        locked_until = NULL, target_headers = NULL WHERE id = ${id}`,
    );
  }

  async dueAnalyses(now: number, limit: number): Promise<AnalysisRow[]> {
    this.need();
    const rows = (await this.run(
      () => this.sql`SELECT call_id, agent, spec, attempts, bad_answers FROM analyses
        WHERE status = 'pending' AND next_attempt_at <= ${now} AND (locked_until IS NULL OR locked_until < ${now})
        ORDER BY next_attempt_at LIMIT ${limit}`,
    )) as Row[];
    return rows.map((r) => ({
      callId: String(r.call_id),
      agent: String(r.agent),
      spec: json<AnalysisSpec>(r.spec) ?? { summary: true, success: undefined, data: undefined, model: undefined },
      attempts: Number(r.attempts),
      badAnswers: Number(r.bad_answers),
    }));
  }

  async leaseAnalysis(callId: string, now: number, until: number): Promise<boolean> {
    this.need();
    // As leaseDelivery: the conditions sit on the UPDATE, so of several instances only one takes the row.
    const rows = await this.run(
      () => this.sql`UPDATE analyses SET locked_until = ${until}
        WHERE call_id = ${callId} AND status = 'pending' AND (locked_until IS NULL OR locked_until < ${now}) RETURNING call_id`,
    );
    return rows.length === 1;
  }

  async analysisRetry(callId: string, lease: number, r: { attempts: number; badAnswers: number; nextAt: number; error: string }): Promise<void> {
    this.need();
    await this.run(
      () => this.sql`UPDATE analyses SET attempts = ${r.attempts}, bad_answers = ${r.badAnswers}, next_attempt_at = ${r.nextAt},
        last_error = ${r.error}, locked_until = NULL
        WHERE call_id = ${callId} AND status = 'pending' AND locked_until = ${lease}`,
    );
  }

  async analysisSettled(callId: string, lease: number, st: AnalysisSettlement): Promise<boolean> {
    this.need();
    return this.tx(async (tx) => {
      const rows = await tx`UPDATE analyses SET status = ${st.status}, attempts = ${st.attempts}, bad_answers = ${st.badAnswers},
          result = ${JSON.stringify(st.result)}, settled_at = ${st.at}, locked_until = NULL, last_error = NULL
        WHERE call_id = ${callId} AND status = 'pending' AND locked_until = ${lease} RETURNING call_id`;
      if (rows.length !== 1) return false;
      if (st.deliveryId !== undefined) {
        await tx`INSERT INTO deliveries (id, call_id, created_at, next_attempt_at, kind)
          VALUES (${st.deliveryId}, ${callId}, ${st.at}, ${st.at}, ${"call.analyzed"}) ON CONFLICT (id) DO NOTHING`;
      }
      return true;
    });
  }

  async requeueAnalysis(callId: string, agent: string, spec: AnalysisSpec, now: number): Promise<"queued" | "no_call" | "not_ended"> {
    this.need();
    return this.tx(async (tx) => {
      const rows = (await tx`SELECT ended_at FROM calls WHERE id = ${callId}`) as Row[];
      if (rows[0] === undefined) return "no_call";
      if (rows[0].ended_at === null || rows[0].ended_at === undefined) return "not_ended";
      // A run in flight elsewhere holds the old lease token, which this clears: its result is not kept.
      await tx`INSERT INTO analyses (call_id, agent, spec, status, next_attempt_at, created_at)
        VALUES (${callId}, ${agent}, ${JSON.stringify(spec)}, ${"pending"}, ${now}, ${now})
        ON CONFLICT (call_id) DO UPDATE SET agent = excluded.agent, spec = excluded.spec, status = excluded.status,
          attempts = 0, bad_answers = 0, next_attempt_at = excluded.next_attempt_at, locked_until = NULL, last_error = NULL,
          result = NULL, settled_at = NULL`;
      return "queued";
    });
  }

  async claimStream(callId: string, now: number, expiresAt: number): Promise<ClaimResult> {
    this.need();
    // One statement decides, so of two instances racing for one call only one gets the row back.
    const won = await this.run(
      () => this.sql`INSERT INTO stream_claims (call_id, state, expires_at) VALUES (${callId}, ${"open"}, ${expiresAt})
        ON CONFLICT (call_id) DO UPDATE SET state = excluded.state, expires_at = excluded.expires_at
        WHERE stream_claims.expires_at <= ${now}
        RETURNING call_id`,
    );
    if (won.length === 1) return "ok";
    const rows = (await this.run(() => this.sql`SELECT state FROM stream_claims WHERE call_id = ${callId}`)) as Row[];
    const state = rows[0]?.state;
    // Gone in between: its upgrade failed and it was released; the next attempt may take it.
    return state === "ended" ? "ended" : "busy";
  }

  async releaseStream(callId: string, ended: boolean, expiresAt: number): Promise<void> {
    this.need();
    if (ended) {
      await this.run(
        () => this.sql`INSERT INTO stream_claims (call_id, state, expires_at) VALUES (${callId}, ${"ended"}, ${expiresAt})
          ON CONFLICT (call_id) DO UPDATE SET state = excluded.state`,
      );
    } else {
      await this.run(() => this.sql`DELETE FROM stream_claims WHERE call_id = ${callId} AND state = ${"open"}`);
    }
  }

  async sweepStreamClaims(now: number): Promise<number> {
    this.need();
    const gone = await this.run(() => this.sql`DELETE FROM stream_claims WHERE expires_at <= ${now}`);
    return gone.count;
  }

  async deleteOlderThan(cutoff: number, keep: readonly string[] = []): Promise<number> {
    this.need();
    return this.tx(async (tx) => {
      const kept = keep.length > 0 ? tx`AND id NOT IN ${tx(keep as string[])}` : tx``;
      const old = () => tx`SELECT id FROM calls WHERE started_at < ${cutoff} ${kept}`;
      await tx`DELETE FROM utterances WHERE call_id IN (${old()})`;
      await tx`DELETE FROM tool_calls WHERE call_id IN (${old()})`;
      await tx`DELETE FROM deliveries WHERE call_id IN (${old()})`;
      await tx`DELETE FROM analyses WHERE call_id IN (${old()})`;
      await tx`DELETE FROM handoffs WHERE call_id IN (${old()})`;
      // Outbound attempts and campaigns hold numbers and variables too; the do-not-call list is kept.
      await this.outbound.deleteEnded(tx, cutoff);
      const gone = await tx`DELETE FROM calls WHERE started_at < ${cutoff} ${kept}`;
      return gone.count;
    });
  }

  async recordingsOlderThan(cutoff: number): Promise<Array<{ id: string; location: string }>> {
    this.need();
    const rows = (await this.run(
      () => this.sql`SELECT id, recording_location FROM calls WHERE started_at < ${cutoff} AND recording_location IS NOT NULL`,
    )) as Row[];
    return rows.map((r) => ({ id: String(r.id), location: String(r.recording_location) }));
  }

  async getRecording(id: string): Promise<RecordingInfo | null | undefined> {
    this.need();
    const rows = (await this.run(
      () => this.sql`SELECT recording_status, recording_duration_ms, recording_bytes, recording_location, recording_error
        FROM calls WHERE id = ${id}`,
    )) as Row[];
    const row = rows[0];
    return row === undefined ? undefined : recording(row);
  }

  async deleteCall(id: string): Promise<boolean> {
    this.need();
    return this.tx(async (tx) => {
      await tx`DELETE FROM utterances WHERE call_id = ${id}`;
      await tx`DELETE FROM tool_calls WHERE call_id = ${id}`;
      await tx`DELETE FROM deliveries WHERE call_id = ${id}`;
      await tx`DELETE FROM analyses WHERE call_id = ${id}`;
      await tx`DELETE FROM handoffs WHERE call_id = ${id}`;
      const gone = await tx`DELETE FROM calls WHERE id = ${id}`;
      return gone.count > 0;
    });
  }

  async newestStart(): Promise<number | undefined> {
    this.need();
    const rows = (await this.run(() => this.sql`SELECT MAX(started_at) AS newest FROM calls`)) as Row[];
    return num(rows[0]?.newest) ?? undefined;
  }

  async countStarted(from: number, to: number): Promise<number> {
    this.need();
    const rows = (await this.run(() => this.sql`SELECT COUNT(*) AS n FROM calls WHERE started_at >= ${from} AND started_at < ${to}`)) as Row[];
    return Number(rows[0]?.n ?? 0);
  }

  async closeLost(q: LostQuery): Promise<number> {
    this.need();
    const s = this.sql;
    const keep = q.keep.length > 0 ? s`AND id NOT IN ${s(q.keep as string[])}` : s``;
    // ended_at IS NULL is in the statement, so a row another instance closed a moment ago is not matched again.
    const rows = await this.run(
      () => s`UPDATE calls SET ended_at = ${q.at}, end_reason = ${"lost"}, end_detail = ${q.detail}
        WHERE ended_at IS NULL AND started_at < ${q.before} ${keep} RETURNING id`,
    );
    return rows.length;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.watch);
    await this.chain;
    await this.sql.close({ timeout: 2 });
  }
}

export function errText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === "string" ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}
