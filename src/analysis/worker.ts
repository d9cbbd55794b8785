// Runs the queued analyses (the `analyses` table, filled with each ended call of an agent with `analysis`), off every
// call's path: ANALYSIS_CONCURRENCY at a time per instance, each claimed with a lease so several instances share the
// queue and a restart finishes what was queued. One generateContent request per attempt, bounded by
// ANALYSIS_TIMEOUT_MS; 429, 5xx, timeouts and network errors are retried with backoff (longer when Google says
// so); an answer that does not fit the schema is asked for once more, then kept as an error. Each settled analysis
// queues a call.analyzed event in the same transaction (src/records/delivery.ts).
import type { AnalysisSettings } from "../config.ts";
import { generateContent, type GenerateOutcome } from "../gemini/generate.ts";
import type { Logger } from "../log.ts";
import { wallClock, type WallClock } from "../records/clock.ts";
import { retryDelayMs } from "../records/delivery.ts";
import { OnePass, Wakeups } from "../records/wakeups.ts";
import type { CallAnalysis } from "../records/record.ts";
import { errText, type AnalysisRow, type AnalysisSettlement, type RecordStore } from "../records/store.ts";
import { readAnswer } from "./answer.ts";
import { analysisRequest } from "./request.ts";

/** Analyses queued by another instance, or before a restart, are found this often. */
const POLL_MS = 5000;
/** A lease outlives the request by this much (the bookkeeping around it). */
const LEASE_MARGIN_MS = 30000;
/** An answer that does not fit is asked for again this many times. */
const BAD_ANSWER_RETRIES = 1;
/** Google's own suggested delay is followed up to this long. */
const MAX_SUGGESTED_DELAY_MS = 15 * 60 * 1000;

export const OFFLINE_SKIP = "offline mode: GEMINI_API_KEY is not set, so nothing is sent to Google";
export const NOTHING_SAID_SKIP = "nothing was said on the call";

export interface AnalysisWorkerOptions {
  store: RecordStore;
  settings: AnalysisSettings;
  /** undefined: offline mode, every analysis is settled as skipped. */
  apiKey: string | undefined;
  /** Queue a call.analyzed event with each settled analysis (CALL_WEBHOOK_URL is set). */
  webhook: boolean;
  log: Logger;
  clock?: WallClock;
  /** After an analysis was settled (the outbox looks for work then). */
  onSettled?: () => void;
}

type Step =
  | { kind: "settle"; status: AnalysisSettlement["status"]; result: CallAnalysis; attempts: number; badAnswers: number }
  | { kind: "retry"; attempts: number; badAnswers: number; delayMs: number; error: string };

export class AnalysisWorker {
  private readonly clock: WallClock;
  private readonly running = new Set<string>();
  private readonly wakeups: Wakeups;
  private poll: ReturnType<typeof setInterval> | undefined;
  private readonly passes: OnePass;
  private stopped = false;
  private failing = false;
  /** Requests in flight, aborted at stop. */
  private readonly inFlight = new Set<AbortController>();

  constructor(private readonly o: AnalysisWorkerOptions) {
    this.clock = o.clock ?? wallClock;
    this.passes = new OnePass(() => this.runPass(), () => this.kick(0));
    this.wakeups = new Wakeups(this.clock, () => void this.passes.pass());
  }

  get active(): number {
    return this.running.size;
  }

  start(): void {
    this.o.store.ready.then(() => this.kick(0), () => undefined);
    this.poll = setInterval(() => this.kick(0), POLL_MS);
    this.poll.unref?.();
  }

  /** Looks for due analyses in `delayMs`. */
  kick(delayMs = 0): void {
    if (!this.stopped) this.wakeups.in(delayMs);
  }

  private async runPass(): Promise<void> {
    const free = this.o.settings.concurrency - this.running.size;
    if (this.stopped || !this.o.store.isReady || free <= 0) return;
    let rows: AnalysisRow[];
    try {
      rows = (await this.o.store.dueAnalyses(this.clock.now(), free + this.running.size)).filter((r) => !this.running.has(r.callId));
      if (this.failing) this.o.log.info("analysis: queue readable again");
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.o.log.warn({ err: errText(err) }, "analysis: cannot read the queue; will retry");
      this.failing = true;
      return;
    }
    for (const row of rows.slice(0, free)) {
      const now = this.clock.now();
      const lease = now + this.o.settings.timeoutMs + LEASE_MARGIN_MS;
      let mine: boolean;
      try {
        mine = await this.o.store.leaseAnalysis(row.callId, now, lease);
      } catch (err) {
        this.o.log.warn({ callId: row.callId, err: errText(err) }, "analysis: cannot take it from the queue; will retry");
        continue;
      }
      if (!mine || this.stopped) continue;
      this.running.add(row.callId);
      void this.run(row, lease)
        .catch((err: unknown) => this.o.log.warn({ callId: row.callId, err: errText(err) }, "analysis: attempt not recorded; will retry after its lease"))
        .finally(() => {
          this.running.delete(row.callId);
          this.kick(0);
        });
    }
    if (rows.length > free) this.passes.more();
  }

