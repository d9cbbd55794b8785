// Outbound calls and campaigns for one relay: the dialer (dialer.ts), the campaign scheduler (scheduler.ts), the
// per-number events (events.ts) and the API (api.ts, campaigns-api.ts), driven by one loop that ticks about once a
// second on an injected clock. Everything lives in the records database, so any instance on it can carry on
// another's work. None of it is on a call's audio path.
import type { Hono, MiddlewareHandler } from "hono";
import type { Registry } from "prom-client";
import type { CallAdmission } from "../admission/admission.ts";
import type { Agent } from "../call/agent.ts";
import type { CallManager } from "../call/manager.ts";
import type { Config } from "../config.ts";
import type { RefusalSink } from "../log-limit.ts";
import { maskNumber } from "../phone-numbers.ts";
import type { Logger } from "../log.ts";
import { outboundRoutes, type AdminEnv, type PlaceResult } from "./api.ts";
import { campaignRoutes } from "./campaigns-api.ts";
import { systemClock, type Clock } from "./clock.ts";
import { Dialer, newAttemptId } from "./dialer.ts";
import { errText } from "./err.ts";
import { handleEvent } from "./events.ts";
import { OutboundMetrics } from "./metrics.ts";
import { callee, checkVariables, FieldError, outboundAgent, variables } from "./requests.ts";
import { SautikitRest, type SautikitCalls } from "./sautikit.ts";
import { CampaignScheduler } from "./scheduler.ts";
import { newAttempt, type Attempt, type OutboundStore } from "./store.ts";

/** How often the loop looks for work. */
export const TICK_MS = 1000;

export interface OutboundDeps {
  config: Config;
  store: OutboundStore;
  /** The records database has its schema (nothing is tried before). */
  storeReady: () => boolean;
  calls: CallManager;
  admission: CallAdmission;
  registry: Registry;
  log: Logger;
  /** A call's whole record (results.csv reads its analysis). */
  callRecord: (id: string) => Promise<unknown>;
  clock?: Clock;
  api?: SautikitCalls;
  /** This process's name as owner of attempts; a random one by default. */
  instance?: string;
  /** `call.supervision.*` events about these call ids arrived (the handoff desk looks at them at once). */
  supervisionEvent?: (ids: string[]) => void;
}

export class Outbound {
  readonly dialer: Dialer;
  readonly scheduler: CampaignScheduler;
  readonly metrics: OutboundMetrics;
  readonly store: OutboundStore;
  readonly clock: Clock;
  readonly instance: string;
  readonly log: Logger;
  private timer: unknown;
  private running: Promise<void> | undefined;
  private stopped = false;
  private failures = 0;

  constructor(private readonly d: OutboundDeps) {
    const c = d.config;
    this.clock = d.clock ?? systemClock;
    this.store = d.store;
    this.instance = d.instance ?? `inst_${crypto.randomUUID().slice(0, 13)}`;
    this.log = d.log.child({ component: "outbound" });
    this.metrics = new OutboundMetrics(d.registry);
    const api = d.api ?? new SautikitRest({ apiUrl: c.sautikitApiUrl, apiKey: c.sautikitApiKey, callsPath: c.outbound.callsPath, timeoutMs: c.outbound.requestTimeoutMs });
    this.dialer = new Dialer({
      store: d.store,
      api,
      canPlace: c.sautikitApiKey !== undefined || d.api !== undefined,
      clock: this.clock,
      instance: this.instance,
      ringTimeoutMs: c.outbound.ringTimeoutS * 1000,
      leaseMs: c.outbound.leaseS * 1000,
      requestTimeoutMs: c.outbound.requestTimeoutMs,
      voiceUrl: () => `${c.publicUrl}/voice`,
      calls: {
        admit: (kind) => d.admission.admit(kind),
        hold: () => d.calls.hold(),
        live: (id) => d.calls.calls().some((x) => x.callId === id),
      },
      agent: (name) => this.agent(name),
      metrics: this.metrics,
      log: this.log,
    });
    d.calls.events.subscribe(this.dialer.observe);
    this.scheduler = new CampaignScheduler({
      store: d.store,
      dialer: this.dialer,
      calls: { admit: (kind) => d.admission.admit(kind), hold: () => d.calls.hold() },
      clock: this.clock,
      instance: this.instance,
      leaseMs: c.outbound.leaseS * 1000,
      recheckMs: c.outbound.requestTimeoutMs + 5000,
      agent: (name) => this.agent(name),
      metrics: this.metrics,
      log: this.log,
    });
  }

  agent(name: string): Agent | undefined {
    return this.d.calls.router.list().find((r) => r.agent.name === name)?.agent;
  }

  agents(): Agent[] {
    return this.d.calls.router.list().map((r) => r.agent);
  }

  /** Starts the loop. */
  start(): void {
    if (this.timer !== undefined || this.stopped) return;
    const loop = (): void => {
      this.timer = this.clock.setTimeout(() => void this.runOnce().finally(() => !this.stopped && loop()), TICK_MS);
    };
    loop();
  }

