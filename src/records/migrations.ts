// Versioned schema, applied at start. Each migration runs once, in order, inside one transaction that first
// takes a lock, so two instances starting together neither apply one twice nor see a half-built schema:
// PostgreSQL with a transaction-scoped advisory lock, SQLite with BEGIN IMMEDIATE (the database's write lock).
// The same DDL serves both engines: plain types (TEXT, BIGINT, INTEGER, DOUBLE PRECISION), JSON kept as TEXT.
import type { SQL } from "bun";

export type Engine = "sqlite" | "postgres";

export interface Migration {
  version: number;
  name: string;
  statements: string[];
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: "calls, utterances, tool calls, deliveries",
    statements: [
      `CREATE TABLE calls (
        id TEXT PRIMARY KEY,
        agent TEXT NOT NULL DEFAULT '',
        caller TEXT NOT NULL DEFAULT '',
        callee TEXT NOT NULL DEFAULT '',
        source TEXT NOT NULL DEFAULT 'phone',
        started_at BIGINT NOT NULL,
        answered_at BIGINT,
        ended_at BIGINT,
        duration_ms BIGINT,
        end_reason TEXT,
        end_detail TEXT,
        agent_turns INTEGER,
        barge_ins INTEGER,
        first_audio_p50_ms DOUBLE PRECISION,
        first_audio_max_ms DOUBLE PRECISION,
        total_tokens BIGINT,
        usage_tokens TEXT,
        frames_in BIGINT,
        frames_out BIGINT,
        underrun_ms BIGINT,
        discarded_ms BIGINT,
        dropped_ms BIGINT,
        reconnects INTEGER,
        rotations INTEGER,
        model_stats TEXT,
        metadata TEXT
      )`,
      `CREATE INDEX calls_started ON calls (started_at, id)`,
      `CREATE INDEX calls_agent ON calls (agent, started_at)`,
      `CREATE INDEX calls_caller ON calls (caller, started_at)`,
      `CREATE INDEX calls_callee ON calls (callee, started_at)`,
      `CREATE TABLE utterances (
        call_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        role TEXT NOT NULL,
        text TEXT NOT NULL,
        start_ms BIGINT NOT NULL,
        end_ms BIGINT NOT NULL,
        interrupted SMALLINT NOT NULL DEFAULT 0,
        heard_ms BIGINT,
        PRIMARY KEY (call_id, seq)
      )`,
      `CREATE TABLE tool_calls (
        call_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        tool_call_id TEXT NOT NULL,
        name TEXT NOT NULL,
        args TEXT,
        at_ms BIGINT NOT NULL,
        outcome TEXT,
        duration_ms BIGINT,
        result TEXT,
        result_at_ms BIGINT,
        PRIMARY KEY (call_id, seq)
      )`,
      `CREATE TABLE deliveries (
        id TEXT PRIMARY KEY,
        call_id TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        payload TEXT,
        status TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at BIGINT NOT NULL,
        locked_until BIGINT,
        last_error TEXT,
        delivered_at BIGINT
      )`,
      `CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at)`,
      `CREATE INDEX deliveries_call ON deliveries (call_id)`,
    ],
  },
  {
    version: 2,
    name: "stream claims",
    // One row per call whose stream URL was used: 'open' while its socket lives, 'ended' after. Kept until the
    // stream token expires (expires_at, unix ms); past it the token itself is refused.
    statements: [
      `CREATE TABLE stream_claims (
        call_id TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        expires_at BIGINT NOT NULL
      )`,
      `CREATE INDEX stream_claims_expiry ON stream_claims (expires_at)`,
    ],
  },
  {
    version: 3,
    name: "overflow audio in the call's audio summary",
    statements: [`ALTER TABLE calls ADD COLUMN overflow_ms BIGINT`],
  },
  {
    version: 4,
    name: "open calls",
    // The sweep for records nobody will end (src/records/lost.ts) looks only at calls without an end: few rows,
    // so this partial index keeps it cheap however many ended calls the table holds.
    statements: [`CREATE INDEX calls_open ON calls (started_at) WHERE ended_at IS NULL`],
  },
  // Each kind of work numbers its migrations in a range of its own: 10-19 the Live agents' fields, 20-29 outbound
  // calls, 30-39 recordings, 40-49 post-call analysis. Applied in version order.
  {
    version: 10,
    name: "rejected model turns; search grounding of agent utterances",
    // grounding: JSON (call/data.ts Grounding), only on agent turns answered from a web search.
    statements: [`ALTER TABLE calls ADD COLUMN rejected_turns INTEGER`, `ALTER TABLE utterances ADD COLUMN grounding TEXT`],
  },
  {
    version: 20,
    name: "who placed a call: direction, outbound attempt, variables",
    statements: [
      `ALTER TABLE calls ADD COLUMN direction TEXT NOT NULL DEFAULT 'inbound'`,
      `ALTER TABLE calls ADD COLUMN attempt_id TEXT`,
      // JSON object of the variables the agent's texts were filled with; may hold personal data.
      `ALTER TABLE calls ADD COLUMN variables TEXT`,
    ],
  },
  {
    version: 21,
    name: "outbound attempts, Sautikit events seen, the do-not-call list",
    statements: [
      // One row per attempt to call someone (a single call, or one try at a campaign's contact). owner and
      // lease_until say which instance drives it; next_check_at when it is looked at again (src/outbound/dialer.ts).
      `CREATE TABLE outbound_attempts (
        id TEXT PRIMARY KEY,
        campaign_id TEXT,
        contact_id TEXT,
        attempt_no INTEGER NOT NULL DEFAULT 1,
        agent TEXT NOT NULL,
        from_number TEXT NOT NULL,
        to_number TEXT NOT NULL,
        variables TEXT NOT NULL,
        status TEXT NOT NULL,
        outcome TEXT,
        detail TEXT,
        end_reason TEXT,
        sautikit_call_id TEXT,
        session_id TEXT,
        call_id TEXT,
        sautikit_status TEXT,
        voicemail_message TEXT,
        owner TEXT,
        lease_until BIGINT,
        next_check_at BIGINT,
        checks INTEGER NOT NULL DEFAULT 0,
        dial_tries INTEGER NOT NULL DEFAULT 0,
        created_at BIGINT NOT NULL,
        placed_at BIGINT,
        answered_at BIGINT,
        ended_at BIGINT
      )`,
      `CREATE INDEX outbound_attempts_lease ON outbound_attempts (lease_until) WHERE status <> 'done'`,
      `CREATE INDEX outbound_attempts_due ON outbound_attempts (owner, next_check_at) WHERE status <> 'done'`,
      `CREATE INDEX outbound_attempts_sautikit ON outbound_attempts (sautikit_call_id)`,
      `CREATE INDEX outbound_attempts_session ON outbound_attempts (session_id)`,
      `CREATE INDEX outbound_attempts_contact ON outbound_attempts (contact_id)`,
      // Per-number events delivered at least once: the id of each one acted on.
      `CREATE TABLE outbound_events (event_id TEXT PRIMARY KEY, received_at BIGINT NOT NULL)`,
      `CREATE INDEX outbound_events_age ON outbound_events (received_at)`,
      `CREATE TABLE do_not_call (number TEXT PRIMARY KEY, source TEXT NOT NULL, added_at BIGINT NOT NULL)`,
    ],
  },
  {
    version: 22,
    name: "campaigns and their contacts",
    statements: [
      `CREATE TABLE campaigns (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        agent TEXT NOT NULL,
        state TEXT NOT NULL,
        call_window TEXT NOT NULL,
        max_concurrent INTEGER NOT NULL,
        retry TEXT NOT NULL,
        start_at BIGINT,
        end_at BIGINT,
        created_at BIGINT NOT NULL,
        ended_at BIGINT,
        contacts INTEGER NOT NULL
      )`,
      `CREATE INDEX campaigns_state ON campaigns (state)`,
      `CREATE TABLE campaign_contacts (
        id TEXT PRIMARY KEY,
        campaign_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        row_no INTEGER NOT NULL,
        to_number TEXT NOT NULL,
        variables TEXT NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_at BIGINT NOT NULL,
        last_outcome TEXT,
        outcome TEXT,
        last_attempt_id TEXT
      )`,
      `CREATE UNIQUE INDEX campaign_contacts_seq ON campaign_contacts (campaign_id, seq)`,
      `CREATE INDEX campaign_contacts_due ON campaign_contacts (campaign_id, state, next_at)`,
    ],
  },
  {
    version: 30,
    name: "call recordings",
    // The recording's state and where its file is (a path on the relay that recorded it, or s3://bucket/key):
    // the API serves it from there, and retention and DELETE remove it with the record.
    statements: [
      `ALTER TABLE calls ADD COLUMN recording_status TEXT`,
      `ALTER TABLE calls ADD COLUMN recording_duration_ms BIGINT`,
      `ALTER TABLE calls ADD COLUMN recording_bytes BIGINT`,
      `ALTER TABLE calls ADD COLUMN recording_location TEXT`,
      `ALTER TABLE calls ADD COLUMN recording_error TEXT`,
    ],
  },
  {
    version: 40,
    name: "post-call analyses",
    // One row per call whose agent has `analysis`: queued in the call's ended write, claimed with a lease
    // (locked_until) by whichever instance runs it, settled as done, failed or skipped with its result (JSON).
    statements: [
      `CREATE TABLE analyses (
        call_id TEXT PRIMARY KEY,
        agent TEXT NOT NULL,
        spec TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        bad_answers INTEGER NOT NULL DEFAULT 0,
        next_attempt_at BIGINT NOT NULL,
        locked_until BIGINT,
        last_error TEXT,
        result TEXT,
        created_at BIGINT NOT NULL,
        settled_at BIGINT
      )`,
      `CREATE INDEX analyses_due ON analyses (status, next_attempt_at)`,
    ],
  },
  {
    version: 41,
    name: "outbox events other than call.ended",
    // kind NULL is call.ended (every row before this version). Rows with a target of their own (call.handoff to
    // the agent's notify URL) carry it; the headers are cleared once the row is settled.
    statements: [
      `ALTER TABLE deliveries ADD COLUMN kind TEXT`,
      `ALTER TABLE deliveries ADD COLUMN target_url TEXT`,
      `ALTER TABLE deliveries ADD COLUMN target_headers TEXT`,
    ],
  },
  {
    version: 42,
    name: "handoffs",
    // One row per handoff tool call; id is its call.handoff event's webhook-id (the deliveries row), live the
    // person-on-the-line state as JSON.
    statements: [
      `CREATE TABLE handoffs (
        id TEXT PRIMARY KEY,
        call_id TEXT NOT NULL,
        at BIGINT NOT NULL,
        at_ms BIGINT NOT NULL,
        reason TEXT NOT NULL,
        summary TEXT NOT NULL,
        live TEXT
      )`,
      `CREATE INDEX handoffs_call ON handoffs (call_id)`,
    ],
  },
];

/** Arbitrary constant naming this schema's advisory lock in a shared PostgreSQL database. */
const PG_LOCK_KEY = 0x5a071;

/** Applies what is missing; returns the versions applied by this call (empty when up to date). */
export async function migrate(sql: SQL, engine: Engine, now = Date.now): Promise<number[]> {
  const run = async (tx: SQL): Promise<number[]> => {
    if (engine === "postgres") await tx`SELECT pg_advisory_xact_lock(${PG_LOCK_KEY})`;
    await tx`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`;
    const rows = (await tx`SELECT version FROM schema_migrations`) as { version: number | string }[];
    const have = new Set(rows.map((r) => Number(r.version)));
    const applied: number[] = [];
    for (const m of MIGRATIONS) {
      if (have.has(m.version)) continue;
      for (const stmt of m.statements) await tx.unsafe(stmt);
      await tx`INSERT INTO schema_migrations (version, name, applied_at) VALUES (${m.version}, ${m.name}, ${now()})`;
      applied.push(m.version);
    }
    return applied;
  };
  return engine === "sqlite" ? sql.begin("IMMEDIATE", run) : sql.begin(run);
}
