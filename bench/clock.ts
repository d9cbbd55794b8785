// The caller side's one clock: a single timer for all calls, re-armed with setTimeout against absolute
// 20 ms deadlines (t0 + k·20 ms, Math.ceil of the remaining time), never setInterval, which drifts ~1 %
// slow in Bun (docs/bun.md#timers). If the process falls behind, the missed ticks run back to back (catch-up).
export const FRAME_MS = 20;

export class FrameClock {
  private t0 = 0;
  private k = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running = false;
  /** How late each tick ran against its deadline, ms (the load generator's own timing error). */
  readonly lateness: number[] = [];
  /** How long each tick's work took, ms. */
  readonly busy: number[] = [];

  constructor(private readonly onTick: (now: number) => void) {}

  start(): void {
    this.running = true;
    this.t0 = performance.now();
    this.k = 0;
    this.arm();
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
  }

  private arm(): void {
    const next = this.t0 + (this.k + 1) * FRAME_MS;
    this.timer = setTimeout(() => this.tick(), Math.max(0, Math.ceil(next - performance.now())));
  }

  private tick(): void {
    if (!this.running) return;
    let now = performance.now();
    // Bounded catch-up: at most 50 missed ticks (1 s) are replayed; beyond that the grid is reset.
    let rounds = 0;
    while (this.t0 + (this.k + 1) * FRAME_MS <= now && rounds < 50) {
      this.k++;
      rounds++;
      this.lateness.push(now - (this.t0 + this.k * FRAME_MS));
      this.onTick(now);
      if (!this.running) return;
      const after = performance.now();
      this.busy.push(after - now);
      now = after;
    }
    if (rounds >= 50) {
      this.t0 = now;
      this.k = 0;
    }
    this.arm();
  }
}
