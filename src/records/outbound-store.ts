// The outbound module's tables (src/outbound/store.ts) in the records database, on both engines. Decisions shared
// by several instances are single conditional statements (leases: UPDATE … WHERE lease_until < now, re-checked by
// PostgreSQL on the row it locks) or one transaction that first locks the campaign's row (claims: FOR UPDATE SKIP
// LOCKED on PostgreSQL, so a second instance skips a campaign being claimed rather than waiting; BEGIN IMMEDIATE,
// the database's write lock, on SQLite), so maxConcurrent holds across every instance.
import type { SQL } from "bun";
import type { CallVariables, EndReason } from "../call/data.ts";
import { afterAttempt } from "../outbound/retry.ts";
import {
  OUTCOMES,
  type Attempt,
  type AttemptStatus,
  type Campaign,
  type CampaignCounts,
  type CampaignState,
  type ClaimQuery,
  type Contact,
  type ContactQuery,
  type ContactState,
  type DncEntry,
  newAttempt,
  type NewAttempt,
  type NewContact,
  type Outcome,
  type OutboundStore,
  type Settlement,
  type SettleResult,
} from "../outbound/store.ts";
import type { Engine } from "./migrations.ts";

/** How the records store lends its connection (store.ts): one client, the SQLite chain, the transaction kind. */
export interface StoreAccess {
  engine: Engine;
  sql(): SQL;
  run<T>(fn: () => Promise<T>): Promise<T>;
  tx<T>(fn: (tx: SQL) => Promise<T>): Promise<T>;
  need(): void;
}

type Row = Record<string, unknown>;

const n = (v: unknown): number => Number(v);
const nOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const sOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const vars = (v: unknown): CallVariables => {
  try {
    const o = JSON.parse(String(v)) as unknown;
    return typeof o === "object" && o !== null && !Array.isArray(o) ? (o as CallVariables) : {};
  } catch {
    return {};
  }
};

function attempt(r: Row): Attempt {
  return {
    id: String(r.id),
    campaignId: sOrNull(r.campaign_id),
    contactId: sOrNull(r.contact_id),
    attemptNo: n(r.attempt_no),
    agent: String(r.agent),
    from: String(r.from_number),
    to: String(r.to_number),
    variables: vars(r.variables),
    status: String(r.status) as AttemptStatus,
    outcome: sOrNull(r.outcome) as Outcome | null,
    detail: sOrNull(r.detail),
    endReason: sOrNull(r.end_reason) as EndReason | null,
    sautikitCallId: sOrNull(r.sautikit_call_id),
    sessionId: sOrNull(r.session_id),
    callId: sOrNull(r.call_id),
    sautikitStatus: sOrNull(r.sautikit_status),
    voicemailMessage: sOrNull(r.voicemail_message),
    owner: sOrNull(r.owner),
    leaseUntil: nOrNull(r.lease_until),
    nextCheckAt: nOrNull(r.next_check_at),
    checks: n(r.checks),
    dialTries: n(r.dial_tries),
    createdAt: n(r.created_at),
    placedAt: nOrNull(r.placed_at),
    answeredAt: nOrNull(r.answered_at),
    endedAt: nOrNull(r.ended_at),
  };
}

function campaign(r: Row): Campaign {
  return {
    id: String(r.id),
    name: String(r.name),
    agent: String(r.agent),
    state: String(r.state) as CampaignState,
    window: JSON.parse(String(r.call_window)) as Campaign["window"],
    maxConcurrent: n(r.max_concurrent),
    retry: JSON.parse(String(r.retry)) as Campaign["retry"],
    startAt: nOrNull(r.start_at),
    endAt: nOrNull(r.end_at),
    createdAt: n(r.created_at),
    endedAt: nOrNull(r.ended_at),
    contacts: n(r.contacts),
  };
}

