// Records nobody will end: a relay killed or crashed mid-call (or between the webhook and the socket) leaves its
// calls' records open, and no instance owns them any more. A record still open longer after its start than any
// agent lets a call run, plus a margin, is closed as `lost` by whichever instance sweeps first (one UPDATE, so
// several instances sweeping one database close each record once). It needs no clock guard like retention's: a
// wrong mark is undone by the call's own end, which overwrites the end fields when it is written.
import type { Agent } from "../call/agent.ts";
import type { Logger } from "../log.ts";
import { errText, type RecordStore } from "./store.ts";

/** Covers a polite end's goodbye past the limit, the socket's wait after the webhook, and clocks a little apart. */
export const LOST_MARGIN_MS = 10 * 60_000;
/**
 * How long an agent with no limit (maxCallSeconds 0) is taken to allow: a day, the largest limit MAX_CALL_SECONDS
 * or an agent's maxCallSeconds can name. A call that really runs longer is shown as lost meanwhile (this instance
 * never marks its own live calls) until its end is written over it.
 */
export const NO_LIMIT_MS = 86_400_000;
const SWEEP_EVERY_MS = 5 * 60_000;

/** How long after its start an open record is taken to be lost: the longest call `agents` allow, plus the margin.
 *  Unknown agents count as having no limit. These are this instance's agents: instances sharing a database are
 *  expected to share the agents file (one with shorter limits marks another's longer calls lost until they end). */
export function lostAfterMs(agents: readonly Pick<Agent, "maxCallSeconds">[] | undefined): number {
  let longest = agents === undefined || agents.length === 0 ? NO_LIMIT_MS : 0;
  for (const a of agents ?? []) longest = Math.max(longest, a.maxCallSeconds > 0 ? a.maxCallSeconds * 1000 : NO_LIMIT_MS);
  return longest + LOST_MARGIN_MS;
}

export interface LostSweepOptions {
  store: RecordStore;
  /** The agents calls may have (read at every pass: the agents file can change). */
  agents: () => readonly Agent[] | undefined;
  /** Ids of the calls live in this process, never marked. */
  live: () => string[];
  log: Logger;
  now?: () => number;
}

export class LostSweep {
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly now: () => number;

  constructor(private readonly o: LostSweepOptions) {
    this.now = o.now ?? Date.now;
  }

  start(): void {
    this.o.store.ready.then(() => this.runOnce(), () => undefined);
    this.timer = setInterval(() => void this.runOnce(), SWEEP_EVERY_MS);
    this.timer.unref?.();
  }

  /** Closes what is lost now; returns how many (0 when the database cannot answer, which is logged). */
  async runOnce(): Promise<number> {
    if (!this.o.store.isReady) return 0;
    const now = this.now();
    const afterMs = lostAfterMs(this.o.agents());
    const afterMin = Math.round(afterMs / 60_000);
    try {
      const closed = await this.o.store.closeLost({
        before: now - afterMs,
        at: now,
        detail: `no instance ended it: still open ${afterMin} min after it started, longer than any agent lets a call run, so the relay that had it stopped without recording its end`,
        keep: this.o.live(),
      });
      if (closed > 0) this.o.log.warn({ closed, afterMin }, "records: calls left open by a relay that stopped were closed as lost");
      return closed;
    } catch (err) {
      this.o.log.warn({ err: errText(err) }, "records: sweep for calls left open failed; next one later");
      return 0;
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
