// Places outbound attempts and follows each one to its outcome, on whichever instance holds it.
//   dialing  the attempt's row exists (owned by this instance); POST /v1/calls is sent, and sent again with the
//            same Idempotency-Key while Sautikit gives no clear answer (a crash in between is the same case)
//   ringing  Sautikit placed the call; this instance holds a place for it (MAX_CALLS) until its webhook comes
//   in_call  the answered call's webhook reached a relay: the call runs there, and that instance owns the attempt
//   done     outcome from the call's end (completed, voicemail, opted_out), or for a call never answered from a
//            signed per-number event (events.ts) or, OUTBOUND_RING_TIMEOUT_S after it was placed with neither,
//            from GET /v1/calls/{id}, asked again with backoff until the status is final
// Ownership is a lease renewed every tick: an instance that stops (SIGKILL included) stops renewing, and another
// instance (or the restarted one) takes its attempts over with one conditional UPDATE per attempt, so exactly one
// instance drives each. Nothing here is on an audio path: Sautikit being slow or down delays only this.
import { renderAgent } from "../agents/variables.ts";
import type { Agent } from "../call/agent.ts";
import type { Direction } from "../call/data.ts";
import type { CallEvent } from "../call/events.ts";
import type { PlacedCall, PlacedCalls } from "../http/app.ts";
import type { Logger } from "../log.ts";
import { toE164 } from "../phone-numbers.ts";
import { errText } from "./err.ts";
import { within } from "../within.ts";
import type { Clock } from "./clock.ts";
import type { OutboundMetrics } from "./metrics.ts";
import { knownStatus, SautikitError, unansweredOutcome, type SautikitCalls } from "./sautikit.ts";
import type { Attempt, OutboundStore, Settlement, SettleResult } from "./store.ts";

/** `att_` + 32 hex digits: characters Sautikit accepts in a client_request_id ([A-Za-z0-9._:-]), one per attempt. */
export const ATTEMPT_ID = /^att_[0-9a-f]{32}$/;
export const newAttemptId = (): string => `att_${crypto.randomUUID().replaceAll("-", "")}`;

/** An originate request with no clear answer is sent this many times in all before the attempt fails. */
export const MAX_DIAL_TRIES = 4;
/** Asking Sautikit about a call: the first wait after the ring timeout, doubling to the most. */
const CHECK_FIRST_MS = 5_000;
const CHECK_MAX_MS = 60_000;
/** No final status this long after the call was placed: the attempt fails (its status is kept as Sautikit said it). */
export const CHECK_GIVE_UP_MS = 3_600_000;
/** Sautikit says answered, yet no webhook came this long after the ring timeout: hang it up, it fails. */
const ANSWERED_NO_WEBHOOK_MS = 60_000;
/** A call under way is looked at this often in case its end was never written (a database outage at the time). */
const IN_CALL_RECHECK_MS = 300_000;
/** The webhook's look-up of an attempt never waits longer than this. */
const FIND_TIMEOUT_MS = 1500;
const PER_TICK = 50;

/** What the dialer needs of the calls of this instance (CallManager fits, with `live` from its calls). */
export interface DialerCalls {
  admit(kind: Direction): boolean;
  hold(): () => void;
  /** A call with this id runs here. */
  live(callId: string): boolean;
}

export interface DialerDeps {
  store: OutboundStore;
  api: SautikitCalls;
  /** False without SAUTIKIT_API_KEY: nothing can be placed, so nothing is claimed or sent. */
  canPlace: boolean;
  clock: Clock;
  /** This process's name in the attempts' owner column. */
  instance: string;
  ringTimeoutMs: number;
  leaseMs: number;
  /** Bound on each originate request (the "dialing" row is looked at again after it). */
  requestTimeoutMs: number;
  /** Where the answered call's webhook goes: PUBLIC_URL + /voice. */
  voiceUrl(): string;
  calls: DialerCalls;
  /** The agents file's agent by name (as it is now). */
  agent(name: string): Agent | undefined;
  metrics: OutboundMetrics;
  log: Logger;
  /** An attempt ended here (its campaign contact has moved on). */
  settled?(r: SettleResult): void;
}

interface Tracked {
  attempt: Attempt;
  /** Gives back the place this instance holds for the ringing call. */
  release: () => void;
  sending: boolean;
}

interface CallState {
  attemptId: string;
  voicemailMessage: string | undefined;
  optedOut: boolean;
}

