// One process-wide clock for every call's playout, on an absolute grid (t0 + k·step), re-armed with setTimeout,
// never setInterval, which drifts ~1 % slow in Bun (docs/bun.md#timers). A late tick needs no loop: each Playout
// subtracts the real time since it was last paced from its far-buffer estimate, so it sends the frames it owes.
//
// Phases: with `phases` > 1 the 20 ms period is cut into that many sub-ticks and each playout belongs to one of
// them, so a tick sends a share of the calls' frames instead of all of them in one burst, and a caller frame
// arriving meanwhile waits behind a short burst, not a long one. Every playout is still paced every period.
// The timer only runs while at least one playout is registered, so an idle process pays nothing. The pacer keeps
// its bookkeeping for each playout in a slot of its own (PacerSlot); a Playout only knows how to pace itself.
//
// Awake list: a tick visits only the playouts that have something to do (audio queued or playing, a turn open,
// someone waiting for the drain). A playout whose pace() says it is idle leaves its phase's list, and wakes
// itself when model audio arrives, so the calls whose caller is speaking cost the tick nothing, and the ones
// visited touch only their own state, not every call's.

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

/** What the pacer drives: one call's playout. `pace` is told the real time since this item was last paced and
 *  returns false when it has nothing to do until it wakes itself again. */
export interface Paced {
  pace(elapsedMs: number): boolean;
}

/**
 * The pacer's own record of one paced item: its phase, whether it is on its phase's list, and when it was last
 * paced. The item holds its slot to wake itself, pace itself between ticks, or leave; the pacer never writes the
 * item's fields, and the item never writes these.
 */
export class PacerSlot {
  phase = 0;
  awake = false;
  lastPacedAt = 0;
  /** Null once the item left (or the pacer stopped): every call then does nothing. */
  pacer: Pacer | null;

  constructor(
    pacer: Pacer,
    readonly item: Paced,
  ) {
    this.pacer = pacer;
  }

  /** Back onto the tick (after pace() said idle, or when work arrives). */
  wake(): void {
    this.pacer?.wake(this);
  }

  /** Paces the item now, between ticks, on the same clock (a turn's first audio goes out at once). */
  paceNow(): boolean {
    const pacer = this.pacer;
    if (pacer === null) return false;
    const now = pacer.now();
    const elapsed = now - this.lastPacedAt;
    this.lastPacedAt = now;
    return this.item.pace(elapsed);
  }

  leave(): void {
    this.pacer?.remove(this);
  }
}

export class Pacer {
  private readonly clock: Clock;
  readonly periodMs: number;
  readonly phases: number;
  private readonly stepMs: number;
  /** Per phase: the slots that are awake (the others are idle and skipped). */
  private readonly buckets: PacerSlot[][];
  /** Every slot, awake or not. */
  private readonly registered = new Set<PacerSlot>();
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

  /** Items a tick visits now (the rest are idle). */
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

  /** Registers an item; it is paced from the next tick on. The slot is how the item reaches the pacer from then on. */
  add(item: Paced): PacerSlot {
    const slot = new PacerSlot(this, item);
    // The least loaded phase keeps the bursts even.
    let phase = 0;
    for (let i = 1; i < this.phases; i++) if (this.members[i]! < this.members[phase]!) phase = i;
    slot.phase = phase;
    this.members[phase]!++;
    this.registered.add(slot);
    const now = this.clock.now();
    slot.lastPacedAt = now;
    this.wake(slot);
    if (this.timer === null && !this.ticking) {
      this.t0 = now;
      this.k = 0;
      this.arm();
    }
    return slot;
  }

  remove(slot: PacerSlot): void {
    if (slot.pacer !== this) return;
    if (slot.awake) {
      const bucket = this.buckets[slot.phase]!;
      const i = bucket.indexOf(slot);
      if (i >= 0) bucket.splice(i, 1);
      slot.awake = false;
    }
    this.members[slot.phase]!--;
    this.registered.delete(slot);
    slot.pacer = null;
    if (this.registered.size === 0) this.cancel();
  }

  /** Puts a slot back on its phase's list; it is paced from the next tick on. */
  wake(slot: PacerSlot): void {
    if (slot.awake || slot.pacer !== this) return;
    slot.awake = true;
    // Idle means nothing was playing: no far-buffer time to account for since it was last paced.
    slot.lastPacedAt = this.clock.now();
    this.buckets[slot.phase]!.push(slot);
  }

  /** Stops the clock and forgets every item (they keep their queues; their slots go inert). */
  stop(): void {
    this.cancel();
    for (const slot of this.registered) {
      slot.pacer = null;
      slot.awake = false;
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
        const slot = list[i]!;
        const elapsed = now - slot.lastPacedAt;
        slot.lastPacedAt = now;
        let busy = true;
        try {
          busy = slot.item.pace(elapsed);
        } catch {
          this.errors++;
        }
        if (busy) {
          i++;
          continue;
        }
        // Idle: leave the list (swap with the last; order within a phase does not matter).
        slot.awake = false;
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
