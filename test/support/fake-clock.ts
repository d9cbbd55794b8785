// Deterministic Clock for pacer tests: time only moves when the test says so.
import type { Clock } from "../../src/audio/pacer.ts";

interface Timer {
  id: number;
  at: number;
  fn: () => void;
}

export class FakeClock implements Clock {
  t = 1000;
  private timers: Timer[] = [];
  private nextId = 1;
  /** Delays the pacer asked for, in order. */
  readonly requested: number[] = [];

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    this.requested.push(ms);
    const id = this.nextId++;
    this.timers.push({ id, at: this.t + ms, fn });
    return id;
  }

  clearTimeout(h: unknown): void {
    this.timers = this.timers.filter((x) => x.id !== h);
  }

  get pending(): number {
    return this.timers.length;
  }

  /** Moves time forward by ms, firing each due timer at its own due time. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (next === undefined || next.at > end) break;
      this.timers.shift();
      this.t = Math.max(this.t, next.at);
      next.fn();
    }
    this.t = end;
  }

  /** Fires the next timer `lateMs` after its due time (a late tick), returning the time it fired. */
  fireNextLate(lateMs: number): number {
    this.timers.sort((a, b) => a.at - b.at);
    const next = this.timers.shift();
    if (next === undefined) throw new Error("no timer pending");
    this.t = next.at + lateMs;
    next.fn();
    return this.t;
  }
}
