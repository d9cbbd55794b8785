// What happens to a campaign's contact after one of its attempts ends: tried again after its backoff (for the
// outcomes in retry.on, while attempts are left), or done with that outcome. Pure: the store applies it inside the
// transaction that ends the attempt, so two instances cannot both schedule a retry.
import type { CampaignState, ContactState, Outcome, RetryRules } from "./store.ts";

export const DEFAULT_RETRY: RetryRules = { attempts: 1, backoffS: [1800], on: ["no_answer", "busy", "failed"] };

export interface ContactNext {
  state: ContactState;
  /** pending: when the next attempt may start. */
  nextAt: number;
  /** done: the contact's outcome. */
  outcome: Outcome | null;
}

/** Seconds before retry number `n` (1 = the first retry): the list's nth, its last one repeating. */
export function backoffBefore(rules: RetryRules, n: number): number {
  const b = rules.backoffS;
  return b.length === 0 ? 0 : b[Math.min(n, b.length) - 1]!;
}

/**
 * `attempts`: the contact's attempts so far, the one that just ended included. A cancelled campaign tries nobody
 * again (cancelled); a retry that would fall at or after the campaign's end is expired.
 */
export function afterAttempt(
  attempts: number,
  outcome: Outcome,
  rules: RetryRules,
  campaign: { state: CampaignState; endAt: number | null },
  now: number,
): ContactNext {
  const again = outcome !== "opted_out" && rules.on.includes(outcome) && attempts < rules.attempts;
  if (!again) return { state: "done", nextAt: now, outcome };
  if (campaign.state === "cancelled") return { state: "done", nextAt: now, outcome: "cancelled" };
  const nextAt = now + backoffBefore(rules, attempts) * 1000;
  if (campaign.state === "done" || (campaign.endAt !== null && nextAt >= campaign.endAt)) return { state: "done", nextAt: now, outcome: "expired" };
  return { state: "pending", nextAt, outcome: null };
}