function contact(r: Row, callIds: string[] = [], lastEndReason: EndReason | null = null): Contact {
  return {
    id: String(r.id),
    campaignId: String(r.campaign_id),
    seq: n(r.seq),
    row: n(r.row_no),
    to: String(r.to_number),
    variables: vars(r.variables),
    state: String(r.state) as ContactState,
    attempts: n(r.attempts),
    nextAt: n(r.next_at),
    lastOutcome: sOrNull(r.last_outcome) as Outcome | null,
    outcome: sOrNull(r.outcome) as Outcome | null,
    lastAttemptId: sOrNull(r.last_attempt_id),
    callIds,
    lastEndReason,
  };
}

const emptyOutcomes = (): Record<Outcome, number> => Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
const emptyStates = (): Record<ContactState, number> => ({ pending: 0, dialing: 0, done: 0 });

/** Events older than this are forgotten (Sautikit retries for up to about a week). */
const EVENT_KEEP_MS = 8 * 86_400_000;
const INSERT_CHUNK = 500;

export class SqlOutboundStore implements OutboundStore {
  private eventsSeen = 0;

  constructor(private readonly db: StoreAccess) {}

  private get s(): SQL {
    return this.db.sql();
  }

  private async rows(q: () => Promise<unknown>): Promise<Row[]> {
    this.db.need();
    return (await this.db.run(q)) as Row[];
  }

  /** Retention (inside the records store's transaction): single attempts that ended before `cutoff`, and
   *  campaigns cancelled or done before it with their contacts and attempts. */
  async deleteEnded(tx: SQL, cutoff: number): Promise<void> {
    const old = () => tx`SELECT id FROM campaigns WHERE state IN ('done', 'cancelled') AND ended_at < ${cutoff}`;
    await tx`DELETE FROM outbound_attempts WHERE campaign_id IN (${old()})`;
    await tx`DELETE FROM campaign_contacts WHERE campaign_id IN (${old()})`;
    await tx`DELETE FROM campaigns WHERE state IN ('done', 'cancelled') AND ended_at < ${cutoff}`;
    await tx`DELETE FROM outbound_attempts WHERE campaign_id IS NULL AND status = 'done' AND ended_at < ${cutoff}`;
  }

  async insertAttempt(a: NewAttempt): Promise<void> {
    await this.rows(
      () => this.s`INSERT INTO outbound_attempts (id, campaign_id, contact_id, attempt_no, agent, from_number, to_number, variables,
          status, owner, lease_until, next_check_at, created_at)
        VALUES (${a.id}, ${a.campaignId}, ${a.contactId}, ${a.attemptNo}, ${a.agent}, ${a.from}, ${a.to}, ${JSON.stringify(a.variables)},
          ${"dialing"}, ${a.owner}, ${a.leaseUntil}, ${a.nextCheckAt}, ${a.createdAt})`,
    );
  }

  async attempt(id: string): Promise<Attempt | undefined> {
    const r = await this.rows(() => this.s`SELECT * FROM outbound_attempts WHERE id = ${id}`);
    return r[0] === undefined ? undefined : attempt(r[0]);
  }

  async attemptBySautikitId(id: string): Promise<Attempt | undefined> {
    const r = await this.rows(
      () => this.s`SELECT * FROM outbound_attempts WHERE sautikit_call_id = ${id} OR session_id = ${id} ORDER BY created_at DESC LIMIT 1`,
    );
    return r[0] === undefined ? undefined : attempt(r[0]);
  }

  async attemptPlaced(id: string, sautikitCallId: string, sessionId: string | null, status: string, at: number, nextCheckAt: number): Promise<void> {
    // SET reads the row as it was: a webhook that came first (in_call) keeps its status and its next look.
    await this.rows(
      () => this.s`UPDATE outbound_attempts SET
          sautikit_call_id = COALESCE(sautikit_call_id, ${sautikitCallId}),
          session_id = COALESCE(session_id, ${sessionId}),
          sautikit_status = ${status.slice(0, 64)},
          placed_at = COALESCE(placed_at, ${at}),
          next_check_at = CASE WHEN status = 'dialing' THEN ${nextCheckAt} ELSE next_check_at END,
          status = CASE WHEN status = 'dialing' THEN 'ringing' ELSE status END
        WHERE id = ${id} AND status <> 'done'`,
    );
  }

