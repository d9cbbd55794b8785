// Dead caller legs. While a call is up the media server sends a frame every packetization period, silence
// included (docs/sautikit-stream.md#silence-while-a-call-is-up), so a socket that sends nothing at all for
// seconds has lost its media path even if it still answers pings (pongs keep Bun's idle timeout from firing).
// Cost: each frame bumps a counter on the socket (the socket code does that anyway); one process-wide sweep a
// second compares counters and notices the sockets whose counter stopped moving.

interface Entry {
  lastCount: number;
  quietSince: number;
}

export class SilenceWatch<T> {
  private readonly entries = new Map<T, Entry>();
  private timer: ReturnType<typeof setInterval> | undefined;

  /**
   * `frames(item)` is the item's frame counter. `timeoutMs` 0 turns the watch off. `silent` runs once per item,
   * which is then no longer watched; it runs between timeoutMs and timeoutMs + 2 periods after the last frame.
   */
  constructor(
    readonly timeoutMs: number,
    private readonly frames: (item: T) => number,
    private readonly silent: (item: T, quietMs: number) => void,
    private readonly periodMs = Math.min(1000, Math.max(50, Math.floor(timeoutMs / 4))),
    private readonly now = () => performance.now(),
  ) {}

  get size(): number {
    return this.entries.size;
  }

  add(item: T): void {
    if (this.timeoutMs <= 0) return;
    this.entries.set(item, { lastCount: this.frames(item), quietSince: this.now() });
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.sweep(), this.periodMs);
      this.timer.unref(); // the watch alone must not keep a process alive
    }
  }

  remove(item: T): void {
    this.entries.delete(item);
    if (this.entries.size === 0) this.stop();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Runs from the timer; tests may call it. */
  sweep(): void {
    const t = this.now();
    for (const [item, e] of this.entries) {
      const n = this.frames(item);
      if (n !== e.lastCount) {
        e.lastCount = n;
        e.quietSince = t;
        continue;
      }
      const quiet = t - e.quietSince;
      if (quiet < this.timeoutMs) continue;
      this.entries.delete(item);
      try {
        this.silent(item, quiet);
      } catch {
        // one socket's ending must not stop the sweep for the others
      }
    }
    if (this.entries.size === 0) this.stop();
  }
}
