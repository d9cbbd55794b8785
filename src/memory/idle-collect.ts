// One full garbage collection when the relay falls idle after heavy use, so that memory the calls freed goes back
// to the OS instead of staying resident until something allocates again.
//
// Why: JavaScriptCore collects when the program allocates. Under load that keeps the heap in check, but once the
// last call ends almost nothing allocates, so whatever garbage the last calls left (parsed model messages, their
// strings, socket and session objects) stays resident: measured 100–128 MiB idle after 2,000 offline calls where
// a collection brings it to 84 (docs/operations.md#memory). `Bun.gc(false)` only asks for a collection and did not
// run one within 8 s (measured), so this runs `Bun.gc(true)`: 10–24 ms on this machine's relay heap.
//
// When: only with no call active (so no audio frame waits for it), `quietMs` after the last call ended, only if
// the process's RSS grew by `minGrowthBytes` since the last collection here (or since start: "the calls took a
// lot"), and at most once per `minIntervalMs`. A call that starts while the timer runs cancels it. Driven by call
// events, never by frames. RSS rather than the JS heap's size: most of what the collection gives back is native
// memory the garbage holds (socket, request and string buffers), which the heap's size barely shows (measured:
// heap +3–8 MB, RSS +16–40 MB over the collected level).

export interface IdleCollectOptions {
  /** Calls active right now. */
  activeCalls: () => number;
  /** Resident set size now, bytes. */
  rss: () => number;
  /** Runs a full collection synchronously. */
  collect: () => void;
  /** Idle this long after the last call ended before collecting. Default 1000 ms. */
  quietMs?: number;
  /** At most one collection per this. Default 2 s. */
  minIntervalMs?: number;
  /** Collect only when RSS grew by at least this since the last collection here. Default 4 MiB. */
  minGrowthBytes?: number;
  /** Told after each collection (a debug log line). */
  collected?: (info: { ms: number; rssBefore: number; rssAfter: number }) => void;
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => { cancel(): void };
}

export const IDLE_COLLECT_QUIET_MS = 1000;
export const IDLE_COLLECT_MIN_INTERVAL_MS = 2000;
export const IDLE_COLLECT_MIN_GROWTH_BYTES = 4 * 1024 * 1024;

function realTimer(fn: () => void, ms: number): { cancel(): void } {
  const t = setTimeout(fn, ms);
  t.unref(); // never what keeps a draining process alive
  return { cancel: () => clearTimeout(t) };
}

export class IdleCollector {
  private timer: { cancel(): void } | undefined;
  private settle: { cancel(): void } | undefined;
  private lastAt = -Infinity;
  private rssAfterLast: number;
  private readonly quietMs: number;
  private readonly minIntervalMs: number;
  private readonly minGrowthBytes: number;
  private readonly now: () => number;
  private readonly setTimer: (fn: () => void, ms: number) => { cancel(): void };
  /** Collections run, ever. */
  runs = 0;

  constructor(private readonly o: IdleCollectOptions) {
    this.quietMs = o.quietMs ?? IDLE_COLLECT_QUIET_MS;
    this.minIntervalMs = o.minIntervalMs ?? IDLE_COLLECT_MIN_INTERVAL_MS;
    this.minGrowthBytes = o.minGrowthBytes ?? IDLE_COLLECT_MIN_GROWTH_BYTES;
    this.now = o.now ?? (() => performance.now());
    this.setTimer = o.setTimer ?? realTimer;
    this.rssAfterLast = o.rss();
  }

  /** A call started: not idle any more. */
  callStarted(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** A call ended: if it was the last one, collect once the relay has stayed idle for a while. */
  callEnded(): void {
    if (this.o.activeCalls() > 0) return;
    this.arm(this.quietMs);
  }

  stop(): void {
    this.callStarted();
    this.settle?.cancel();
    this.settle = undefined;
  }

  private arm(ms: number): void {
    this.timer?.cancel();
    this.timer = this.setTimer(() => this.due(), ms);
  }

  private due(): void {
    this.timer = undefined;
    if (this.o.activeCalls() > 0) return;
    const t = this.now();
    const wait = this.lastAt + this.minIntervalMs - t;
    // Too soon after the previous one: try again when the interval is over, if still idle then.
    if (wait > 0) return this.arm(wait);
    const rssBefore = this.o.rss();
    if (rssBefore - this.rssAfterLast < this.minGrowthBytes) return;
    this.o.collect();
    this.lastAt = this.now();
    this.rssAfterLast = this.o.rss();
    // The allocator hands pages back over the next moments: growth counts from where RSS settles.
    this.settle?.cancel();
    this.settle = this.setTimer(() => {
      this.settle = undefined;
      this.rssAfterLast = Math.min(this.rssAfterLast, this.o.rss());
    }, this.quietMs);
    this.runs++;
    this.o.collected?.({ ms: this.lastAt - t, rssBefore, rssAfter: this.rssAfterLast });
  }
}