  async attemptDialAgain(id: string, dialTries: number, nextCheckAt: number, detail: string): Promise<void> {
    await this.rows(
      () => this.s`UPDATE outbound_attempts SET dial_tries = ${dialTries}, next_check_at = ${nextCheckAt}, detail = ${detail.slice(0, 500)}
        WHERE id = ${id} AND status = 'dialing'`,
    );
  }

  async bindAttempt(id: string, callId: string, owner: string, leaseUntil: number, at: number, nextCheckAt: number): Promise<boolean> {
    const r = await this.rows(
      () => this.s`UPDATE outbound_attempts SET status = 'in_call', call_id = ${callId}, session_id = COALESCE(session_id, ${callId}),
          owner = ${owner}, lease_until = ${leaseUntil}, answered_at = COALESCE(answered_at, ${at}), next_check_at = ${nextCheckAt}
        WHERE id = ${id} AND status <> 'done' RETURNING id`,
    );
    return r.length === 1;
  }

  async settleAttempt(st: Settlement): Promise<SettleResult | undefined> {
    this.db.need();
    return this.db.tx(async (tx) => {
      const done = (await tx`UPDATE outbound_attempts SET status = 'done', outcome = ${st.outcome}, detail = ${st.detail.slice(0, 500)},
          end_reason = ${st.endReason}, ended_at = ${st.at}, call_id = COALESCE(${st.callId ?? null}, call_id),
          voicemail_message = COALESCE(${st.voicemailMessage ?? null}, voicemail_message),
          sautikit_status = COALESCE(${st.sautikitStatus?.slice(0, 64) ?? null}, sautikit_status),
          next_check_at = NULL, lease_until = NULL
        WHERE id = ${st.id} AND status <> 'done' RETURNING *`) as Row[];
      if (done[0] === undefined) return undefined;
      const a = attempt(done[0]);
      if (a.contactId === null || a.campaignId === null) return { attempt: a, contact: undefined };
      const cs = (await tx`SELECT * FROM campaign_contacts WHERE id = ${a.contactId}`) as Row[];
      const ps = (await tx`SELECT * FROM campaigns WHERE id = ${a.campaignId}`) as Row[];
      if (cs[0] === undefined || ps[0] === undefined) return { attempt: a, contact: undefined };
      const c = contact(cs[0]);
      const p = campaign(ps[0]);
      // Only the contact's current attempt moves it on (a stale one, however it ended, does not).
      if (c.state !== "dialing" || c.lastAttemptId !== a.id) return { attempt: a, contact: c };
      const next = afterAttempt(c.attempts, st.outcome, p.retry, p, st.at);
      const up = (await tx`UPDATE campaign_contacts SET state = ${next.state}, next_at = ${next.nextAt}, last_outcome = ${st.outcome},
          outcome = ${next.outcome}
        WHERE id = ${c.id} AND state = 'dialing' AND last_attempt_id = ${a.id} RETURNING *`) as Row[];
      return { attempt: a, contact: up[0] === undefined ? c : contact(up[0]) };
    });
  }

  async attemptChecked(id: string, status: string | null, checks: number, nextCheckAt: number): Promise<void> {
    await this.rows(
      () => this.s`UPDATE outbound_attempts SET sautikit_status = COALESCE(${status?.slice(0, 64) ?? null}, sautikit_status), checks = ${checks},
          next_check_at = ${nextCheckAt}
        WHERE id = ${id} AND status <> 'done'`,
    );
  }

  async renewLeases(owner: string, until: number): Promise<string[]> {
    const r = await this.rows(() => this.s`UPDATE outbound_attempts SET lease_until = ${until} WHERE owner = ${owner} AND status <> 'done' RETURNING id`);
    return r.map((x) => String(x.id));
  }

