// The outbox: events in the store, each written in the same transaction as what it reports, and a worker that POSTs
// each one signed per Standard Webhooks (docs/standard-webhooks.md), with exponential backoff and the same
// webhook-id on every attempt. Never on a call's path; a restart picks up what is pending, and a lease keeps two
// instances from sending one event at once. The events:
//   call.ended    → CALL_WEBHOOK_URL, queued with the call's ended write, body built from the record at first attempt
//   call.analyzed → CALL_WEBHOOK_URL, queued with the analysis result (src/analysis), body built the same way
//   call.handoff  → the agent's handoff.notify URL, signed with the handoff secret; its first attempt is made by the
//                   handoff tool itself (sendNow) and the row is written with how it went (src/handoff)
import type { CallWebhookSettings, HandoffSettings } from "../config.ts";
import type { Logger } from "../log.ts";
import { ReportSigner } from "../signing/standard-webhooks.ts";
import { wallClock, type WallClock } from "./clock.ts";
import { OnePass, Wakeups } from "./wakeups.ts";
import type { CallRecord, HandoffDelivery } from "./record.ts";
import { errText, type DeliveryRow, type RecordStore } from "./store.ts";

export type OutboxEvent = "call.ended" | "call.analyzed" | "call.handoff";

export interface OutboxSettings {
  /** CALL_WEBHOOK_URL: call.ended and call.analyzed are queued only when it is set. */
  call: CallWebhookSettings | undefined;
  /** call.handoff: each row names its own URL; undefined when no secret signs them. */
  handoff: HandoffSettings | undefined;
}

/** Where one event goes and how it is signed and retried. */
interface Target {
  url: string;
  headers: Record<string, string>;
  signer: ReportSigner;
  retries: number;
  backoffMs: number;
  timeoutMs: number;
}

export interface AttemptResult {
  /** undefined: delivered (2xx). */
  error: string | undefined;
  /** 410 Gone: the receiver wants no more. */
  gone: boolean;
}

/** The event's body from its call's record (call.ended: the record; call.analyzed: the record without its
 *  transcript and tool calls, with the analysis). */
export function eventBody(kind: "call.ended" | "call.analyzed", rec: CallRecord, now: number): string {
  if (kind === "call.ended") return JSON.stringify({ type: "call.ended", timestamp: rec.endedAt ?? new Date(now).toISOString(), data: rec });
  const { transcript: _t, toolCalls: _c, ...data } = rec;
  const at = rec.analysis !== null && "analyzedAt" in rec.analysis ? rec.analysis.analyzedAt : new Date(now).toISOString();
  return JSON.stringify({ type: "call.analyzed", timestamp: at, data });
}

/** Pending reports written by another instance, or before a restart, are found this often. */
const POLL_MS = 5000;
const MAX_PER_PASS = 16;
const MAX_DELAY_MS = 15 * 60 * 1000;

/** Wait after failed attempt `n` (1-based): backoff × 3^(n-1), at most 15 min. */
export function retryDelayMs(backoffMs: number, attempt: number): number {
  return Math.min(backoffMs * 3 ** (attempt - 1), MAX_DELAY_MS);
}

/** Random jitter, downward only so the schedule's total stays what retryDelayMs promises
 *  (docs/standard-webhooks.md#retries). */
const jitter = (ms: number): number => Math.round(ms * (0.8 + Math.random() * 0.2));

export class Deliveries {
  private readonly callSigner: ReportSigner | undefined;
  private readonly handoffSigner: ReportSigner | undefined;
  private readonly wakeups: Wakeups;
  private poll: ReturnType<typeof setInterval> | undefined;
  private readonly passes: OnePass;
  private stopped = false;
  private failing = false;

  constructor(
    private readonly store: RecordStore,
    private readonly o: OutboxSettings,
    private readonly log: Logger,
    private readonly clock: WallClock = wallClock,
  ) {
    this.callSigner = o.call === undefined ? undefined : new ReportSigner(o.call.secret);
    this.handoffSigner = o.handoff?.secret === undefined ? undefined : new ReportSigner(o.handoff.secret);
    this.passes = new OnePass(() => this.runPass(), () => this.kick(0));
    this.wakeups = new Wakeups(clock, () => void this.passes.pass());
  }