export class Dialer implements PlacedCalls {
  /** Attempts this instance placed (or took over) that have not reached a call yet; each holds a place. */
  private readonly tracked = new Map<string, Tracked>();
  /** Calls of attempts running here, by call id. */
  private readonly callStates = new Map<string, CallState>();
  /** Webhooks answered here: call id → attempt (a socket that never comes is the attempt's end too). */
  private readonly bound = new Map<string, string>();
  /** Ends that could not be written (database away): written again each tick. */
  private unsaved: Settlement[] = [];
  private readonly work = new Set<Promise<void>>();
  /** Attempts Sautikit is being asked about now: a slow answer must not start a second question next tick. */
  private readonly checking = new Set<string>();
  private stopped = false;

  constructor(private readonly d: DialerDeps) {}

  /** Attempts this instance holds a place for (dialing or ringing). */
  get ringing(): number {
    return this.tracked.size;
  }

  /** Resolves once the requests to Sautikit started so far are answered (tests, and the drain). */
  async idle(): Promise<void> {
    while (this.work.size > 0) await Promise.allSettled([...this.work]);
  }

  /** No more originate requests from now on (SIGTERM); attempts under way keep being followed. */
  stop(): void {
    this.stopped = true;
  }

  /** New calls may be placed: not stopping, and Sautikit's key is there. */
  get dialing(): boolean {
    return !this.stopped && this.d.canPlace;
  }

  private background(p: Promise<unknown>): void {
    const w: Promise<void> = p.then(
      () => undefined,
      (err: unknown) => this.d.log.error({ err: errText(err) }, "outbound: unexpected failure"),
    );
    this.work.add(w);
    void w.finally(() => this.work.delete(w));
  }

  /** A new attempt, already in the store and owned by this instance, with the place held for it: send it. */
  dial(a: Attempt, release: () => void): void {
    const t: Tracked = { attempt: a, release, sending: false };
    this.tracked.set(a.id, t);
    this.background(this.send(t));
  }

  private async send(t: Tracked): Promise<void> {
    const a = t.attempt;
    if (t.sending || this.stopped) return;
    t.sending = true;
    const tries = a.dialTries + 1;
    a.dialTries = tries;
    const log = this.d.log.child({ attempt: a.id });
    try {
      const placed = await this.d.api.originate({ from: a.from, to: a.to, voiceCallbackUrl: this.d.voiceUrl(), clientRequestId: a.id }, a.id);
      const now = this.d.clock.now();
      a.sautikitCallId ??= placed.callId;
      a.sessionId ??= placed.sessionId;
      if (a.status === "dialing") a.status = "ringing";
      a.placedAt ??= now;
      await this.d.store.attemptPlaced(a.id, placed.callId, placed.sessionId, placed.status, now, now + this.d.ringTimeoutMs);
      log.info({ sautikitCallId: placed.callId, tries }, "outbound: call placed, ringing");
    } catch (err) {
      if (!(err instanceof SautikitError)) {
        // The store could not be told: the row says dialing, and its next look sends the request again (same key).
        log.error({ err: errText(err) }, "outbound: could not record the placed call; it is asked about again");
        return;
      }
      this.d.metrics.dialError(err.kind);
      const now = this.d.clock.now();
      if (err.unclear && tries < MAX_DIAL_TRIES) {
        const waitMs = Math.max(err.retryAfterMs ?? 0, 2000 * 2 ** (tries - 1));
        log.warn({ cause: err.kind, tries, retryInMs: waitMs, err: err.message }, "outbound: originate request got no clear answer; sending it again with the same Idempotency-Key");
        await this.d.store.attemptDialAgain(a.id, tries, now + waitMs, err.message).catch((e: unknown) => log.error({ err: errText(e) }, "outbound: store failed"));
        return;
      }
      log.warn({ cause: err.kind, tries, err: err.message }, "outbound: the call could not be placed");
      await this.settle({ id: a.id, outcome: "failed", detail: `could not place the call: ${err.message}`, endReason: null, at: now });
    } finally {
      t.sending = false;
    }
  }

  // ---------- the answered call's webhook (PlacedCalls) ----------

  async find(requestId: string, log: Logger): Promise<PlacedCall | "unknown" | undefined> {
    const t = this.tracked.get(requestId);
    if (t !== undefined) return this.placedCall(t.attempt) ?? "unknown";
    if (!ATTEMPT_ID.test(requestId)) return undefined;
    try {
      const r = await within(this.d.store.attempt(requestId), FIND_TIMEOUT_MS);
      if (r === "timeout") throw new Error(`no answer within ${FIND_TIMEOUT_MS} ms`);
      if (r === undefined) {
        log.error({ attempt: requestId }, "outbound: the webhook names an attempt the store does not know");
        return "unknown";
      }
      return this.placedCall(r) ?? "unknown";
    } catch (err) {
      log.error({ attempt: requestId, err: errText(err) }, "outbound: cannot read the attempt the webhook names");
      return "unknown";
    }
  }