  async takeOver(owner: string, now: number, until: number, limit: number): Promise<Attempt[]> {
    // The outer WHERE repeats the lease test: PostgreSQL re-reads a row another transaction just took before it
    // updates it, so of two instances racing for one attempt only the first gets it.
    const r = await this.rows(
      () => this.s`UPDATE outbound_attempts SET owner = ${owner}, lease_until = ${until}
        WHERE id IN (SELECT id FROM outbound_attempts WHERE status <> 'done' AND (lease_until IS NULL OR lease_until < ${now})
            ORDER BY created_at LIMIT ${limit})
          AND status <> 'done' AND (lease_until IS NULL OR lease_until < ${now})
        RETURNING *`,
    );
    return r.map(attempt);
  }

  async dueAttempts(owner: string, now: number, limit: number): Promise<Attempt[]> {
    const r = await this.rows(
      () => this.s`SELECT * FROM outbound_attempts WHERE owner = ${owner} AND status <> 'done' AND next_check_at IS NOT NULL
          AND next_check_at <= ${now} ORDER BY next_check_at LIMIT ${limit}`,
    );
    return r.map(attempt);
  }

  async firstEvent(eventId: string, at: number): Promise<boolean> {
    const r = await this.rows(
      () => this.s`INSERT INTO outbound_events (event_id, received_at) VALUES (${eventId.slice(0, 200)}, ${at}) ON CONFLICT (event_id) DO NOTHING RETURNING event_id`,
    );
    if (++this.eventsSeen % 500 === 0) await this.rows(() => this.s`DELETE FROM outbound_events WHERE received_at < ${at - EVENT_KEEP_MS}`);
    return r.length === 1;
  }

  async forgetEvent(eventId: string): Promise<void> {
    await this.rows(() => this.s`DELETE FROM outbound_events WHERE event_id = ${eventId.slice(0, 200)}`);
  }

  async dncAdd(number: string, source: string, at: number): Promise<boolean> {
    const r = await this.rows(
      () => this.s`INSERT INTO do_not_call (number, source, added_at) VALUES (${number}, ${source}, ${at}) ON CONFLICT (number) DO NOTHING RETURNING number`,
    );
    return r.length === 1;
  }

  async dncRemove(number: string): Promise<boolean> {
    const r = await this.rows(() => this.s`DELETE FROM do_not_call WHERE number = ${number} RETURNING number`);
    return r.length === 1;
  }

  async dncHas(number: string): Promise<boolean> {
    const r = await this.rows(() => this.s`SELECT number FROM do_not_call WHERE number = ${number}`);
    return r.length === 1;
  }

  async dncList(limit: number, after: string | undefined): Promise<DncEntry[]> {
    const s = this.s;
    const r = await this.rows(
      () => s`SELECT number, source, added_at FROM do_not_call WHERE 1 = 1 ${after === undefined ? s`` : s`AND number > ${after}`} ORDER BY number LIMIT ${limit}`,
    );
    return r.map((x) => ({ number: String(x.number), source: String(x.source), at: n(x.added_at) }));
  }

  async createCampaign(c: Omit<Campaign, "endedAt">, contacts: NewContact[]): Promise<void> {
    this.db.need();
    await this.db.tx(async (tx) => {
      await tx`INSERT INTO campaigns (id, name, agent, state, call_window, max_concurrent, retry, start_at, end_at, created_at, contacts)
        VALUES (${c.id}, ${c.name}, ${c.agent}, ${c.state}, ${JSON.stringify(c.window)}, ${c.maxConcurrent}, ${JSON.stringify(c.retry)},
          ${c.startAt}, ${c.endAt}, ${c.createdAt}, ${contacts.length})`;
      const first = c.startAt ?? c.createdAt;
      for (let i = 0; i < contacts.length; i += INSERT_CHUNK) {
        const rows = contacts.slice(i, i + INSERT_CHUNK).map((k, j) => ({
          id: `${c.id}:${i + j}`,
          campaign_id: c.id,
          seq: i + j,
          row_no: k.row,
          to_number: k.to,
          variables: JSON.stringify(k.variables),
          state: "pending",
          attempts: 0,
          next_at: first,
        }));
        await tx`INSERT INTO campaign_contacts ${tx(rows)}`;
      }
    });
  }

