// Owns every call of this process: which agent answers a number, model legs pre-warmed at webhook time and keyed
// by call id, the one pacing clock, and the event hub observers subscribe to.
import { Pacer } from "../audio/pacer.ts";
import type { Logger } from "../log.ts";
import { within } from "../within.ts";
import type { CallHandler, CallSocket } from "../telephony/types.ts";
import type { Agent, AgentRouter, CallParties } from "./agent.ts";
import { Call, type CallSettings } from "./call.ts";
import type { Direction, EndReason, RefusalReason } from "./data.ts";
import { CallEventHub } from "./events.ts";
import type { HandoffDesk } from "./handoff.ts";
import type { ModelLeg, ModelLegFactory } from "./model-leg.ts";
import type { RecordingFactory } from "./recording-tap.ts";

export type PrewarmResult = "ready" | "pending" | "failed" | "off";

/** The leg of an outbound call gets no greeting: the callee speaks first, and the call sends it (outbound-line.ts). */
function legAgent(who: CallParties): Agent {
  return who.purpose?.direction === "outbound" && who.agent.greeting !== "" ? { ...who.agent, greeting: "" } : who.agent;
}

/** An answered call's audio socket can take a few seconds to arrive (media server set-up, a slow path); it is
 *  declared missing (no_media) after PREWARM_IDLE_MS but never sooner than this. */
export const NO_MEDIA_MIN_MS = 10_000;

/** What the webhook knew about a call, waiting for its audio socket. */
interface Expected extends CallParties {
  leg: ModelLeg | undefined;
  failed: boolean;
  idle: ReturnType<typeof setTimeout>;
  log: Logger;
}

export interface CallManagerOptions {
  settings: CallSettings;
  legs: ModelLegFactory;
  router: AgentRouter;
  prewarm: boolean;
  prewarmWaitMs: number;
  prewarmIdleMs: number;
  /** Pacer sub-ticks per period (PACER_PHASES). */
  pacerPhases?: number;
  /** "offline" when the model is the local echo stand-in: every call says so in its log. */
  modelLabel: string;
  /** Calls this instance takes at once (active + answered and waiting for their socket); MAX_CALLS. */
  maxCalls?: number;
  /** Recordings for the calls whose agent records (src/recordings); absent = none. */
  recordings?: RecordingFactory;
  /** Of maxCalls, how many outbound calls leave free for inbound ones (OUTBOUND_RESERVE_CALLS). */
  outboundReserve?: number;
  log: Logger;
}

export class CallManager {
  readonly pacer: Pacer;
  readonly events: CallEventHub;
  readonly maxCalls: number;
  router: AgentRouter;
  /** Where calls' handoff tools do their work; set once the records (its outbox) exist (assemble.ts). */
  handoffs: HandoffDesk | undefined;
  private readonly expected = new Map<string, Expected>();
  private readonly active = new Map<string, Call>();
  private readonly idleWaiters: Array<() => void> = [];
  /** Outbound calls placed and not answered yet (ringing): each holds a place until its webhook or its end. */
  private held = 0;
  readonly outboundReserve: number;

  constructor(private readonly o: CallManagerOptions) {
    this.router = o.router;
    this.events = new CallEventHub(o.log);
    this.pacer = new Pacer({ phases: o.pacerPhases ?? 1 });
    this.maxCalls = o.maxCalls ?? Infinity;
    this.outboundReserve = o.outboundReserve ?? 0;
  }

  get activeCalls(): number {
    return this.active.size;
  }

  /** Calls answered at webhook time (pre-warmed or not) waiting for their socket. */
  get pendingCalls(): number {
    return this.expected.size;
  }

  /** A webhook of this process answered the call and its socket has not opened yet. */
  expects(callId: string): boolean {
    return this.expected.has(callId);
  }

  /** Outbound calls ringing (placed, not answered), each holding a place. */
  get heldCalls(): number {
    return this.held;
  }

  /** True when no new call should be taken: active calls, answered ones waiting for their socket and outbound ones
   *  ringing reach MAX_CALLS. */
  get atCapacity(): boolean {
    return this.active.size + this.expected.size + this.held >= this.maxCalls;
  }

  /**
   * May this instance take one more call? Inbound: below MAX_CALLS. Outbound: below MAX_CALLS minus the reserve
   * kept for inbound calls. The caller must call prepare() (or hold()) in the same event-loop turn when
   * admitted, so concurrent requests cannot all slip under the limit.
   */
  admit(kind: Direction = "inbound"): boolean {
    const taken = this.active.size + this.expected.size + this.held;
    return taken < (kind === "outbound" ? this.maxCalls - this.outboundReserve : this.maxCalls);
  }

