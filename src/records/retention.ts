// RECORDS_RETENTION_DAYS: records older than that are deleted once at start and then daily (0 keeps them).
// Every instance may run it; the deletes are idempotent.
import type { Logger } from "../log.ts";
import { errText, type RecordStore } from "./store.ts";

const DAY_MS = 24 * 60 * 60 * 1000;

export class Retention {
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly store: RecordStore,
    private readonly days: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    if (this.days === 0) return;
    this.store.ready.then(() => this.runOnce(), () => undefined);
    this.timer = setInterval(() => void this.runOnce(), DAY_MS);
    this.timer.unref?.();
  }

  /** Deletes what is past retention; returns how many calls went (0 on failure, which is logged). */
  async runOnce(now = Date.now()): Promise<number> {
    if (this.days === 0) return 0;
    try {
      const n = await this.store.deleteOlderThan(now - this.days * DAY_MS);
      if (n > 0) this.log.info({ deleted: n, retentionDays: this.days }, "records: old calls deleted");
      return n;
    } catch (err) {
      this.log.warn({ err: errText(err) }, "records: retention pass failed; next one tomorrow");
      return 0;
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
