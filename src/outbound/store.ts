// What outbound calls and campaigns keep in the records database, and the operations they need from it. Owned
// here, by the side that uses it; the records store implements it (src/records/outbound-store.ts). Every
// operation that decides something across instances (who dials a contact, who takes over an attempt, whether an
// event is new) is one conditional statement or one transaction, so of several instances exactly one wins.
import type { CallVariables, EndReason } from "../call/data.ts";

/** dialing: the attempt exists and its originate request is being sent (or retried); ringing: Sautikit placed
 *  the call; in_call: its webhook arrived and the call runs; done: it has its outcome. */
export type AttemptStatus = "dialing" | "ringing" | "in_call" | "done";
export const ATTEMPT_STATUSES: readonly AttemptStatus[] = ["dialing", "ringing", "in_call", "done"];

/** How an attempt (and a campaign's contact) ended. completed: a person talked with the agent; cancelled and
 *  expired are contact outcomes only (the campaign was cancelled, or ended with attempts left). */
export type Outcome = "completed" | "voicemail" | "no_answer" | "busy" | "failed" | "opted_out" | "cancelled" | "expired";
export const OUTCOMES: readonly Outcome[] = ["completed", "voicemail", "no_answer", "busy", "failed", "opted_out", "cancelled", "expired"];

export interface Attempt {
  /** `att_` + 32 hex: also the `client_request_id` and the `Idempotency-Key` of its originate request. */
  id: string;
  campaignId: string | null;
  contactId: string | null;
  /** 1 for the first attempt of a contact (and for single calls). */
  attemptNo: number;
  agent: string;
  from: string;
  to: string;
  /** The request's or the campaign row's variables (what every call supplies is added per call). */
  variables: CallVariables;
  status: AttemptStatus;
  outcome: Outcome | null;
  /** Why, in words: the call's end detail, Sautikit's status, the dial error. */
  detail: string | null;
  /** The call's end reason, when the call ran. */
  endReason: EndReason | null;
  /** Sautikit's id for the call (`call_id`, else `session_id` of the originate answer). */
  sautikitCallId: string | null;
  /** The PBX session id (`HD_…`): the voice webhook's call id, our call record's id. */
  sessionId: string | null;
  /** The call record (GET /api/calls/:id), once the webhook arrived. */
  callId: string | null;
  /** The last status Sautikit reported, as it said it (an undocumented one is kept, never guessed from). */
  sautikitStatus: string | null;
  /** What the agent left on an answering machine. */
  voicemailMessage: string | null;
  /** Instance that drives it now, and until when its claim holds without renewal. */
  owner: string | null;
  leaseUntil: number | null;
  /** When it is next looked at: dial again (dialing), ask Sautikit (ringing, or in_call on an instance gone). */
  nextCheckAt: number | null;
  /** GET /v1/calls/{id} asked so far. */
  checks: number;
  /** Originate requests sent so far (retries of a request that got no clear answer). */
  dialTries: number;
  createdAt: number;
  placedAt: number | null;
  answeredAt: number | null;
  endedAt: number | null;
}

export type NewAttempt = Pick<
  Attempt,
  "id" | "campaignId" | "contactId" | "attemptNo" | "agent" | "from" | "to" | "variables" | "owner" | "leaseUntil" | "createdAt" | "nextCheckAt"
>;

/** An attempt about to be dialed: status dialing, nothing heard from Sautikit or the call yet. */
export function newAttempt(a: NewAttempt): Attempt {
  return {
    ...a,
    status: "dialing",
    outcome: null,
    detail: null,
    endReason: null,
    sautikitCallId: null,
    sessionId: null,
    callId: null,
    sautikitStatus: null,
    voicemailMessage: null,
    checks: 0,
    dialTries: 0,
    placedAt: null,
    answeredAt: null,
    endedAt: null,
  };
}

