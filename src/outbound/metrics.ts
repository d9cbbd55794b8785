// Outbound metrics, in the relay's registry. Labels are bounded: agent names from the agents file (BoundedNames),
// fixed enums for outcome, cause and state; never a campaign name, a number or an id.
import { Counter, Gauge, type Registry } from "prom-client";
import { BoundedNames } from "../metrics/call-metrics.ts";
import { DIAL_ERROR_CAUSES, type DialErrorCause } from "./sautikit.ts";
import { OUTCOMES, type ContactState, type Outcome } from "./store.ts";

/** The gauge's states: the two that wait, then each final outcome. */
type ContactLabel = Exclude<ContactState, "done"> | Outcome;

export class OutboundMetrics {
  private readonly agents = new BoundedNames();
  readonly attempts: Counter<"agent" | "outcome">;
  readonly dialErrors: Counter<"cause">;
  readonly contacts: Gauge<"state">;

  constructor(registry: Registry) {
    const r = [registry];
    this.attempts = new Counter({
      name: "sauti_outbound_attempts_total",
      help: "Outbound call attempts ended, by agent and outcome (completed, voicemail, no_answer, busy, failed, opted_out).",
      labelNames: ["agent", "outcome"],
      registers: r,
    });
    this.dialErrors = new Counter({
      name: "sauti_outbound_dial_errors_total",
      help: "Requests to Sautikit's call API that failed, by cause (timeout, network, unauthorized, payment_required, rate_limited, rejected, server_error, bad_response, no_api_key).",
      labelNames: ["cause"],
      registers: r,
    });
    this.contacts = new Gauge({
      name: "sauti_campaign_contacts",
      help: "Contacts of campaigns not finished yet, by state: pending, dialing, or their outcome.",
      labelNames: ["state"],
      registers: r,
    });
    for (const cause of DIAL_ERROR_CAUSES) this.dialErrors.inc({ cause }, 0);
  }

  attemptEnded(agent: string, outcome: Outcome): void {
    this.attempts.inc({ agent: this.agents.label(agent), outcome });
  }

  dialError(cause: DialErrorCause): void {
    this.dialErrors.inc({ cause });
  }

  /** Read by the scheduler from the database now and then (never at scrape time: a slow database would slow it). */
  setContacts(totals: { states: Record<ContactState, number>; outcomes: Record<Outcome, number> }): void {
    const set = (state: ContactLabel, n: number) => this.contacts.set({ state }, n);
    set("pending", totals.states.pending);
    set("dialing", totals.states.dialing);
    for (const o of OUTCOMES) set(o, totals.outcomes[o]);
  }
}