  /** call.handoff events can be signed (a secret is set). */
  get handoffs(): boolean {
    return this.handoffSigner !== undefined;
  }

  /** The target of a row, or why it has none any more (a setting removed since it was queued). */
  private target(kind: OutboxEvent, row: Pick<DeliveryRow, "url" | "headers"> | undefined): Target | string {
    if (kind === "call.handoff") {
      const h = this.o.handoff;
      if (h === undefined || this.handoffSigner === undefined) return "no HANDOFF_WEBHOOK_SECRET or CALL_WEBHOOK_SECRET to sign it";
      if (row?.url == null) return "the event has no target URL";
      let headers: Record<string, string> = {};
      try {
        headers = row.headers === null ? {} : (JSON.parse(row.headers) as Record<string, string>);
      } catch {
        return "the event's headers could not be read";
      }
      return { url: row.url, headers, signer: this.handoffSigner, retries: h.retries, backoffMs: h.backoffMs, timeoutMs: h.timeoutMs };
    }
    const c = this.o.call;
    if (c === undefined || this.callSigner === undefined) return "CALL_WEBHOOK_URL is not set";
    return { url: c.url, headers: {}, signer: this.callSigner, retries: c.retries, backoffMs: c.backoffMs, timeoutMs: c.timeoutMs };
  }

  /**
   * The first attempt of a call.handoff event that is not in the outbox yet (the handoff tool waits for it, so it
   * is made at once rather than after the row is written). Returns the row to write: delivered, given up (410), or
   * pending with its next attempt.
   */
  async sendNow(id: string, url: string, headers: Record<string, string>, body: string, timeoutMs: number): Promise<HandoffDelivery> {
    const t = this.target("call.handoff", { url, headers: JSON.stringify(headers) });
    const row = { url, headers, payload: body };
    if (typeof t === "string") return { ...row, attempts: 0, status: "failed", nextAt: this.clock.now(), error: t };
    const { error, gone } = await this.post({ ...t, timeoutMs: Math.max(1, Math.min(t.timeoutMs, timeoutMs)) }, id, body);
    const log = this.log.child({ webhookId: id, event: "call.handoff", attempt: 1 });
    if (error === undefined) {
      log.info("handoff event: delivered");
      return { ...row, attempts: 1, status: "delivered", nextAt: this.clock.now(), error: null };
    }
    if (gone || t.retries === 0) {
      log.error({ error }, gone ? "handoff event: the receiver answered 410 Gone; not retrying" : "handoff event: not delivered and no retries configured");
      return { ...row, attempts: 1, status: "failed", nextAt: this.clock.now(), error };
    }
    const wait = jitter(retryDelayMs(t.backoffMs, 1));
    log.warn({ error, retryInMs: wait }, "handoff event: first attempt failed; the outbox retries it");
    return { ...row, attempts: 1, status: "pending", nextAt: this.clock.now() + wait, error };
  }

  start(): void {
    // A store closed before it was ever ready rejects `ready`; there is nothing to deliver then.
    this.store.ready.then(() => this.kick(0), () => undefined);
    this.poll = setInterval(() => this.kick(0), POLL_MS);
    this.poll.unref?.();
  }

  /** Looks for due events in `delayMs`. */
  kick(delayMs = 0): void {
    if (!this.stopped) this.wakeups.in(delayMs);
  }

  /** Looks for due events at `at` (Unix ms on this outbox's clock: a row's next attempt). */
  kickAt(at: number): void {
    this.kick(at - this.clock.now());
  }