  private async run(row: AnalysisRow, lease: number): Promise<void> {
    const step = await this.attempt(row);
    // Stopping: an attempt cut short is not one; the row is taken again once its lease runs out.
    if (this.stopped) return;
    const log = this.o.log.child({ callId: row.callId, agent: row.agent, attempts: step.attempts });
    if (step.kind === "retry") {
      await this.o.store.analysisRetry(row.callId, lease, { attempts: step.attempts, badAnswers: step.badAnswers, nextAt: this.clock.now() + step.delayMs, error: step.error });
      log.warn({ error: step.error, retryInMs: step.delayMs }, "analysis: attempt failed; will retry");
      this.kick(step.delayMs);
      return;
    }
    const at = this.clock.now();
    const deliveryId = this.o.webhook ? `msg_${crypto.randomUUID().replaceAll("-", "")}` : undefined;
    const kept = await this.o.store.analysisSettled(row.callId, lease, { status: step.status, result: step.result, attempts: step.attempts, badAnswers: step.badAnswers, at, deliveryId });
    if (!kept) {
      log.info("analysis: queued again while it ran; this result is not kept");
      return;
    }
    if (step.status === "done") log.info("analysis: done");
    else if (step.status === "skipped") log.info({ why: (step.result as { skipped: string }).skipped }, "analysis: skipped");
    else log.error({ error: (step.result as { error: string }).error }, "analysis: given up");
    this.o.onSettled?.();
  }

  /** One attempt: what to do with the row next. */
  private async attempt(row: AnalysisRow): Promise<Step> {
    const s = this.o.settings;
    const { attempts, badAnswers } = row;
    if (this.o.apiKey === undefined) return { kind: "settle", status: "skipped", result: { skipped: OFFLINE_SKIP }, attempts, badAnswers };
    const rec = await this.o.store.getCall(row.callId);
    if (rec === undefined) return { kind: "settle", status: "failed", result: { error: "the call's record is gone", attempts }, attempts, badAnswers };
    if (rec.transcript.length === 0 && rec.toolCalls.length === 0) return { kind: "settle", status: "skipped", result: { skipped: NOTHING_SAID_SKIP }, attempts, badAnswers };

    const model = row.spec.model ?? s.model;
    const ac = new AbortController();
    let timedOut = false;
    const timer = this.clock.setTimeout(() => {
      timedOut = true;
      ac.abort();
    }, s.timeoutMs);
    this.inFlight.add(ac);
    let out: GenerateOutcome;
    try {
      out = await generateContent({ baseUrl: s.apiUrl, apiKey: this.o.apiKey, model, request: analysisRequest(rec, row.spec, s.schemaForm), signal: ac.signal, timedOut: () => timedOut });
    } finally {
      this.clock.clearTimeout(timer);
      this.inFlight.delete(ac);
    }
    const n = attempts + 1;
    const failed = (error: string): Step => ({ kind: "settle", status: "failed", result: { error, attempts: n }, attempts: n, badAnswers });
    const transient = (error: string, suggestedMs?: number): Step => {
      if (n > s.retries) return failed(`${error} (after ${n} attempts)`);
      const delayMs = Math.max(retryDelayMs(s.backoffMs, n), Math.min(suggestedMs ?? 0, MAX_SUGGESTED_DELAY_MS));
      return { kind: "retry", attempts: n, badAnswers, delayMs, error };
    };
    switch (out.kind) {
      case "timeout":
        return transient(`no answer within ${s.timeoutMs} ms`);
      case "network":
        return transient(`Gemini could not be reached (${out.message})`);
      case "http":
        // 429 (quota, rate) and 5xx are worth waiting for; anything else (400, 403, 404) will not change.
        if (out.status === 429 || out.status >= 500) return transient(`HTTP ${out.status}: ${out.message}`, out.retryAfterMs);
        return failed(`HTTP ${out.status}: ${out.message}`);
      case "blocked":
        return failed(`Google blocked the request (${out.reason})`);
      case "unreadable":
      case "text": {
        const v = out.kind === "text" ? readAnswer(out.text, row.spec, out.modelVersion ?? model, new Date(this.clock.now())) : { ok: false as const, why: out.message };
        if (v.ok) return { kind: "settle", status: "done", result: v.result, attempts: n, badAnswers };
        const why = out.kind === "text" && out.finishReason !== undefined && out.finishReason !== "STOP" ? `${v.why} (finishReason ${out.finishReason})` : v.why;
        if (badAnswers < BAD_ANSWER_RETRIES) return { kind: "retry", attempts: n, badAnswers: badAnswers + 1, delayMs: 0, error: why };
        return failed(why);
      }
    }
  }

  /** Stops taking work; requests in flight are aborted (their rows are retried after their lease). */
  async stop(waitMs = 2000): Promise<void> {
    this.stopped = true;
    this.wakeups.stop();
    clearInterval(this.poll);
    for (const ac of this.inFlight) ac.abort();
    const p = this.passes.current;
    if (p !== undefined) await Promise.race([p, Bun.sleep(waitMs)]);
  }
}
