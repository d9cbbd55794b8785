// Per-call log rate limit: a warning that can repeat (a garbage frame, an overflowing turn) is logged the first
// few times it happens; the rest are only counted, and the counts go into the call's closing log line.
import type { Logger } from "./log.ts";

/** How many lines of one kind a call logs before it only counts them. */
export const LOG_FIRST = 3;

export class LogLimit {
  private readonly counts = new Map<string, number>();

  constructor(
    private readonly log: Logger,
    private readonly first = LOG_FIRST,
  ) {}

  /** Counts one occurrence of `kind`; true while it is still among the first few (log it). */
  allow(kind: string): boolean {
    const n = (this.counts.get(kind) ?? 0) + 1;
    this.counts.set(kind, n);
    return n <= this.first;
  }

  warn(kind: string, obj: Record<string, unknown>, msg: string): void {
    if (this.allow(kind)) this.log.warn(this.note(kind, obj), msg);
  }

  info(kind: string, obj: Record<string, unknown>, msg: string): void {
    if (this.allow(kind)) this.log.info(this.note(kind, obj), msg);
  }

  /** Lines left out so far, by kind; undefined when none were. For the call's closing log line. */
  suppressed(): Record<string, number> | undefined {
    let out: Record<string, number> | undefined;
    for (const [kind, n] of this.counts) {
      if (n > this.first) (out ??= {})[kind] = n - this.first;
    }
    return out;
  }

  /** The last line logged of a kind says that more will only be counted. */
  private note(kind: string, obj: Record<string, unknown>): Record<string, unknown> {
    return this.counts.get(kind) === this.first ? { ...obj, furtherOnlyCounted: true } : obj;
  }
}

/** How many lines of one kind of refusal the process logs per window before it only counts them. */
export const REFUSALS_FIRST = 5;
/** A window: at its end, the kinds that were left out are logged with their counts. */
export const REFUSALS_WINDOW_MS = 60_000;

/** Where refusals are logged (RefusalLog; a plain logger's warn in tests that do not care). */
export interface RefusalSink {
  warn(kind: string, obj: Record<string, unknown>, msg: string): void;
}

/**
 * Process-wide limit for the lines an unauthenticated client can cause (forged webhooks, bad stream tokens,
 * oversized bodies, refused admin requests): per kind, the first few lines of each window are logged, the rest
 * counted; at the window's end one line gives the counts, and the next window logs its first few again. So a
 * flood costs at most kinds × first + 1 lines a minute, and the operator still sees that it happens.
 */
export class RefusalLog implements RefusalSink {
  private readonly counts = new Map<string, number>();
  private readonly first: number;
  private readonly windowMs: number;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly log: Logger,
    o: { first?: number; windowMs?: number } = {},
  ) {
    this.first = o.first ?? REFUSALS_FIRST;
    this.windowMs = o.windowMs ?? REFUSALS_WINDOW_MS;
  }

  warn(kind: string, obj: Record<string, unknown>, msg: string): void {
    const n = (this.counts.get(kind) ?? 0) + 1;
    this.counts.set(kind, n);
    // The window starts with its first refusal; a quiet process keeps no timer.
    if (this.timer === undefined) {
      this.timer = setTimeout(() => this.endWindow(), this.windowMs);
      this.timer.unref?.();
    }
    if (n < this.first) this.log.warn(obj, msg);
    else if (n === this.first) this.log.warn({ ...obj, furtherOnlyCounted: true }, msg);
  }

  /** Logs the counts left out so far (at the window's end, and at stop). */
  flush(): void {
    let counts: Record<string, number> | undefined;
    for (const [kind, n] of this.counts) if (n > this.first) (counts ??= {})[kind] = n - this.first;
    this.counts.clear();
    if (counts !== undefined) this.log.warn({ counts, windowS: this.windowMs / 1000 }, "refused requests: lines left out, counted");
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.flush();
  }

  private endWindow(): void {
    this.timer = undefined;
    this.flush();
  }
}
