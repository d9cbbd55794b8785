// Event-loop lag: a timer asks to run every `everyMs`; how late it actually runs is time the loop spent on other
// work (a long GC, a slow synchronous handler). The pacer suffers the same delay, so this explains late ticks.
// Unref'd: it never keeps the process alive.

export const LOOP_LAG_SAMPLE_MS = 250;

export class LoopLagSampler {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running = false;

  constructor(
    private readonly observe: (lagSeconds: number) => void,
    private readonly everyMs = LOOP_LAG_SAMPLE_MS,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.arm();
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    const due = performance.now() + this.everyMs;
    this.timer = setTimeout(() => {
      if (!this.running) return;
      this.observe(Math.max(0, performance.now() - due) / 1000);
      this.arm();
    }, this.everyMs);
    this.timer.unref();
  }
}
