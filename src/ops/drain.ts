// Graceful shutdown. The first SIGTERM/SIGINT starts a drain: readiness turns "draining" at once (a load balancer
// stops sending calls), calls in progress continue untouched and webhooks that still arrive are served; the process
// exits 0 when no call is left and no HTTP request is still being answered, or at the drain timeout after asking
// each remaining call to end politely (the model says a brief goodbye, then the call is hung up with reason
// "shutdown"). A second signal ends at once: every call is hung up through the telephony provider's REST API first.
// From the drain timeout or the second signal on, no call is started: a webhook still in flight (reading its body,
// waiting on a pre-warm) is answered 503 and its claim released, so its retry is answered by another instance.
// Before exit, the requests in flight get their answers (bounded), the registered flushers run in order (call
// events, records, end-of-call deliveries), then the server and the model provider stop. Service managers
// SIGKILL after their own stop timeout, which must exceed the drain's (docs/operations.md#systemd).
import { HARD_STOP_MS, NUDGE_GOODBYE } from "../call/ending.ts";
import type { EndReason } from "../call/data.ts";
import type { Logger } from "../log.ts";
import { within } from "../within.ts";

/** What the drain needs from the call manager (CallManager fits). */
export interface DrainableCalls {
  readonly activeCalls: number;
  /** Webhooks answered whose audio socket has not arrived yet: calls about to start. */
  readonly pendingCalls: number;
  calls(): ReadonlyArray<{ readonly callId: string; endPolitely(reason: EndReason, detail: string, nudge: string | undefined, hardStopMs?: number): void }>;
  whenIdle(): Promise<void>;
  hangupAll(reason: EndReason): Promise<void>;
}

/** HTTP requests being answered (ops/in-flight.ts fits). */
export interface DrainableRequests {
  readonly count: number;
  whenIdle(): Promise<void>;
}

export interface DrainOptions {
  calls: DrainableCalls;
  /** Requests in flight: the process exits only once each has been answered (bounded by stepTimeoutMs at the end). */
  requests?: DrainableRequests;
  /** From the drain timeout or a second signal on: start no more calls (admission closes). */
  stopAdmitting?: () => void;
  /** DRAIN_TIMEOUT_S in ms: how long calls may continue after the first signal. */
  timeoutMs: number;
  log: Logger;
  /** Stops the server and the model provider; runs after the flushers. */
  stop: () => Promise<void>;
  exit: (code: number) => void;
  /** How long a call's goodbye may take at the timeout before it is cut (Call's hard stop). */
  goodbyeMs?: number;
  /** Bound on each flusher, and on the REST hang-ups of a forced stop. */
  stepTimeoutMs?: number;
  /** How often progress is checked (calls started late, pending sockets) and, ×240, logged. */
  pollMs?: number;
}

export type DrainState = "serving" | "draining" | "ending" | "exiting";

type Flusher = { name: string; fn: () => Promise<void> | void };

const NEVER = new Promise<void>(() => {});

export class Drain {
  private _state: DrainState = "serving";
  private readonly flushers: Flusher[] = [];
  private readonly goodbyeMs: number;
  private readonly stepMs: number;
  private readonly pollMs: number;
  private t0 = 0;
  private forced = false;
  /** Bumped by every phase change; a loop of an older phase stops when it sees a newer one. */
  private phase = 0;

  constructor(private readonly o: DrainOptions) {
    this.goodbyeMs = o.goodbyeMs ?? HARD_STOP_MS;
    this.stepMs = o.stepTimeoutMs ?? 10_000;
    this.pollMs = o.pollMs ?? 250;
  }

  get state(): DrainState {
    return this._state;
  }

  /** True from the first signal on: the readiness reason "draining". */
  get draining(): boolean {
    return this._state !== "serving";
  }

  /** Runs before exit, in registration order, each bounded; a failure is logged and the next one still runs. */
  onBeforeExit(name: string, fn: () => Promise<void> | void): void {
    this.flushers.push({ name, fn });
  }

  /** A termination signal arrived. */
  signal(name: string): void {
    if (this._state === "serving") void this.drain(name);
    else if (!this.forced && this._state !== "exiting") void this.force(name);
    else this.o.log.warn({ signal: name, state: this._state }, "drain: already stopping; signal ignored");
  }

  private counts() {
    return { activeCalls: this.o.calls.activeCalls, pendingCalls: this.o.calls.pendingCalls, requests: this.requests() };
  }

  private requests(): number {
    return this.o.requests?.count ?? 0;
  }

