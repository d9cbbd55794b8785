// When a database-backed queue (the outbox, the analysis queue) next looks for due work: every requested time is
// kept, not only the earliest, so a retry due in a minute is not forgotten when a look "now" is asked for meanwhile.
// One timer, for the earliest; the queues' polls find anything past MAX_WAKEUPS (work from other instances too).
import type { WallClock } from "./clock.ts";

const MAX_WAKEUPS = 1000;

export class Wakeups {
  /** Unix ms, ascending, each once. */
  private times: number[] = [];
  private timer: unknown;
  private timerAt = Infinity;
  private stopped = false;

  constructor(
    private readonly clock: WallClock,
    private readonly fire: () => void,
  ) {}

  /** Look for work in `delayMs`. */
  in(delayMs: number): void {
    if (this.stopped) return;
    const t = this.clock.now() + Math.max(0, delayMs);
    let i = this.times.findIndex((x) => x >= t);
    if (i < 0) i = this.times.length;
    if (this.times[i] !== t) this.times.splice(i, 0, t);
    if (this.times.length > MAX_WAKEUPS) this.times.pop();
    if (t < this.timerAt) this.arm();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.times = [];
  }

  private arm(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    const next = this.times[0];
    if (next === undefined || this.stopped) return;
    this.timerAt = next;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      const now = this.clock.now();
      while (this.times.length > 0 && this.times[0]! <= now) this.times.shift();
      this.fire();
      this.arm();
    }, Math.max(0, next - this.clock.now()));
  }
}

/** One pass over a queue at a time: a pass asked for while one runs becomes one more pass right after it. */
export class OnePass {
  private passing: Promise<void> | undefined;
  private again = false;

  constructor(
    private readonly run: () => Promise<void>,
    /** Asks for the pass that follows (through the queue's Wakeups, so a stopped queue runs none). */
    private readonly next: () => void,
  ) {}

  /** Starts a pass, or, while one runs, asks for another after it; resolves when the running pass ends. */
  pass(): Promise<void> {
    if (this.passing !== undefined) {
      this.again = true;
      return this.passing;
    }
    this.passing = this.run().finally(() => {
      this.passing = undefined;
      if (this.again) {
        this.again = false;
        this.next();
      }
    });
    return this.passing;
  }

  /** The running pass left work behind (it took as much as it may): another follows it. */
  more(): void {
    this.again = true;
  }

  /** The pass in progress, if any. */
  get current(): Promise<void> | undefined {
    return this.passing;
  }
}
