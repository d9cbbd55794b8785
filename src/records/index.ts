// Call records for one relay: the store (DATABASE_URL, which also holds the call claims admission asks for:
// src/admission), the recorder on the call event hub, the mark that keeps one live socket per call across
// instances, the event outbox (call.ended, call.analyzed, call.handoff), retention, the sweep for records left open.
// Analyses are queued in the ended writes here and run by src/analysis. None of it is on the audio path, and none of
// it can end a call: a database that is down only delays the records.
import type { CallManager } from "../call/manager.ts";
import type { EndReason } from "../call/data.ts";
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import { Deliveries } from "./delivery.ts";
import { LostSweep } from "./lost.ts";
import { Recorder } from "./recorder.ts";
import { Retention } from "./retention.ts";
import { StoreStreamClaims } from "./stream-claims.ts";
import { describeDatabase, SqlStore, type RecordStore } from "./store.ts";
import type { Recordings } from "../recordings/index.ts";

/** How long shutdown waits for queued records to reach the database (less if it was never reached). */
export const STOP_DRAIN_MS = 5000;
const STOP_DRAIN_UNREACHED_MS = 1000;

export class Records {
  readonly store: RecordStore;
  readonly recorder: Recorder;
  /** The "stream URL used" mark, shared by every instance on this database (server.ts asks it at upgrade). */
  readonly streamClaims: StoreStreamClaims;
  /** The outbox: call.ended and call.analyzed with CALL_WEBHOOK_URL, call.handoff with a handoff secret. */
  readonly deliveries: Deliveries | undefined;
  /** Told after each batch holding ended calls was written (the analysis worker looks for work then). */
  private readonly endedHooks: Array<() => void> = [];
  readonly retention: Retention;
  readonly lost: LostSweep;
  private readonly unsubscribe: () => void;

  constructor(
    config: Config,
    private readonly calls: CallManager,
    private readonly log: Logger,
    /** Call recordings: retention and the API delete them with their records; their late reports are written. */
    readonly recordings?: Recordings,
  ) {
    const r = config.records;
    const rlog = log.child({ component: "records" });
    rlog.info({ database: describeDatabase(r.databaseUrl, r.engine), retentionDays: r.retentionDays, callWebhook: r.webhook !== undefined }, "records: opening the database");
    this.store = new SqlStore(r.databaseUrl, r.engine, rlog);
    const handoff = config.handoff.secret === undefined ? undefined : config.handoff;
    this.deliveries = r.webhook === undefined && handoff === undefined ? undefined : new Deliveries(this.store, { call: r.webhook, handoff }, rlog);
    this.recorder = new Recorder({
      store: this.store,
      queueMax: r.queueMax,
      deliveries: r.webhook !== undefined,
      log: rlog,
      onEnded: () => {
        this.deliveries?.kick(0);
        for (const f of this.endedHooks) f();
      },
      // The agent's analysis (src/analysis) is queued with its call's end, as the router has the agent then (an
      // agents file reloaded meanwhile has the last word).
      analysisFor: (name) => calls.router.list().find((x) => x.agent.name === name)?.agent.analysis,
      // Read when needed: PUBLIC_URL is what the <Stream> URLs were built from.
      streamHost: () => URL.parse(config.publicUrl)?.host ?? "",
    });
    this.streamClaims = new StoreStreamClaims(this.store, config.streamTokenTtlS * 1000, config.seenCallsMax, rlog);
    this.retention = new Retention(this.store, r.retentionDays, rlog, Date.now, recordings);
    if (recordings !== undefined) recordings.onRecovered = (id, info) => this.recorder.push({ kind: "recording", id, ...info });
    this.lost = new LostSweep({ store: this.store, agents: () => calls.router.list().map((r) => r.agent), live: () => calls.calls().map((c) => c.callId), log: rlog });
    this.unsubscribe = calls.events.subscribe(this.recorder.observe);
    this.deliveries?.start();
    this.retention.start();
    this.lost.start();
  }


  /** `fn` runs after each batch of writes that ended calls (and so may have queued their analyses). */
  onEnded(fn: () => void): void {
    this.endedHooks.push(fn);
  }

  /** After the calls have ended: writes what is queued (bounded wait), then closes the database. */
  async stop(): Promise<void> {
    // Recordings closing now report their last state as call events: let them finish first (bounded).
    await this.recordings?.stop();
    // The last calls' ended events are queued for the next macrotask; deliver them to the recorder now.
    await new Promise((r) => setImmediate(r));
    this.calls.events.flush();
    const lost = await this.recorder.drain(this.store.isReady ? STOP_DRAIN_MS : STOP_DRAIN_UNREACHED_MS);
    if (lost > 0) this.log.error({ lost }, "records: database unreachable at shutdown; queued record data lost");
    this.recorder.stop();
    this.unsubscribe();
    this.retention.stop();
    this.lost.stop();
    await this.deliveries?.stop();
    await this.store.close().catch(() => undefined);
  }
}
