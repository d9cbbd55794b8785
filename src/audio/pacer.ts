// One process-wide clock for every call's playout, on an absolute grid (t0 + k·step), re-armed with setTimeout,
// never setInterval, which drifts ~1 % slow in Bun (docs/bun.md#timers). A late tick needs no loop: each Playout
// subtracts the real time since it was last paced from its far-buffer estimate, so it sends the frames it owes.
//
// Phases: with `phases` > 1 the 20 ms period is cut into that many sub-ticks and each playout belongs to one of
// them, so a tick sends a share of the calls' frames instead of all of them in one burst, and a caller frame
// arriving meanwhile waits behind a short burst, not a long one. Every playout is still paced every period.
// The timer only runs while at least one playout is registered, so an idle process pays nothing.
//
// Awake list: a tick visits only the playouts that have something to do (audio queued or playing, a turn open,
// someone waiting for the drain). A playout whose pace() says it is idle leaves its phase's list, and wakes
// itself when model audio arrives, so the calls whose caller is speaking cost the tick nothing, and the ones
// visited touch only their own state, not every call's.

import type { Playout } from "./playout.ts";

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(h: unknown): void;
}

export const realClock: Clock = {
  now: () => performance.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref(); // the pacer alone must not keep a process alive
    return t;
  },
  clearTimeout(h) {
    clearTimeout(h as ReturnType<typeof setTimeout>);
  },
};

export const PACER_PERIOD_MS = 20;

export class Pacer {
  private readonly clock: Clock;
  readonly periodMs: number;
  readonly phases: number;
  private readonly stepMs: number;
  /** Per phase: the registered playouts that are awake (the others are idle and skipped). */
  private readonly buckets: Playout[][];
  /** Every registered playout, awake or not. */
  private readonly registered = new Set<Playout>();
  /** Registered playouts per phase (phase assignment keeps these even). */
  private readonly members: number[];
  private timer: unknown = null;
  private t0 = 0;
  private k = 0; // index of the last grid point served
  private ticking = false;
  private readonly onTimer = (): void => {
    this.timer = null;
    this.ticking = true;
    try {
      this.tickNow();
    } finally {
      this.ticking = false;
    }
    if (this.registered.size > 0 && this.timer === null) this.arm();
  };
  /** Ticks run, and how many of them fired at least one period late (a scheduling health metric). */
  ticks = 0;
  lateTicks = 0;
  /** Exceptions thrown by a playout's sink during a tick (caught so one call cannot stall the others). */
  errors = 0;

  constructor(opts?: { clock?: Clock; periodMs?: number; phases?: number }) {
    this.clock = opts?.clock ?? realClock;
    this.periodMs = opts?.periodMs ?? PACER_PERIOD_MS;
    this.phases = Math.max(1, Math.floor(opts?.phases ?? 1));
    this.stepMs = this.periodMs / this.phases;
    this.buckets = Array.from({ length: this.phases }, () => []);
    this.members = new Array<number>(this.phases).fill(0);
  }

  get size(): number {
    return this.registered.size;
  }

  /** Playouts a tick visits now (the rest are idle). */
  get awake(): number {
    let n = 0;
    for (const b of this.buckets) n += b.length;
    return n;
  }

  get running(): boolean {
    return this.timer !== null;
  }

  now(): number {
    return this.clock.now();
  }

  add(p: Playout): void {
    if (p.pacer === this) return;
    p.pacer?.remove(p);
    p.pacer = this;
    // The least loaded phase keeps the bursts even.
    let phase = 0;
    for (let i = 1; i < this.phases; i++) if (this.members[i]! < this.members[phase]!) phase = i;
    p.pacerPhase = phase;
    this.members[phase]!++;
    this.registered.add(p);
    const now = this.clock.now();
    p.lastPacedAt = now;
    this.wake(p);
    if (this.timer === null && !this.ticking) {
      this.t0 = now;
      this.k = 0;
      this.arm();
    }
  }

  remove(p: Playout): void {
    if (p.pacer !== this) return;
    if (p.awake) {
      const bucket = this.buckets[p.pacerPhase]!;
      const i = bucket.indexOf(p);
      if (i >= 0) bucket.splice(i, 1);
      p.awake = false;
    }
    this.members[p.pacerPhase]!--;
    this.registered.delete(p);
    p.pacer = null;
    if (this.registered.size === 0) this.cancel();
  }

  /** Puts a registered playout back on its phase's list; it is paced from the next tick on. */
  wake(p: Playout): void {
    if (p.awake || p.pacer !== this) return;
    p.awake = true;
    // Idle means nothing was playing: no far-buffer time to account for since it was last paced.
    p.lastPacedAt = this.clock.now();
    this.buckets[p.pacerPhase]!.push(p);
  }

  /** Stops the clock and forgets every playout (they keep their queues). */
  stop(): void {
    this.cancel();
    for (const p of this.registered) {
      p.pacer = null;
      p.awake = false;
    }
    this.registered.clear();
    for (const b of this.buckets) b.length = 0;
    this.members.fill(0);
  }

  /** Serves the phases whose grid points have passed since the last tick (all of them when phases = 1). */
  tickNow(): void {
    const now = this.clock.now();
    const due = Math.floor((now - this.t0) / this.stepMs);
    this.ticks++;
    if (now - (this.t0 + this.k * this.stepMs) >= this.stepMs + this.periodMs) this.lateTicks++;
    // A late tick serves every phase it skipped, at most one full period's worth.
    const from = this.phases === 1 ? due : Math.max(this.k + 1, due - this.phases + 1);
    for (let g = from; g <= due; g++) {
      const list = this.buckets[((g % this.phases) + this.phases) % this.phases]!;
      for (let i = 0; i < list.length; ) {
        const p = list[i]!;
        let busy = true;
        try {
          busy = p.pace(now);
        } catch {
          this.errors++;
        }
        if (busy) {
          i++;
          continue;
        }
        // Idle: leave the list (swap with the last; order within a phase does not matter).
        p.awake = false;
        list[i] = list[list.length - 1]!;
        list.pop();
      }
    }
    if (due > this.k) this.k = due;
  }

  private arm(): void {
    const step = this.stepMs;
    const now = this.clock.now();
    // Next grid point strictly after now; points missed while late are served by tickNow's catch-up.
    const next = Math.max(this.k + 1, Math.floor((now - this.t0) / step) + 1);
    const deadline = this.t0 + next * step;
    this.timer = this.clock.setTimeout(this.onTimer, Math.max(1, Math.ceil(deadline - now)));
  }

  private cancel(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }
}