  private async drain(signal: string): Promise<void> {
    this._state = "draining";
    const phase = ++this.phase;
    this.t0 = performance.now();
    const c = this.counts();
    this.o.log.info(
      { signal, ...c, drainTimeoutS: Math.round(this.o.timeoutMs / 1000) },
      "drain: not ready for new calls; calls in progress continue; exiting when the last one ends",
    );
    const idle = await this.untilIdle(phase, this.o.timeoutMs, false);
    if (phase !== this.phase) return; // a second signal took over
    if (idle) {
      this.o.log.info({ ...this.counts(), afterMs: this.elapsed() }, "drain: no calls left");
      return this.finish(0, "drained");
    }
    this._state = "ending";
    const p2 = ++this.phase;
    this.o.stopAdmitting?.();
    this.o.log.warn({ ...this.counts(), afterMs: this.elapsed() }, "drain timeout: asking the remaining calls to say goodbye and hang up");
    const ended = await this.untilIdle(p2, this.goodbyeMs + this.stepMs, true);
    if (p2 !== this.phase) return;
    if (!ended) {
      this.o.log.warn(this.counts(), "drain: calls still up after their goodbye; hanging them up");
      await within(this.o.calls.hangupAll("shutdown"), this.stepMs);
    }
    return this.finish(0, "drain timeout");
  }

  /** Second signal: hang every call up now (REST hang-up first), flush, exit. */
  private async force(signal: string): Promise<void> {
    this.forced = true;
    this._state = "ending";
    ++this.phase;
    this.o.stopAdmitting?.();
    this.o.log.warn({ signal, ...this.counts(), afterMs: this.elapsed() }, "drain: second signal; hanging up every call now");
    await within(this.o.calls.hangupAll("shutdown"), this.stepMs);
    this.o.log.info({ ...this.counts() }, "drain: calls hung up");
    return this.finish(0, "second signal");
  }

  /**
   * Waits until no call is active or about to start, up to `limitMs`. With `endThem`, every call seen (including
   * ones whose socket arrives meanwhile) is asked to end politely. Returns whether it got idle.
   */
  private async untilIdle(phase: number, limitMs: number, endThem: boolean): Promise<boolean> {
    const asked = new Set<string>();
    const deadline = performance.now() + limitMs;
    let nextLog = performance.now() + this.pollMs * 240;
    let idle: Promise<void> | undefined; // one waiter at a time on the call manager
    for (;;) {
      if (phase !== this.phase) return false;
      if (endThem) {
        for (const call of this.o.calls.calls()) {
          if (asked.has(call.callId)) continue;
          asked.add(call.callId);
          call.endPolitely("shutdown", "drain timeout", NUDGE_GOODBYE, this.goodbyeMs);
        }
      }
      const { activeCalls, pendingCalls, requests } = this.counts();
      // Past the timeout, calls whose socket never came are not waited for: there is no one to say goodbye to.
      // A request in flight may be a webhook about to answer a call: it is waited for either way.
      if (activeCalls === 0 && (pendingCalls === 0 || endThem) && requests === 0) return true;
      const now = performance.now();
      if (now >= deadline) return false;
      if (now >= nextLog) {
        nextLog = now + this.pollMs * 240;
        this.o.log.info({ activeCalls, pendingCalls, requests, afterMs: this.elapsed() }, "drain: waiting for calls to end");
      }
      // Woken at once by the last call ending or the last request answered; the poll catches pending sockets and
      // calls started meanwhile.
      if (activeCalls > 0) idle ??= this.o.calls.whenIdle().then(() => void (idle = undefined));
      if (requests > 0 && activeCalls === 0) idle ??= this.o.requests!.whenIdle().then(() => void (idle = undefined));
      await within(idle ?? NEVER, Math.min(this.pollMs, Math.max(1, deadline - now)));
    }
  }

  private async finish(code: number, how: string): Promise<void> {
    this._state = "exiting";
    ++this.phase;
    this.o.stopAdmitting?.();
    // A webhook that came in meanwhile is answered (503, its claim released) before the server stops.
    if (this.requests() > 0 && this.o.requests !== undefined) {
      const r = await within(this.o.requests.whenIdle(), this.stepMs);
      if (r === "timeout") this.o.log.error({ requests: this.requests(), timeoutMs: this.stepMs }, "drain: requests still unanswered; they will be cut");
    }
    let failed = 0;
    for (const f of this.flushers) {
      try {
        const r = await within(Promise.resolve().then(f.fn), this.stepMs);
        if (r === "timeout") {
          failed++;
          this.o.log.error({ flusher: f.name, timeoutMs: this.stepMs }, "drain: flush timed out");
        }
      } catch (err) {
        failed++;
        this.o.log.error({ flusher: f.name, err: err instanceof Error ? err.message : String(err) }, "drain: flush failed");
      }
    }
    this.o.log.info({ flushers: this.flushers.length, failed }, "drain: flushed");
    try {
      await within(this.o.stop(), this.stepMs);
    } catch (err) {
      this.o.log.error({ err: err instanceof Error ? err.message : String(err) }, "drain: stopping the server failed");
    }
    this.o.log.info({ how, code, ...this.counts(), afterMs: this.elapsed() }, "exiting");
    this.o.exit(code);
  }

  private elapsed(): number {
    return this.t0 === 0 ? 0 : Math.round(performance.now() - this.t0);
  }
}

/** SIGTERM (service managers, docker stop) and SIGINT (Ctrl-C) both drain; a second one of either forces.
 *  With a listener installed Bun does not exit on the signal itself (docs/operations.md#signals). */
export function handleSignals(drain: Drain): void {
  process.on("SIGTERM", () => drain.signal("SIGTERM"));
  process.on("SIGINT", () => drain.signal("SIGINT"));
}
