// A person on the live call (handoff.live): asks Sautikit to bring the agent's number in (supervision, barge),
// then follows the supervision until it ends, telling the call's Handover (joined, left) and the record. Its state
// is asked for every SUPERVISION_POLL_S; a `call.supervision.*` event (POST /sautikit/events) or the admin's
// DELETE /api/calls/:id/supervision only make the relay look now, so neither needs to be trusted or to reach the
// instance that holds the call.
import type { HandoffLine, HandoffRequest } from "../call/handoff.ts";
import type { Logger } from "../log.ts";
import { wallClock, type WallClock } from "../records/clock.ts";
import type { HandoffLive } from "../records/record.ts";
import { getSupervision, startSupervision, stopSupervision, type Supervision, type SupervisionApi } from "../telephony/supervision.ts";

/** A supervision request that takes longer than this falls back to the notify path. */
export const SUPERVISION_REQUEST_MS = 4000;
/** A hint (event) never makes the relay ask more often than this per call. */
const HINT_MIN_GAP_MS = 1000;

export interface LiveDeps {
  /** undefined: SAUTIKIT_API_KEY is not set. */
  api: SupervisionApi | undefined;
  pollMs: number;
  log: Logger;
  /** The handoff's live state changed: record it. */
  changed(callId: string, handoffId: string, live: HandoffLive): void;
  clock?: WallClock;
}

interface Watch {
  callId: string;
  handoffId: string;
  line: HandoffLine;
  live: HandoffLive;
  /** Every id Sautikit may name the call or supervision by in an event. */
  ids: Set<string>;
  timer: unknown;
  checking: boolean;
  lastCheck: number;
  errors: number;
  log: Logger;
}

export class LiveHandover {
  private readonly watches = new Map<string, Watch>();
  private readonly clock: WallClock;

  constructor(private readonly d: LiveDeps) {
    this.clock = d.clock ?? wallClock;
  }

  /** Calls with a person being brought on, or on (for tests and the admin API). */
  get calls(): string[] {
    return [...this.watches.keys()];
  }

  /**
   * Asks for the person; resolves within `timeoutMs` with the live state to record. On success the watch runs and
   * the line is told `joining` (or `joined` when Sautikit says connected at once).
   */
  async request(req: HandoffRequest, handoffId: string, line: HandoffLine, timeoutMs: number): Promise<HandoffLive> {
    const number = req.spec.live!.number;
    const base: HandoffLive = { number, state: "unavailable", supervisionId: null, error: null, connectedAt: null, endedAt: null };
    if (req.source !== "phone") return { ...base, error: "not a phone call" };
    const api = this.d.api;
    if (api === undefined) return { ...base, error: "SAUTIKIT_API_KEY is not set" };
    const log = this.d.log.child({ callId: req.callId, handoffId });
    const ac = new AbortController();
    const timer = this.clock.setTimeout(() => ac.abort(), Math.max(1, timeoutMs));
    const r = await startSupervision(api, req.callId, number, `supervision-${handoffId}`, ac.signal).finally(() => this.clock.clearTimeout(timer));
    if (!r.ok) {
      log.warn({ error: r.error }, "handoff: Sautikit did not bring a person onto the call; falling back to the notification");
      return { ...base, state: "failed", error: r.error };
    }
    const s = r.value;
    const live: HandoffLive = { ...base, state: "requested", supervisionId: s.supervision_id };
    const w: Watch = {
      callId: req.callId,
      handoffId,
      line,
      live,
      ids: new Set([req.callId, s.supervision_id, s.call_id, s.session_id].filter((x): x is string => typeof x === "string" && x !== "")),
      timer: undefined,
      checking: false,
      lastCheck: this.clock.now(),
      errors: 0,
      log,
    };
    this.watches.set(req.callId, w);
    log.info({ supervisionId: s.supervision_id, state: s.state }, "handoff: Sautikit is bringing a person onto the call");
    line.joining();
    if (s.state !== "connecting" && s.state !== "ringing") this.apply(w, s);
    if (this.watches.get(req.callId) === w) this.arm(w);
    return { ...w.live };
  }

  /** A supervision event named these ids: look at those calls' supervisions now. */
  hint(ids: readonly string[]): number {
    let n = 0;
    for (const w of this.watches.values()) {
      if (!ids.some((id) => w.ids.has(id))) continue;
      n++;
      if (this.clock.now() - w.lastCheck >= HINT_MIN_GAP_MS) void this.check(w);
    }
    return n;
  }

