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
