// Works through the campaigns, on every instance at once: each round, for each running campaign inside its calling
// window, this instance takes as many places as admission gives outbound calls here, and claims that many due
// contacts in one transaction (the store keeps the campaign's maxConcurrent across all instances, skips numbers on
// the do-not-call list, and gives each contact to one instance); each claimed contact becomes an attempt the dialer
// places. A scheduled campaign starts at startAt, one past endAt ends (contacts with attempts left: expired), one
// with nothing pending or dialing is done. Time is the injected clock's: tests drive days of windows in ms.
import type { Agent } from "../call/agent.ts";
import type { Logger } from "../log.ts";
import type { Clock } from "./clock.ts";
import { newAttemptId, type Dialer, type DialerCalls } from "./dialer.ts";
import type { OutboundMetrics } from "./metrics.ts";
import type { OutboundStore } from "./store.ts";
import { inWindow } from "./window.ts";

/** Contacts one campaign's claim takes at most per round (the next round takes more). */
const PER_ROUND = 50;
/** The contacts gauge is read from the database every this many rounds. */
const TOTALS_EVERY = 5;

export interface SchedulerDeps {
  store: OutboundStore;
  dialer: Pick<Dialer, "dial" | "dialing">;
  calls: Pick<DialerCalls, "admit" | "hold">;
  clock: Clock;
  instance: string;
  leaseMs: number;
  /** A new attempt whose request got no recorded answer is sent again this long after it was claimed. */
  recheckMs: number;
  agent(name: string): Agent | undefined;
  metrics: OutboundMetrics;
  log: Logger;
}

export class CampaignScheduler {
  private rounds = 0;
  /** Campaigns whose agent cannot place calls, warned about once each. */
  private readonly warned = new Set<string>();

  constructor(private readonly d: SchedulerDeps) {}

  async tick(): Promise<void> {
    const d = this.d;
    if (this.rounds++ % TOTALS_EVERY === 0) d.metrics.setContacts(await d.store.contactTotals());
    const now = d.clock.now();
    for (const c of await d.store.activeCampaigns()) {
      if (c.state === "scheduled") {
        if (c.startAt !== null && c.startAt > now) continue;
        if (await d.store.setCampaignState(c.id, ["scheduled"], "running", now)) d.log.info({ campaign: c.id }, "campaign: started");
      }
      if (c.endAt !== null && now >= c.endAt) {
        if (await d.store.setCampaignState(c.id, ["running", "scheduled"], "done", now)) {
          const n = await d.store.closeContacts(c.id, "expired", now);
          d.log.info({ campaign: c.id, expired: n }, "campaign: ended at endAt; contacts not reached are expired");
        }
        continue;
      }
      // SIGTERM (or no SAUTIKIT_API_KEY): no contact is claimed (calls under way finish; the rest waits).
      if (!d.dialer.dialing) continue;
      if (inWindow(c.window, now)) await this.dialSome(c.id, c.agent);
      if (await d.store.finishIfDone(c.id, now)) d.log.info({ campaign: c.id }, "campaign: every contact has its outcome");
    }
  }

  private async dialSome(campaignId: string, agentName: string): Promise<void> {
    const d = this.d;
    const agent = d.agent(agentName);
    if (agent?.outbound === undefined) {
      if (!this.warned.has(campaignId)) {
        this.warned.add(campaignId);
        d.log.error({ campaign: campaignId, agent: agentName }, "campaign: its agent is not in the agents file (or has no outbound.from): nothing is dialed");
      }
      return;
    }
    // Places are taken in this turn, before the claim: inbound calls meanwhile see them taken.
    const holds: Array<() => void> = [];
    while (holds.length < PER_ROUND && d.calls.admit("outbound")) holds.push(d.calls.hold());
    if (holds.length === 0) return;
    const now = d.clock.now();
    let claimed: Awaited<ReturnType<OutboundStore["claimContacts"]>> = [];
    try {
      claimed = await d.store.claimContacts({
        campaignId,
        from: agent.outbound.from,
        now,
        owner: d.instance,
        leaseUntil: now + d.leaseMs,
        nextCheckAt: now + d.recheckMs,
        limit: holds.length,
        newId: newAttemptId,
      });
    } finally {
      // What the claim did not use goes back (all of it if the claim failed).
      const used = claimed.length;
      for (const r of holds.splice(used)) r();
    }
    claimed.forEach((a, i) => d.dialer.dial(a, holds[i]!));
    if (claimed.length > 0) d.log.debug({ campaign: campaignId, claimed: claimed.length }, "campaign: contacts claimed");
  }
}