  /** An outbound call was placed: it holds a place until the returned release is called (its webhook or its
   *  end); calling it again does nothing. */
  hold(): () => void {
    this.held++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.held--;
    };
  }

  /** The webhook answered the fallback instead of a stream: observers (records, metrics) hear of it. */
  refuse(callId: string, agent: string, reason: RefusalReason, detail: string): void {
    this.events.emit({ type: "refused", callId, at: Date.now(), agent, reason, detail });
  }

  calls(): Call[] {
    return [...this.active.values()];
  }

  /**
   * Webhook time: remembers who is calling whom and which agent answers, and (with PREWARM) opens the call's
   * model leg now so it is ready when the socket arrives. Waits up to prewarmWaitMs for it.
   */
  async prepare(callId: string, who: CallParties, log: Logger): Promise<PrewarmResult> {
    this.drop(callId);
    const leg = this.o.prewarm ? this.o.legs({ callId, agent: legAgent(who), log }) : undefined;
    const t0 = performance.now();
    // PREWARM_IDLE_MS bounds how long a pre-warmed session waits; the call itself is given up (no_media) no sooner
    // than NO_MEDIA_MIN_MS, with or without PREWARM.
    const idle = (): void => {
      if (this.expected.get(callId) !== entry) return;
      const waitedMs = Math.round(performance.now() - t0);
      const prewarmed = entry.leg !== undefined;
      void entry.leg?.close();
      entry.leg = undefined;
      if (waitedMs < NO_MEDIA_MIN_MS) {
        if (prewarmed) log.info({ idleMs: this.o.prewarmIdleMs }, "no audio socket yet: closing the pre-warmed session (the socket may still come)");
        entry.idle = setTimeout(idle, NO_MEDIA_MIN_MS - waitedMs);
        return;
      }
      this.expected.delete(callId);
      log.warn(
        { waitedMs, prewarmed },
        "no audio socket came for a call answered with <Stream>: ending it as no_media. Check PUBLIC_URL: the media server must be able to open the stream URL built from it (behind one address shared by several instances, the socket may have reached another one)",
      );
      this.events.emit({ type: "neverStarted", callId, at: Date.now(), agent: who.agent.name, waitedMs });
    };
    const entry: Expected = { ...who, leg, failed: false, log, idle: setTimeout(idle, this.o.prewarmIdleMs) };
    this.expected.set(callId, entry);
    if (leg === undefined) return "off";
    const started = leg.start().then(
      () => "ready" as const,
      (err: unknown) => {
        entry.failed = true;
        log.error({ err: String(err) }, "pre-warm: model session could not be opened");
        return "failed" as const;
      },
    );
    const r = await within(started, this.o.prewarmWaitMs);
    const waited = r === "timeout" ? ("pending" as const) : r;
    if (waited === "failed") this.drop(callId);
    return waited;
  }

  private drop(callId: string): void {
    const e = this.expected.get(callId);
    if (!e) return;
    clearTimeout(e.idle);
    this.expected.delete(callId);
    void e.leg?.close();
  }

  /**
   * The call's audio socket opened. Uses the pre-warmed leg, or opens one (restart, other instance). `known` is
   * what the socket side itself knows about the call (the softphone does), used when prepare()'s entry has gone.
   */
  startCall(socket: CallSocket, log: Logger, known?: CallParties): CallHandler {
    if (this.o.modelLabel === "offline") log.warn("OFFLINE MODE: this call talks to the local echo model, not Gemini");
    const e = this.expected.get(socket.callId);
    let leg: ModelLeg;
    let who: CallParties;
    if (e !== undefined) {
      clearTimeout(e.idle);
      this.expected.delete(socket.callId);
      who = e;
    } else if (known !== undefined) {
      who = known;
    } else {
      const a = this.router.route("");
      if (a === undefined) throw new Error("no agent answers this call");
      who = { caller: "", callee: "", agent: a };
    }
    const agent = who.agent;
    if (e?.leg !== undefined && !e.failed) {
      leg = e.leg;
      log.info({ agent: agent.name }, "using pre-warmed model session");
    } else {
      void e?.leg?.close();
      leg = this.o.legs({ callId: socket.callId, agent: legAgent(who), log });
      leg.start().catch(() => {
        // failure reaches the call through the `failed` event
      });
    }
    const call: Call = new Call({
      settings: this.o.settings,
      info: { callId: socket.callId, caller: who.caller, callee: who.callee, agent, source: socket.source, purpose: who.purpose },
      socket,
      leg,
      pacer: this.pacer,
      events: this.events,
      log,
      recordings: this.o.recordings,
      handoffs: this.handoffs,
      onEnd: (c) => {
        if (this.active.get(c.callId) === c) this.active.delete(c.callId);
        if (this.active.size === 0) for (const w of this.idleWaiters.splice(0)) w();
      },
    });
    this.active.set(socket.callId, call);
    return call;
  }

  /** Resolves when no call is in progress. */
  whenIdle(): Promise<void> {
    if (this.active.size === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Ends every call now with a hang-up (shutdown). */
  async hangupAll(reason: EndReason): Promise<void> {
    await Promise.all(this.calls().map((c) => c.hangup(reason, "relay stopping")));
  }

  async stop(): Promise<void> {
    for (const id of [...this.expected.keys()]) this.drop(id);
    this.pacer.stop();
    this.events.flush();
  }
}
