// RECORDS_RETENTION_DAYS: records older than that are deleted once at start and then daily (0 keeps them).
// Every instance may run it; the deletes are idempotent. A delete cannot be undone, so the pass never trusts the
// clock alone: nothing newer than the newest record's start minus the period goes, whatever the clock says (a relay
// started with its clock a month fast would otherwise delete every record). A record's recording goes first, then
// the record; a recording that cannot be deleted now (object storage unreachable) keeps its record for the next pass.
import type { Logger } from "../log.ts";
import { errText, type RecordStore } from "./store.ts";

const DAY_MS = 24 * 60 * 60 * 1000;
/** The clock ahead of the newest record by less than this is a quiet spell, not worth a warning. */
const AHEAD_WARN_MS = 60 * 60 * 1000;

/** What retention needs of the recordings: deleting one by the location its record names. */
export interface RecordingRemover {
  remove(location: string): Promise<void>;
}

export class Retention {
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly store: RecordStore,
    private readonly days: number,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
    private readonly recordings?: RecordingRemover,
  ) {}

  start(): void {
    if (this.days === 0) return;
    this.store.ready.then(() => this.runOnce(), () => undefined);
    this.timer = setInterval(() => void this.runOnce(), DAY_MS);
    this.timer.unref?.();
  }

  /** Deletes what is past retention; returns how many calls went (0 on failure, which is logged). */
  async runOnce(now = this.now()): Promise<number> {
    if (this.days === 0) return 0;
    const keepMs = this.days * DAY_MS;
    try {
      const newest = await this.store.newestStart();
      if (newest === undefined) return 0;
      const byClock = now - keepMs;
      const cutoff = Math.min(byClock, newest - keepMs);
      const aheadMs = now - newest;
      if (aheadMs > AHEAD_WARN_MS) {
        const spared = await this.store.countStarted(cutoff, byClock);
        if (spared > 0) {
          this.log.warn(
            { aheadMs, aheadDays: Math.round((aheadMs / DAY_MS) * 10) / 10, spared, retentionDays: this.days },
            "records: the clock is ahead of the newest record (set wrong, or no call for that long); retention keeps what is within the period of the newest record",
          );
        }
      }
      const keep: string[] = [];
      let recordings = 0;
      for (const r of await this.store.recordingsOlderThan(cutoff)) {
        try {
          await (this.recordings?.remove(r.location) ?? Promise.reject(new Error("recordings are not set up on this relay")));
          recordings++;
        } catch (err) {
          keep.push(r.id);
          if (keep.length === 1) this.log.warn({ callId: r.id, err: errText(err) }, "records: a recording past retention could not be deleted; its record stays until the next pass");
        }
      }
      const n = await this.store.deleteOlderThan(cutoff, keep);
      if (n > 0) this.log.info({ deleted: n, recordings, kept: keep.length, retentionDays: this.days }, "records: old calls deleted");
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
