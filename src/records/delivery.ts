// The end-of-call report: an outbox in the store, filled in the same transaction as the call's ended write, and
// a worker that POSTs each entry to CALL_WEBHOOK_URL signed per Standard Webhooks (docs/standard-webhooks.md),
// with exponential backoff and the same webhook-id on every attempt. Never on a call's path; a restart picks up
// what is pending, and a lease keeps two instances from sending one report at once.
import type { CallWebhookSettings } from "../config.ts";
import type { Logger } from "../log.ts";
import { ReportSigner } from "../signing/standard-webhooks.ts";
import { errText, type DeliveryRow, type RecordStore } from "./store.ts";

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
  private readonly signer: ReportSigner;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt = Infinity;
  private poll: ReturnType<typeof setInterval> | undefined;
  private passing: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private failing = false;

  constructor(
    private readonly store: RecordStore,
    private readonly o: CallWebhookSettings,
    private readonly log: Logger,
  ) {
    this.signer = new ReportSigner(o.secret);
  }

  start(): void {
    // A store closed before it was ever ready rejects `ready`; there is nothing to deliver then.
    this.store.ready.then(() => this.kick(0), () => undefined);
    this.poll = setInterval(() => this.kick(0), POLL_MS);
    this.poll.unref?.();
  }

  /** Looks for due reports in `delayMs` (keeps the earliest of several requests). */
  kick(delayMs = 0): void {
    if (this.stopped) return;
    const at = Date.now() + Math.max(0, delayMs);
    if (this.timer !== undefined && this.timerAt <= at) return;
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      void this.pass();
    }, Math.max(0, delayMs));
  }

  private pass(): Promise<void> {
    if (this.passing !== undefined) {
      this.again = true;
      return this.passing;
    }
    this.passing = this.runPass().finally(() => {
      this.passing = undefined;
      if (this.again) {
        this.again = false;
        this.kick(0);
      }
    });
    return this.passing;
  }

  private async runPass(): Promise<void> {
    if (this.stopped || !this.store.isReady) return;
    let rows: DeliveryRow[];
    try {
      rows = await this.store.dueDeliveries(Date.now(), MAX_PER_PASS);
      if (this.failing) this.log.info("call webhook: outbox readable again");
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.log.warn({ err: errText(err) }, "call webhook: cannot read the outbox; will retry");
      this.failing = true;
      return;
    }
    await Promise.all(rows.map((r) => this.attempt(r).catch((err: unknown) => this.log.warn({ callId: r.callId, webhookId: r.id, err: errText(err) }, "call webhook: attempt not recorded; will retry"))));
    if (rows.length === MAX_PER_PASS) this.again = true;
  }

  private async attempt(row: DeliveryRow): Promise<void> {
    const now = Date.now();
    // Long enough for the request and its bookkeeping; an instance that dies mid-attempt frees the row after it.
    if (!(await this.store.leaseDelivery(row.id, now, now + this.o.timeoutMs + 30000))) return;
    let body = row.payload;
    if (body === null) {
      const rec = await this.store.getCall(row.callId);
      if (rec === undefined) {
        await this.store.deliveryFailed(row.id, row.attempts, "call record not found");
        return;
      }
      body = JSON.stringify({ type: "call.ended", timestamp: rec.endedAt ?? new Date(now).toISOString(), data: rec });
      await this.store.setDeliveryPayload(row.id, body);
    }
    const attempt = row.attempts + 1;
    const log = this.log.child({ callId: row.callId, webhookId: row.id, attempt });
    const { error, gone } = await this.post(row.id, body);
    if (error === undefined) {
      await this.store.deliveryDone(row.id, attempt, Date.now());
      log.info("call webhook: delivered");
      return;
    }
    if (gone || attempt > this.o.retries) {
      await this.store.deliveryFailed(row.id, attempt, error);
      log.error({ error }, gone ? "call webhook: the receiver answered 410 Gone; not retrying" : "call webhook: giving up after the last retry");
      return;
    }
    const wait = jitter(retryDelayMs(this.o.backoffMs, attempt));
    await this.store.deliveryRetry(row.id, attempt, Date.now() + wait, error);
    log.warn({ error, retryInMs: wait }, "call webhook: attempt failed; will retry");
    this.kick(wait);
  }

  /** One POST: no error on 2xx. Redirects are not followed (a failure); 410 means "stop sending". */
  private async post(id: string, body: string): Promise<{ error: string | undefined; gone: boolean }> {
    const req = this.signer.sign(id, body);
    try {
      const res = await fetch(this.o.url, {
        method: "POST",
        headers: req.headers,
        body: req.body,
        redirect: "manual",
        signal: AbortSignal.timeout(this.o.timeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
      return { error: res.status >= 200 && res.status < 300 ? undefined : `HTTP ${res.status}`, gone: res.status === 410 };
    } catch (err) {
      const e = err as { name?: string };
      return { error: e.name === "TimeoutError" ? `timeout after ${this.o.timeoutMs} ms` : errText(err), gone: false };
    }
  }

  /** Stops looking for work; waits briefly for attempts in flight (an unfinished one is retried after its lease). */
  async stop(waitMs = 2000): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.poll);
    if (this.passing !== undefined) await Promise.race([this.passing, Bun.sleep(waitMs)]);
  }
}