  /** The admin ends the supervision: Sautikit is told, and the call here (if it is here) takes it back now. */
  async end(callId: string): Promise<{ here: boolean; error: string | undefined }> {
    const w = this.watches.get(callId);
    const api = this.d.api;
    let error: string | undefined = api === undefined ? "SAUTIKIT_API_KEY is not set" : undefined;
    if (api !== undefined) {
      const ac = new AbortController();
      const timer = this.clock.setTimeout(() => ac.abort(), SUPERVISION_REQUEST_MS);
      const r = await stopSupervision(api, callId, ac.signal).finally(() => this.clock.clearTimeout(timer));
      if (!r.ok) error = r.error;
    }
    if (w !== undefined && this.watches.get(callId) === w) this.finish(w, "ended through the admin API before the person came on");
    return { here: w !== undefined, error };
  }

  /** The call is over: stop following its supervision (Sautikit drops the person's leg with the call). */
  callEnded(callId: string): void {
    const w = this.watches.get(callId);
    if (w === undefined) return;
    this.clock.clearTimeout(w.timer);
    this.watches.delete(callId);
    const connected = w.live.state === "connected";
    w.live = { ...w.live, state: connected ? "ended" : "failed", error: connected ? null : "the call ended before the person came on", endedAt: new Date(this.clock.now()).toISOString() };
    this.d.changed(w.callId, w.handoffId, w.live);
  }

  stop(): void {
    for (const w of this.watches.values()) this.clock.clearTimeout(w.timer);
    this.watches.clear();
  }

  private arm(w: Watch): void {
    this.clock.clearTimeout(w.timer);
    w.timer = this.clock.setTimeout(() => void this.check(w), this.d.pollMs);
  }

  private async check(w: Watch): Promise<void> {
    const api = this.d.api;
    if (w.checking || api === undefined || this.watches.get(w.callId) !== w) return;
    w.checking = true;
    w.lastCheck = this.clock.now();
    const ac = new AbortController();
    const timer = this.clock.setTimeout(() => ac.abort(), SUPERVISION_REQUEST_MS);
    try {
      const r = await getSupervision(api, w.callId, ac.signal);
      if (this.watches.get(w.callId) !== w) return;
      if (!r.ok) {
        // Keep asking: the person may well be on the line; the call's end stops the watch.
        if (w.errors++ % 10 === 0) w.log.warn({ error: r.error, errors: w.errors }, "handoff: cannot read the call's supervision; asking again");
        return;
      }
      w.errors = 0;
      if (r.value === null) this.finish(w, null);
      else this.apply(w, r.value);
    } finally {
      this.clock.clearTimeout(timer);
      w.checking = false;
      if (this.watches.get(w.callId) === w) this.arm(w);
    }
  }

  private apply(w: Watch, s: Supervision): void {
    for (const id of [s.call_id, s.session_id, s.supervision_id]) if (typeof id === "string" && id !== "") w.ids.add(id);
    if (s.state === "connected" && w.live.state === "requested") {
      w.live = { ...w.live, state: "connected", connectedAt: s.connected_at ?? new Date(this.clock.now()).toISOString() };
      w.log.info("handoff: the person is on the line");
      this.d.changed(w.callId, w.handoffId, w.live);
      w.line.joined();
    } else if (s.state === "ended" || s.state === "failed") {
      this.finish(w, s.state === "failed" ? "Sautikit reports the supervision failed (the person did not answer?)" : null, s.ended_at);
    }
  }

  /** Supervision over: the person left, or never came on (`error` says why, when known). */
  private finish(w: Watch, error: string | null, endedAt?: string): void {
    this.clock.clearTimeout(w.timer);
    this.watches.delete(w.callId);
    const connected = w.live.state === "connected";
    // Over before the person was ever on: for the call that is a person who never came.
    const final: HandoffLive["state"] = connected ? "ended" : "failed";
    w.live = { ...w.live, state: final, error: connected ? null : (error ?? "the person never came on the line"), endedAt: endedAt ?? new Date(this.clock.now()).toISOString() };
    w.log.info({ state: w.live.state, connected }, "handoff: the person is off the line");
    this.d.changed(w.callId, w.handoffId, w.live);
    w.line.left(!connected);
  }
}