/** An attempt's end. `at` unix ms. */
export interface Settlement {
  id: string;
  outcome: Exclude<Outcome, "cancelled" | "expired">;
  detail: string;
  endReason: EndReason | null;
  at: number;
  callId?: string;
  voicemailMessage?: string;
  sautikitStatus?: string;
}

export type Day = "mon" | "tue" | "wed" | "thu" | "fri" | "sat" | "sun";
export const DAYS: readonly Day[] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/** When a campaign may dial: on `days`, from `from` to `to` (HH:MM, 24 h), in `timezone` (IANA). */
export interface CallingWindow {
  days: Day[];
  from: string;
  to: string;
  timezone: string;
}

export interface RetryRules {
  /** Most attempts per contact (the first included). */
  attempts: number;
  /** Seconds before the 1st, 2nd, … retry; the last one repeats. */
  backoffS: number[];
  /** Outcomes that are tried again. */
  on: Outcome[];
}

/** scheduled: waits for startAt; running: dials inside its window; paused; cancelled; done: every contact has its
 *  outcome (or endAt passed). */
export type CampaignState = "scheduled" | "running" | "paused" | "cancelled" | "done";
export const CAMPAIGN_STATES: readonly CampaignState[] = ["scheduled", "running", "paused", "cancelled", "done"];

export interface CampaignSpec {
  name: string;
  agent: string;
  window: CallingWindow;
  maxConcurrent: number;
  retry: RetryRules;
  startAt: number | null;
  /** Past this, contacts with attempts left end as expired. */
  endAt: number | null;
}

export interface Campaign extends CampaignSpec {
  id: string;
  state: CampaignState;
  createdAt: number;
  /** When it was cancelled or done. */
  endedAt: number | null;
  contacts: number;
}

/** pending: waits for its (next) attempt; dialing: an attempt is under way; done: it has its outcome. */
export type ContactState = "pending" | "dialing" | "done";
export const CONTACT_STATES: readonly ContactState[] = ["pending", "dialing", "done"];

export interface NewContact {
  to: string;
  variables: CallVariables;
  /** The CSV row (1 = the first row after the header) or the index in the JSON list. */
  row: number;
}

export interface Contact extends NewContact {
  id: string;
  campaignId: string;
  /** Position in the campaign (0-based): contacts are dialed in this order. */
  seq: number;
  state: ContactState;
  attempts: number;
  /** When its next attempt may start (pending). */
  nextAt: number;
  lastOutcome: Outcome | null;
  /** Its final outcome (done). */
  outcome: Outcome | null;
  lastAttemptId: string | null;
  /** Call records of its attempts that reached a call, oldest first. */
  callIds: string[];
  /** How its last attempt's call ended (completed: the call's end reason), null when it reached no call. */
  lastEndReason: EndReason | null;
}

export interface CampaignCounts {
  states: Record<ContactState, number>;
  outcomes: Record<Outcome, number>;
}

export interface ContactQuery {
  state?: ContactState;
  outcome?: Outcome;
  /** seq of the last contact of the previous page. */
  after?: number;
  limit: number;
}

/** One transaction: up to `limit` of a running campaign's pending, due contacts become dialing, each with a new
 *  attempt owned by `owner`, never more than the campaign's maxConcurrent dialing at once across all instances.
 *  Contacts on the do-not-call list are skipped as opted_out on the way. */
export interface ClaimQuery {
  campaignId: string;
  /** The campaign agent's `outbound.from`. */
  from: string;
  now: number;
  owner: string;
  leaseUntil: number;
  /** When a dialing attempt whose request got no recorded answer is sent again. */
  nextCheckAt: number;
  limit: number;
  newId: () => string;
}

export interface SettleResult {
  attempt: Attempt;
  /** The campaign contact after the attempt (its state says whether it is tried again). */
  contact: Contact | undefined;
}

export interface DncEntry {
  number: string;
  /** "api" or "opt_out". */
  source: string;
  at: number;
}

