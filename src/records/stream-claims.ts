// The "stream URL used" mark in the records database, so every instance sharing it refuses a second socket (409)
// or a reopened URL (410) for a call, whichever instance took the first. This process's memory answers first (its
// own repeats cost no round trip, and it remembers what it decided while the database was away); the database
// decides across instances. While the database is not ready or fails, the memory mark decides alone: a call is
// never held up for the database (the server also bounds a slow claim), and an outage is logged once.
import type { Logger } from "../log.ts";
import { MemoryStreamClaims, type ClaimResult, type StreamClaims } from "../telephony/stream-claims.ts";
import { errText, StoreNotReady, type RecordStore } from "./store.ts";

/** Expired marks are deleted by a claim at most this often (per instance). */
const SWEEP_EVERY_MS = 60_000;

export class StoreStreamClaims implements StreamClaims {
  private readonly memory: MemoryStreamClaims;
  private down = false;
  private lastSweep = 0;

  constructor(
    private readonly store: RecordStore,
    private readonly ttlMs: number,
    max: number,
    private readonly log: Logger,
    private readonly now = () => Date.now(),
  ) {
    this.memory = new MemoryStreamClaims(ttlMs, max, now);
  }

  async claim(callId: string): Promise<ClaimResult> {
    const local = await this.memory.claim(callId);
    if (local !== "ok") return local;
    const t = this.now();
    try {
      if (!this.store.isReady) throw new StoreNotReady();
      const r = await this.store.claimStream(callId, t, t + this.ttlMs);
      this.up();
      // Another instance holds or ended it: this process's mark must not stand in for its own.
      if (r !== "ok") await this.memory.release(callId, r === "ended");
      this.sweep(t);
      return r;
    } catch (err) {
      this.failed(err);
      return "ok";
    }
  }

  async release(callId: string, ended: boolean): Promise<void> {
    await this.memory.release(callId, ended);
    try {
      if (!this.store.isReady) throw new StoreNotReady();
      await this.store.releaseStream(callId, ended, this.now() + this.ttlMs);
      this.up();
    } catch (err) {
      this.failed(err);
    }
  }

  private sweep(t: number): void {
    if (t - this.lastSweep < SWEEP_EVERY_MS) return;
    this.lastSweep = t;
    this.store.sweepStreamClaims(t).catch((err: unknown) => this.failed(err));
  }

  private failed(err: unknown): void {
    if (this.down) return;
    this.down = true;
    this.log.warn({ err: errText(err) }, "records: stream claims fall back to this process's memory (another instance could accept a second socket for a call)");
  }

  private up(): void {
    if (!this.down) return;
    this.down = false;
    this.log.info("records: stream claims shared through the database again");
  }
}