  async campaign(id: string): Promise<Campaign | undefined> {
    const r = await this.rows(() => this.s`SELECT * FROM campaigns WHERE id = ${id}`);
    return r[0] === undefined ? undefined : campaign(r[0]);
  }

  async campaigns(limit: number): Promise<Campaign[]> {
    const r = await this.rows(() => this.s`SELECT * FROM campaigns ORDER BY created_at DESC, id DESC LIMIT ${limit}`);
    return r.map(campaign);
  }

  async activeCampaigns(): Promise<Campaign[]> {
    const r = await this.rows(() => this.s`SELECT * FROM campaigns WHERE state IN ('scheduled', 'running') ORDER BY created_at`);
    return r.map(campaign);
  }

  async campaignCounts(id: string): Promise<CampaignCounts> {
    const r = await this.rows(
      () => this.s`SELECT state, COALESCE(outcome, last_outcome) AS o, COUNT(*) AS k FROM campaign_contacts WHERE campaign_id = ${id}
        GROUP BY state, COALESCE(outcome, last_outcome)`,
    );
    const out: CampaignCounts = { states: emptyStates(), outcomes: emptyOutcomes() };
    for (const x of r) {
      const k = n(x.k);
      out.states[String(x.state) as ContactState] += k;
      // Outcomes so far: the final one of contacts done, the last attempt's of contacts that will be tried again.
      if (x.o !== null && x.o !== undefined && String(x.o) in out.outcomes) out.outcomes[String(x.o) as Outcome] += k;
    }
    return out;
  }

  async setCampaignState(id: string, from: readonly CampaignState[], to: CampaignState, at: number): Promise<boolean> {
    const s = this.s;
    const ended = to === "cancelled" || to === "done" ? at : null;
    const r = await this.rows(
      () => s`UPDATE campaigns SET state = ${to}, ended_at = COALESCE(${ended}, ended_at) WHERE id = ${id} AND state IN ${s(from as CampaignState[])} RETURNING id`,
    );
    return r.length === 1;
  }

  async claimContacts(q: ClaimQuery): Promise<Attempt[]> {
    this.db.need();
    if (q.limit <= 0) return [];
    const pg = this.db.engine === "postgres";
    return this.db.tx(async (tx) => {
      // The campaign's row is the lock every claim takes first: maxConcurrent is counted and used under it.
      const camp = (pg
        ? await tx`SELECT * FROM campaigns WHERE id = ${q.campaignId} FOR UPDATE SKIP LOCKED`
        : await tx`SELECT * FROM campaigns WHERE id = ${q.campaignId}`) as Row[];
      if (camp[0] === undefined) return [];
      const p = campaign(camp[0]);
      if (p.state !== "running") return [];
      const active = n(((await tx`SELECT COUNT(*) AS k FROM campaign_contacts WHERE campaign_id = ${p.id} AND state = 'dialing'`) as Row[])[0]?.k ?? 0);
      const room = Math.min(q.limit, p.maxConcurrent - active);
      if (room <= 0) return [];
      const due = (await tx`SELECT c.*, d.number AS dnc FROM campaign_contacts c LEFT JOIN do_not_call d ON d.number = c.to_number
          WHERE c.campaign_id = ${p.id} AND c.state = 'pending' AND c.next_at <= ${q.now}
          ORDER BY c.next_at, c.seq LIMIT ${room + 50}`) as Row[];
      const out: Attempt[] = [];
      for (const r of due) {
        const c = contact(r);
        if (r.dnc !== null && r.dnc !== undefined) {
          await tx`UPDATE campaign_contacts SET state = 'done', outcome = 'opted_out', last_outcome = 'opted_out' WHERE id = ${c.id} AND state = 'pending'`;
          continue;
        }
        if (out.length >= room) break;
        const a = newAttempt({
          id: q.newId(),
          campaignId: p.id,
          contactId: c.id,
          attemptNo: c.attempts + 1,
          agent: p.agent,
          from: q.from,
          to: c.to,
          variables: c.variables,
          owner: q.owner,
          leaseUntil: q.leaseUntil,
          nextCheckAt: q.nextCheckAt,
          createdAt: q.now,
        });
        await tx`UPDATE campaign_contacts SET state = 'dialing', attempts = attempts + 1, last_attempt_id = ${a.id} WHERE id = ${c.id} AND state = 'pending'`;
        await tx`INSERT INTO outbound_attempts (id, campaign_id, contact_id, attempt_no, agent, from_number, to_number, variables,
            status, owner, lease_until, next_check_at, created_at)
          VALUES (${a.id}, ${a.campaignId}, ${a.contactId}, ${a.attemptNo}, ${a.agent}, ${a.from}, ${a.to}, ${JSON.stringify(a.variables)},
            ${"dialing"}, ${a.owner}, ${a.leaseUntil}, ${a.nextCheckAt}, ${a.createdAt})`;
        out.push(a);
      }
      return out;
    });
  }

