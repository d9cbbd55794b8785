// One process-wide 20 ms clock for every call's playout. Ticks are re-armed with setTimeout against an absolute
// grid (t0 + k·period), never setInterval, which drifts ~1 % slow in Bun (docs/bun.md#timers). A late tick needs no loop:
// each Playout subtracts the real elapsed time from its far-buffer estimate, so it sends the frames it owes.
// The timer only runs while at least one playout is registered, so an idle process pays nothing.

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
  private readonly playouts: Playout[] = [];
  private timer: unknown = null;
  private t0 = 0;
  private k = 0; // index of the last grid point served
  private lastTick = 0;
  private ticking = false;
  private readonly onTimer = (): void => {
    this.timer = null;
    this.ticking = true;
    try {
      this.tickNow();
    } finally {
      this.ticking = false;
    }
    if (this.playouts.length > 0 && this.timer === null) this.arm();
  };
  /** Ticks run, and how many of them fired at least one period late (a scheduling health metric). */
  ticks = 0;
  lateTicks = 0;
  /** Exceptions thrown by a playout's sink during a tick (caught so one call cannot stall the others). */
  errors = 0;

  constructor(opts?: { clock?: Clock; periodMs?: number }) {
    this.clock = opts?.clock ?? realClock;
    this.periodMs = opts?.periodMs ?? PACER_PERIOD_MS;
  }

  get size(): number {
    return this.playouts.length;
  }

  get running(): boolean {
    return this.timer !== null;
  }

  add(p: Playout): void {
    if (p.pacer === this) return;
    p.pacer?.remove(p);
    p.pacer = this;
    this.playouts.push(p);
    if (this.timer === null && !this.ticking) {
      const now = this.clock.now();
      this.t0 = now;
      this.k = 0;
      this.lastTick = now;
      this.arm();
    }
  }

  remove(p: Playout): void {
    const i = this.playouts.indexOf(p);
    if (i < 0) return;
    this.playouts.splice(i, 1);
    p.pacer = null;
    if (this.playouts.length === 0) this.cancel();
  }

  /** Stops the clock and forgets every playout (they keep their queues). */
  stop(): void {
    this.cancel();
    for (const p of this.playouts) p.pacer = null;
    this.playouts.length = 0;
  }

  /** Serves every playout for the time elapsed since the previous tick. The timer calls this; tests may too. */
  tickNow(): void {
    const now = this.clock.now();
    const elapsed = now - this.lastTick;
    this.lastTick = now;
    this.ticks++;
    if (elapsed >= 2 * this.periodMs) this.lateTicks++;
    const list = this.playouts;
    for (let i = 0; i < list.length; i++) {
      try {
        list[i]!.pace(elapsed);
      } catch {
        this.errors++;
      }
    }
  }

  private arm(): void {
    const P = this.periodMs;
    const now = this.clock.now();
    // Next grid point strictly after now; grid points missed while late are skipped (pace() caught up already).
    this.k = Math.max(this.k + 1, Math.floor((now - this.t0) / P) + 1);
    const deadline = this.t0 + this.k * P;
    this.timer = this.clock.setTimeout(this.onTimer, Math.max(1, Math.ceil(deadline - now)));
  }

  private cancel(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }
}