  /** The attempt's agent, filled with the attempt's variables and caller, callee (ours and the person's). */
  private placedCall(a: Attempt): PlacedCall | undefined {
    const agent = this.d.agent(a.agent);
    if (agent === undefined) {
      this.d.log.error({ attempt: a.id, agent: a.agent }, "outbound: the attempt's agent is no longer in the agents file");
      return undefined;
    }
    const variables = { caller: a.from, callee: a.to, ...a.variables };
    return { attemptId: a.id, agent: renderAgent(agent, variables).agent, caller: a.from, callee: a.to, purpose: { direction: "outbound", attemptId: a.id, variables } };
  }

  holds(attemptId: string): boolean {
    return this.tracked.has(attemptId);
  }

  bind(p: PlacedCall, callId: string, log: Logger): void {
    const t = this.tracked.get(p.attemptId);
    if (t !== undefined) {
      t.release();
      this.tracked.delete(p.attemptId);
    }
    this.bound.set(callId, p.attemptId);
    const now = this.d.clock.now();
    this.d.store
      .bindAttempt(p.attemptId, callId, this.d.instance, now + this.d.leaseMs, now, now + IN_CALL_RECHECK_MS)
      .catch((err: unknown) => log.error({ attempt: p.attemptId, err: errText(err) }, "outbound: could not record the answered call on its attempt"));
    log.info({ attempt: p.attemptId }, "outbound: the callee answered");
  }

  refused(p: PlacedCall, callId: string, reason: string, log: Logger): void {
    this.bound.delete(callId);
    log.warn({ attempt: p.attemptId, reason }, "outbound: answered, but this relay could not take the call");
    this.background(this.settle({ id: p.attemptId, outcome: "failed", detail: `answered, but the relay could not take the call (${reason})`, endReason: null, at: this.d.clock.now(), callId }));
  }

  // ---------- the calls' events (an observer on the call event hub) ----------

  readonly observe = (e: CallEvent): void => {
    switch (e.type) {
      case "started": {
        const id = e.purpose?.attemptId;
        this.bound.delete(e.callId);
        if (id === undefined || id === null) return;
        this.callStates.set(e.callId, { attemptId: id, voicemailMessage: undefined, optedOut: false });
        // The call runs here: this instance owns the attempt now (its socket may have reached another than the webhook).
        const now = this.d.clock.now();
        this.d.store.bindAttempt(id, e.callId, this.d.instance, now + this.d.leaseMs, now, now + IN_CALL_RECHECK_MS).catch((err: unknown) =>
          this.d.log.error({ callId: e.callId, attempt: id, err: errText(err) }, "outbound: could not record the call on its attempt"),
        );
        return;
      }
      case "voicemail": {
        const c = this.callStates.get(e.callId);
        if (c !== undefined) c.voicemailMessage = e.message;
        return;
      }
      case "optOut": {
        const c = this.callStates.get(e.callId);
        if (c !== undefined) c.optedOut = true;
        const n = toE164(e.number);
        if (n === undefined) {
          this.d.log.warn({ callId: e.callId }, "opt_out: the call's other party is not a phone number; nothing to put on the do-not-call list");
          return;
        }
        this.background(this.addDnc(n, e.callId));
        return;
      }
      case "ended": {
        const c = this.callStates.get(e.callId);
        if (c === undefined) return;
        this.callStates.delete(e.callId);
        const outcome = c.optedOut || e.reason === "opted_out" ? "opted_out" : e.reason === "voicemail" ? "voicemail" : "completed";
        const s: Settlement = { id: c.attemptId, outcome, detail: e.detail, endReason: e.reason, at: this.d.clock.now(), callId: e.callId };
        if (c.voicemailMessage !== undefined) s.voicemailMessage = c.voicemailMessage;
        this.background(this.settle(s));
        return;
      }
      case "neverStarted": {
        const id = this.bound.get(e.callId);
        this.bound.delete(e.callId);
        if (id === undefined) return;
        this.background(this.settle({ id, outcome: "failed", detail: "answered, but the call's audio socket never came (no_media)", endReason: "no_media", at: this.d.clock.now(), callId: e.callId }));
        return;
      }
      default:
        return;
    }
  };