  private async runPass(): Promise<void> {
    if (this.stopped || !this.store.isReady) return;
    let rows: DeliveryRow[];
    try {
      rows = await this.store.dueDeliveries(this.clock.now(), MAX_PER_PASS);
      if (this.failing) this.log.info("call webhook: outbox readable again");
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.log.warn({ err: errText(err) }, "call webhook: cannot read the outbox; will retry");
      this.failing = true;
      return;
    }
    await Promise.all(rows.map((r) => this.attempt(r).catch((err: unknown) => this.log.warn({ callId: r.callId, webhookId: r.id, err: errText(err) }, "call webhook: attempt not recorded; will retry"))));
    if (rows.length === MAX_PER_PASS) this.passes.more();
  }

  private async attempt(row: DeliveryRow): Promise<void> {
    const now = this.clock.now();
    const kind: OutboxEvent = row.kind === "call.analyzed" || row.kind === "call.handoff" ? row.kind : "call.ended";
    const what = kind === "call.handoff" ? "handoff event" : "call webhook";
    const target = this.target(kind, row);
    // Long enough for the request and its bookkeeping; an instance that dies mid-attempt frees the row after it.
    const timeoutMs = typeof target === "string" ? 0 : target.timeoutMs;
    if (!(await this.store.leaseDelivery(row.id, now, now + timeoutMs + 30000))) return;
    const log = this.log.child({ callId: row.callId, webhookId: row.id, event: kind, attempt: row.attempts + 1 });
    if (typeof target === "string") {
      await this.store.deliveryFailed(row.id, row.attempts, target);
      log.error({ error: target }, `${what}: cannot be sent; giving up`);
      return;
    }
    let body = row.payload;
    if (body === null) {
      const rec = kind === "call.handoff" ? undefined : await this.store.getCall(row.callId);
      if (rec === undefined || kind === "call.handoff") {
        await this.store.deliveryFailed(row.id, row.attempts, "call record not found");
        return;
      }
      body = eventBody(kind, rec, now);
      await this.store.setDeliveryPayload(row.id, body);
    }
    const attempt = row.attempts + 1;
    const { error, gone } = await this.post(target, row.id, body);
    if (error === undefined) {
      await this.store.deliveryDone(row.id, attempt, this.clock.now());
      log.info(`${what}: delivered`);
      return;
    }
    if (gone || attempt > target.retries) {
      await this.store.deliveryFailed(row.id, attempt, error);
      log.error({ error }, gone ? `${what}: the receiver answered 410 Gone; not retrying` : `${what}: giving up after the last retry`);
      return;
    }
    const wait = jitter(retryDelayMs(target.backoffMs, attempt));
    await this.store.deliveryRetry(row.id, attempt, this.clock.now() + wait, error);
    log.warn({ error, retryInMs: wait }, `${what}: attempt failed; will retry`);
    this.kick(wait);
  }

  /** One POST: no error on 2xx. Redirects are not followed (a failure); 410 means "stop sending". */
  private async post(t: Target, id: string, body: string): Promise<AttemptResult> {
    const req = t.signer.sign(id, body, new Date(this.clock.now()));
    // The receiver's own headers first; the signature's and the content type are ours and win.
    const headers = new Headers(t.headers);
    for (const [k, v] of Object.entries(req.headers)) headers.set(k, v);
    const ac = new AbortController();
    const timer = this.clock.setTimeout(() => ac.abort(), t.timeoutMs);
    try {
      const res = await fetch(t.url, { method: "POST", headers, body: req.body, redirect: "manual", signal: ac.signal });
      await res.arrayBuffer().catch(() => undefined);
      return { error: res.status >= 200 && res.status < 300 ? undefined : `HTTP ${res.status}`, gone: res.status === 410 };
    } catch (err) {
      return { error: ac.signal.aborted ? `timeout after ${t.timeoutMs} ms` : errText(err), gone: false };
    } finally {
      this.clock.clearTimeout(timer);
    }
  }

  /** Stops looking for work; waits briefly for attempts in flight (an unfinished one is retried after its lease). */
  async stop(waitMs = 2000): Promise<void> {
    this.stopped = true;
    this.wakeups.stop();
    clearInterval(this.poll);
    const p = this.passes.current;
    if (p !== undefined) await Promise.race([p, Bun.sleep(waitMs)]);
  }
}