  /** One round of work; concurrent calls share it. */
  runOnce(): Promise<void> {
    if (this.running !== undefined) return this.running;
    this.running = this.round().finally(() => (this.running = undefined));
    return this.running;
  }

  private async round(): Promise<void> {
    if (!this.d.storeReady()) return;
    try {
      await this.dialer.tick();
      await this.scheduler.tick();
      if (this.failures > 0) this.log.info({ failedRounds: this.failures }, "outbound: the database answers again");
      this.failures = 0;
    } catch (err) {
      if (this.failures++ % 60 === 0) this.log.error({ err: errText(err), failedRounds: this.failures }, "outbound: a round of work failed (database?); trying again");
    }
  }

  /** SIGTERM: no new call is placed from now on; calls and attempts under way carry on. */
  stopDialing(): void {
    this.dialer.stop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.dialer.stop();
    this.clock.clearTimeout(this.timer);
    await this.running;
    await this.dialer.idle();
  }

  /** POST /api/outbound. */
  async placeCall(body: Record<string, unknown>): Promise<PlaceResult> {
    let agent: ReturnType<typeof outboundAgent>;
    let to: string;
    let vars: ReturnType<typeof variables>;
    try {
      agent = outboundAgent(body.agent, this.agents());
      to = callee(body.to);
      vars = variables(body.variables);
      checkVariables(agent, vars);
    } catch (err) {
      if (err instanceof FieldError) return { ok: false, status: 400, field: err.field, error: err.message };
      throw err;
    }
    const cannot = this.cannotDial();
    if (cannot !== undefined) return { ok: false, status: 503, error: cannot };
    if (!this.dialer.dialing) return { ok: false, status: 503, error: "this instance is stopping and places no new calls" };
    if (!this.d.storeReady()) return { ok: false, status: 503, error: "records database unavailable" };
    try {
      if (await this.store.dncHas(to)) return { ok: false, status: 409, error: "that number is on the do-not-call list (DELETE /api/dnc/:number to take it off)" };
    } catch (err) {
      this.log.warn({ err: errText(err) }, "outbound: cannot read the do-not-call list");
      return { ok: false, status: 503, error: "records database unavailable" };
    }
    // Admitted and held in the same turn, so concurrent requests cannot all slip under the limit.
    if (!this.d.admission.admit("outbound")) {
      this.log.warn({ maxCalls: this.d.config.maxCalls, reserve: this.d.config.outbound.reserveCalls }, "outbound: no room for another call (MAX_CALLS less the inbound reserve)");
      return { ok: false, status: 503, error: "no room for another call on this instance (MAX_CALLS, less OUTBOUND_RESERVE_CALLS kept for inbound calls)" };
    }
    const release = this.d.calls.hold();
    const now = this.clock.now();
    const a = newAttempt({
      id: newAttemptId(),
      campaignId: null,
      contactId: null,
      attemptNo: 1,
      agent: agent.name,
      from: agent.outbound.from,
      to,
      variables: vars,
      owner: this.instance,
      leaseUntil: now + this.d.config.outbound.leaseS * 1000,
      nextCheckAt: now + this.d.config.outbound.requestTimeoutMs + 5000,
      createdAt: now,
    });
    try {
      await this.store.insertAttempt(a);
    } catch (err) {
      release();
      this.log.warn({ err: errText(err) }, "outbound: cannot record the attempt");
      return { ok: false, status: 503, error: "records database unavailable" };
    }
    this.log.info({ attempt: a.id, agent: a.agent, to: maskNumber(to) }, "outbound: placing a call");
    this.dialer.dial(a, release);
    return { ok: true, attempt: a };
  }

  event(req: Request, refusals: RefusalSink): Promise<Response> {
    const c = this.d.config;
    return handleEvent(req, {
      store: this.store,
      dialer: this.dialer,
      secret: c.outbound.eventsSecret,
      windowS: c.signatureWindowS,
      allowBareHex: c.signatureBareHex,
      now: () => this.clock.now(),
      log: this.log,
      refusals,
      supervision: this.d.supervisionEvent,
    });
  }

  /** Why no call can be placed from this relay at all, or undefined. */
  cannotDial(): string | undefined {
    return this.d.config.sautikitApiKey === undefined && this.d.api === undefined ? "SAUTIKIT_API_KEY is not set: the relay cannot place calls" : undefined;
  }

  routes(guard: MiddlewareHandler<AdminEnv>, refusals: RefusalSink): Hono<AdminEnv> {
    const campaigns = campaignRoutes({
      cannotDial: () => this.cannotDial(),
      store: this.store,
      agents: () => this.agents(),
      clock: this.clock,
      timeZone: this.d.config.callTimezone,
      callRecord: this.d.callRecord,
      log: this.log,
    });
    return outboundRoutes(this, guard, refusals, [campaigns]);
  }
}