  private async addDnc(number: string, callId: string): Promise<void> {
    for (let i = 1; ; i++) {
      try {
        await this.d.store.dncAdd(number, "opt_out", this.d.clock.now());
        this.d.log.info({ callId }, "opt_out: the number is on the do-not-call list");
        return;
      } catch (err) {
        if (i >= 5) {
          this.d.log.error({ callId, err: errText(err) }, "opt_out: could not put the number on the do-not-call list");
          return;
        }
        await Bun.sleep(500 * i);
      }
    }
  }

  // ---------- Sautikit's per-number events (events.ts) ----------

  /** A signed event about a call: a final status settles an attempt that never reached its webhook. */
  async sautikitEvent(ev: { sautikitId: string; status: string | null; kind: string }, log: Logger): Promise<"settled" | "noted" | "ignored" | "unknown"> {
    const a = this.trackedBySautikitId(ev.sautikitId) ?? (await this.d.store.attemptBySautikitId(ev.sautikitId));
    if (a === undefined) return "unknown";
    if (a.status === "done" || a.status === "in_call") return "ignored";
    const known = knownStatus(ev.status);
    if (known === undefined) {
      if (ev.status !== null) log.warn({ attempt: a.id, status: ev.status.slice(0, 40), kind: ev.kind }, "outbound: Sautikit event with a status it does not document; kept, not acted on");
      await this.d.store.attemptChecked(a.id, ev.status, a.checks, a.nextCheckAt ?? this.d.clock.now());
      return "noted";
    }
    const end = unansweredOutcome(known);
    if (end === undefined) {
      await this.d.store.attemptChecked(a.id, known, a.checks, a.nextCheckAt ?? this.d.clock.now());
      return "noted";
    }
    await this.settle({ id: a.id, outcome: end.outcome, detail: `${end.detail}, from its ${ev.kind} event`, endReason: null, at: this.d.clock.now(), sautikitStatus: known });
    return "settled";
  }

  private trackedBySautikitId(id: string): Attempt | undefined {
    for (const t of this.tracked.values()) if (t.attempt.sautikitCallId === id || t.attempt.sessionId === id) return t.attempt;
    return undefined;
  }

  // ---------- the tick: leases, take-overs, attempts due ----------

  /** One round (the outbound loop calls it every second or so; tests call it with a fake clock). */
  async tick(): Promise<void> {
    const d = this.d;
    const now = d.clock.now();
    if (this.unsaved.length > 0) {
      const again = this.unsaved;
      this.unsaved = [];
      for (const s of again) await this.settle(s);
    }
    const mine = new Set(await d.store.renewLeases(d.instance, now + d.leaseMs));
    for (const [id, t] of this.tracked) {
      // Ended, bound to a call, or taken by another instance since: this instance holds no place for it any more.
      if (!mine.has(id) && !t.sending) {
        t.release();
        this.tracked.delete(id);
      }
    }
    // A stopping instance takes nothing over: what it leaves is for the others.
    const taken = this.stopped ? [] : await d.store.takeOver(d.instance, now, now + d.leaseMs, PER_TICK);
    for (const a of taken) {
      d.log.warn({ attempt: a.id, status: a.status }, "outbound: took over an attempt its instance stopped following");
      if (a.status === "dialing" || a.status === "ringing") this.tracked.set(a.id, { attempt: a, release: d.calls.hold(), sending: false });
      // A call under way on an instance that is gone has ended for us: ask Sautikit now.
      if (a.status === "in_call") await d.store.attemptChecked(a.id, a.sautikitStatus, a.checks, now);
    }
    for (const a of await d.store.dueAttempts(d.instance, now, PER_TICK)) this.due(a);
  }

  private due(a: Attempt): void {
    const t = this.tracked.get(a.id);
    if (t !== undefined) {
      t.attempt.nextCheckAt = a.nextCheckAt;
      t.attempt.checks = a.checks;
    }
    switch (a.status) {
      case "dialing": {
        const tr = t ?? { attempt: a, release: this.d.calls.hold(), sending: false };
        this.tracked.set(a.id, tr);
        if (!tr.sending && !this.stopped) this.background(this.send(tr));
        return;
      }
      case "ringing":
        if (t === undefined) this.tracked.set(a.id, { attempt: a, release: this.d.calls.hold(), sending: false });
        this.background(this.check(a));
        return;
      case "in_call":
        if (a.callId !== null && this.d.calls.live(a.callId)) {
          this.background(this.d.store.attemptChecked(a.id, a.sautikitStatus, a.checks, this.d.clock.now() + IN_CALL_RECHECK_MS));
          return;
        }
        this.background(this.check(a));
        return;
      default:
        return;
    }
  }