  async closeContacts(campaignId: string, outcome: "cancelled" | "expired", at: number): Promise<number> {
    const r = await this.rows(
      () => this.s`UPDATE campaign_contacts SET state = 'done', outcome = ${outcome}, next_at = ${at}
        WHERE campaign_id = ${campaignId} AND state = 'pending' RETURNING id`,
    );
    return r.length;
  }

  async finishIfDone(campaignId: string, at: number): Promise<boolean> {
    const r = await this.rows(
      () => this.s`UPDATE campaigns SET state = 'done', ended_at = ${at}
        WHERE id = ${campaignId} AND state = 'running'
          AND NOT EXISTS (SELECT 1 FROM campaign_contacts WHERE campaign_id = ${campaignId} AND state IN ('pending', 'dialing'))
        RETURNING id`,
    );
    return r.length === 1;
  }

  async contacts(campaignId: string, q: ContactQuery): Promise<Contact[]> {
    const s = this.s;
    const state = q.state === undefined ? s`` : s`AND state = ${q.state}`;
    const outcome = q.outcome === undefined ? s`` : s`AND COALESCE(outcome, last_outcome) = ${q.outcome}`;
    const after = q.after === undefined ? s`` : s`AND seq > ${q.after}`;
    const r = await this.rows(
      () => s`SELECT * FROM campaign_contacts WHERE campaign_id = ${campaignId} ${state} ${outcome} ${after} ORDER BY seq LIMIT ${q.limit}`,
    );
    if (r.length === 0) return [];
    const ids = r.map((x) => String(x.id));
    const calls = await this.rows(
      () => s`SELECT id, contact_id, call_id, end_reason FROM outbound_attempts WHERE contact_id IN ${s(ids)} AND call_id IS NOT NULL ORDER BY created_at`,
    );
    const byContact = new Map<string, string[]>();
    const ended = new Map<string, EndReason>();
    for (const c of calls) {
      const k = String(c.contact_id);
      const list = byContact.get(k) ?? [];
      list.push(String(c.call_id));
      byContact.set(k, list);
      if (c.end_reason !== null && c.end_reason !== undefined) ended.set(String(c.id), String(c.end_reason) as EndReason);
    }
    return r.map((x) => contact(x, byContact.get(String(x.id)) ?? [], ended.get(String(x.last_attempt_id)) ?? null));
  }

  async contactTotals(): Promise<{ states: Record<ContactState, number>; outcomes: Record<Outcome, number> }> {
    const r = await this.rows(
      () => this.s`SELECT c.state AS state, c.outcome AS outcome, COUNT(*) AS k FROM campaign_contacts c JOIN campaigns p ON p.id = c.campaign_id
        WHERE p.state IN ('scheduled', 'running', 'paused') GROUP BY c.state, c.outcome`,
    );
    const out = { states: emptyStates(), outcomes: emptyOutcomes() };
    for (const x of r) {
      const k = n(x.k);
      out.states[String(x.state) as ContactState] += k;
      if (x.outcome !== null && x.outcome !== undefined && String(x.outcome) in out.outcomes) out.outcomes[String(x.outcome) as Outcome] += k;
    }
    return out;
  }
}