export interface OutboundStore {
  insertAttempt(a: NewAttempt): Promise<void>;
  attempt(id: string): Promise<Attempt | undefined>;
  /** The attempt Sautikit knows by `id` (its call id or the PBX session id). */
  attemptBySautikitId(id: string): Promise<Attempt | undefined>;
  /** The originate request was answered: dialing → ringing (ids kept even if the webhook came first). */
  attemptPlaced(id: string, sautikitCallId: string, sessionId: string | null, status: string, at: number, nextCheckAt: number): Promise<void>;
  /** The originate request got no clear answer: try it again at `nextCheckAt` (same Idempotency-Key). */
  attemptDialAgain(id: string, dialTries: number, nextCheckAt: number, detail: string): Promise<void>;
  /** The answered call's webhook (or its socket) reached `owner`: → in_call with the call record's id, unless done;
   *  looked at again at `nextCheckAt` in case its end is never written. */
  bindAttempt(id: string, callId: string, owner: string, leaseUntil: number, at: number, nextCheckAt: number): Promise<boolean>;
  /** Ends an attempt (and moves its campaign contact on) in one transaction; undefined when it had ended already. */
  settleAttempt(s: Settlement): Promise<SettleResult | undefined>;
  /** Sautikit was asked and said `status`, not final: ask again at `nextCheckAt`. */
  attemptChecked(id: string, status: string | null, checks: number, nextCheckAt: number): Promise<void>;
  /** Extends `owner`'s claims on the attempts that are not done; returns their ids. */
  renewLeases(owner: string, until: number): Promise<string[]>;
  /** Takes over attempts whose owner stopped renewing (a crashed or stopped instance): each goes to one taker. */
  takeOver(owner: string, now: number, until: number, limit: number): Promise<Attempt[]>;
  /** `owner`'s attempts not done whose nextCheckAt has come. */
  dueAttempts(owner: string, now: number, limit: number): Promise<Attempt[]>;
  /** Records an event id; true the first time (Sautikit delivers at least once). */
  firstEvent(eventId: string, at: number): Promise<boolean>;
  /** Forgets an event id whose handling failed, so its redelivery is handled. */
  forgetEvent(eventId: string): Promise<void>;

  dncAdd(number: string, source: string, at: number): Promise<boolean>;
  dncRemove(number: string): Promise<boolean>;
  dncHas(number: string): Promise<boolean>;
  dncList(limit: number, after: string | undefined): Promise<DncEntry[]>;

  /** The campaign and its contacts, in one transaction. */
  createCampaign(c: Omit<Campaign, "endedAt">, contacts: NewContact[]): Promise<void>;
  campaign(id: string): Promise<Campaign | undefined>;
  /** Newest first. */
  campaigns(limit: number): Promise<Campaign[]>;
  /** Campaigns a scheduler has work for: scheduled, running. */
  activeCampaigns(): Promise<Campaign[]>;
  campaignCounts(id: string): Promise<CampaignCounts>;
  /** Moves a campaign from one of `from` to `to`; false when it was in none of them. */
  setCampaignState(id: string, from: readonly CampaignState[], to: CampaignState, at: number): Promise<boolean>;
  claimContacts(q: ClaimQuery): Promise<Attempt[]>;
  /** Pending contacts of the campaign end with `outcome` (cancel, or the end of the campaign). Returns how many. */
  closeContacts(campaignId: string, outcome: "cancelled" | "expired", at: number): Promise<number>;
  /** running → done when no contact is pending or dialing; true when it did. */
  finishIfDone(campaignId: string, at: number): Promise<boolean>;
  contacts(campaignId: string, q: ContactQuery): Promise<Contact[]>;
  /** Contacts of unfinished campaigns by state, and the done ones by outcome (metrics). */
  contactTotals(): Promise<{ states: Record<ContactState, number>; outcomes: Record<Outcome, number> }>;
}