  /** Asks Sautikit about a call that has no outcome yet (one question per attempt at a time). */
  private async check(a: Attempt): Promise<void> {
    if (this.checking.has(a.id)) return;
    this.checking.add(a.id);
    try {
      await this.ask(a);
    } finally {
      this.checking.delete(a.id);
    }
  }

  private async ask(a: Attempt): Promise<void> {
    const d = this.d;
    const log = d.log.child({ attempt: a.id });
    const id = a.sautikitCallId ?? a.sessionId;
    const now = d.clock.now();
    const checks = a.checks + 1;
    const later = (status: string | null) => d.store.attemptChecked(a.id, status, checks, now + Math.min(CHECK_MAX_MS, CHECK_FIRST_MS * 2 ** Math.min(checks - 1, 10)));
    const since = a.placedAt ?? a.createdAt;
    if (id === null) {
      await this.settle({ id: a.id, outcome: "failed", detail: "Sautikit never said which call it placed", endReason: null, at: now });
      return;
    }
    let s;
    try {
      s = await d.api.status(id);
    } catch (err) {
      if (err instanceof SautikitError) d.metrics.dialError(err.kind);
      log.warn({ err: errText(err), checks }, "outbound: cannot ask Sautikit about the call; asking again later");
      if (now - since > CHECK_GIVE_UP_MS) await this.settle({ id: a.id, outcome: "failed", detail: "Sautikit could not be asked about the call for an hour", endReason: null, at: now });
      else await later(a.sautikitStatus);
      return;
    }
    if (s === "not_found") {
      await this.settle({ id: a.id, outcome: "failed", detail: "Sautikit knows no such call", endReason: null, at: now });
      return;
    }
    const known = knownStatus(s.status);
    if (a.status === "in_call") {
      // Its relay stopped while the call ran (the call is ours no more): end it for the callee, who hears nothing.
      if (known === "answered" || known === "ringing") await d.api.hangup(id);
      await this.settle({ id: a.id, outcome: "completed", detail: "the relay that had the call stopped before it ended", endReason: "lost", at: now, sautikitStatus: s.status ?? undefined });
      return;
    }
    if (known === undefined) {
      if (s.status !== null) log.warn({ status: s.status.slice(0, 40) }, "outbound: Sautikit reports a status it does not document; kept, asking again later");
    } else {
      const end = unansweredOutcome(known);
      if (end !== undefined) {
        await this.settle({ id: a.id, outcome: end.outcome, detail: end.detail, endReason: null, at: now, sautikitStatus: known });
        return;
      }
      if (known === "answered" && now - since > d.ringTimeoutMs + ANSWERED_NO_WEBHOOK_MS) {
        await d.api.hangup(id);
        await this.settle({ id: a.id, outcome: "failed", detail: "answered, but its voice webhook never reached the relay (hung up)", endReason: null, at: now, sautikitStatus: known });
        return;
      }
    }
    if (now - since > CHECK_GIVE_UP_MS) {
      await this.settle({ id: a.id, outcome: "failed", detail: `no final status from Sautikit within an hour (last: ${s.status ?? "none"})`, endReason: null, at: now, sautikitStatus: s.status ?? undefined });
      return;
    }
    await later(s.status);
  }

  /** Ends an attempt once (the store decides); frees its place here; a failure to write is tried again next tick. */
  async settle(s: Settlement): Promise<SettleResult | undefined> {
    let r: SettleResult | undefined;
    try {
      r = await this.d.store.settleAttempt(s);
    } catch (err) {
      this.d.log.error({ attempt: s.id, err: errText(err) }, "outbound: could not record the attempt's outcome; trying again");
      this.unsaved.push(s);
      return undefined;
    }
    const t = this.tracked.get(s.id);
    if (t !== undefined && !t.sending) {
      t.release();
      this.tracked.delete(s.id);
    } else if (t !== undefined) {
      t.attempt.status = "done";
    }
    if (r === undefined) return undefined;
    this.d.metrics.attemptEnded(r.attempt.agent, s.outcome);
    this.d.log.info(
      { attempt: s.id, callId: r.attempt.callId ?? s.callId ?? undefined, campaign: r.attempt.campaignId ?? undefined, outcome: s.outcome, endReason: s.endReason ?? undefined, detail: s.detail.slice(0, 200), contactState: r.contact?.state },
      "outbound: attempt ended",
    );
    this.d.settled?.(r);
    return r;
  }
}
