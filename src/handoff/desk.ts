// The handoff desk: what the handoff tool does for a call (Call.handOff). With `handoff.live`, Sautikit is first asked
// to bring a person onto the line (live.ts). Then a signed call.handoff event (Standard Webhooks, the outbox:
// src/records/delivery.ts) goes to the agent's `handoff.notify.url` with the caller's number, the agent, the reason
// and summary, the transcript so far and a link to the call in the console. Its first attempt is made here, within
// the tool's time, so the model hears whether it was delivered; the outbox keeps retrying after that. The handoff
// and its outbox entry are written through the recorder (the record shows them).
import type { CallEventHub } from "../call/events.ts";
import type { HandoffDesk, HandoffLine, HandoffRequest } from "../call/handoff.ts";
import { toolError } from "../call/tool-runner.ts";
import type { Logger } from "../log.ts";
import type { Deliveries } from "../records/delivery.ts";
import type { HandoffDelivery, HandoffLive, RecordOp } from "../records/record.ts";
import { LiveHandover, SUPERVISION_REQUEST_MS } from "./live.ts";
import type { SupervisionApi } from "../telephony/supervision.ts";
import type { WallClock } from "../records/clock.ts";

/** Kept back from the tool's deadline for the bookkeeping after the first attempt. */
const DEADLINE_MARGIN_MS = 250;

export const DEFAULT_SAY = "a colleague will get back to them as soon as possible";

export interface DeskDeps {
  /** undefined: no secret signs call.handoff events (the agents loader refuses `handoff` then). */
  outbox: Deliveries | undefined;
  /** The recorder's queue (records/recorder.ts). */
  record: (op: RecordOp) => void;
  events: CallEventHub;
  supervision: SupervisionApi | undefined;
  pollMs: number;
  /** PUBLIC_URL, read when needed: the console link is built from it. */
  publicUrl: () => string;
  log: Logger;
  clock?: WallClock;
}

/** The call.handoff event (Standard Webhooks payload shape). */
export interface HandoffEvent {
  type: "call.handoff";
  timestamp: string;
  data: {
    handoffId: string;
    callId: string;
    agent: string;
    caller: string;
    callee: string;
    reason: string;
    summary: string;
    transcript: HandoffRequest["transcript"];
    consoleUrl: string;
    /** The person brought onto the line, when the agent has `handoff.live`. */
    live: HandoffLive | null;
  };
}

/** Where the console shows one call. */
export function consoleLink(publicUrl: string, callId: string): string {
  return `${publicUrl.replace(/\/+$/, "")}/console/calls#call=${encodeURIComponent(callId)}`;
}

/** What the model hears: whether a person was told or is coming, and what to say to the caller. */
export function handoffAnswer(req: HandoffRequest, d: HandoffDelivery, live: HandoffLive | null): Record<string, unknown> {
  const delivered = d.status === "delivered";
  const coming = live !== null && (live.state === "requested" || live.state === "connected");
  let message: string;
  if (coming) {
    message =
      "A colleague is being connected to this call now. Tell the caller in one short sentence that you are putting them through to a colleague, then stop talking: while the colleague is on the call you hear nothing.";
  } else if (delivered) {
    message = `A colleague has been sent the reason and your summary. Tell the caller that ${req.spec.say ?? DEFAULT_SAY}.`;
  } else if (d.status === "pending") {
    message =
      "The message to a colleague could not be delivered yet; it is being retried in the background. Tell the caller that their request has been noted and someone will get back to them, without promising a time.";
  } else {
    message = "No colleague could be told about this call. Apologise to the caller, and suggest they call back later.";
  }
  return { status: "ok", delivered, ...(live === null ? {} : { person: coming ? "connecting" : "unavailable" }), message };
}

export class HandoffService implements HandoffDesk {
  readonly live: LiveHandover;
  private readonly unsubscribe: () => void;
  /** Handoff rows with a person being brought on or on the line, by id (a live change rewrites its row). */
  private readonly rows = new Map<string, Extract<RecordOp, { kind: "handoff" }>>();

  constructor(private readonly d: DeskDeps) {
    this.live = new LiveHandover({
      api: d.supervision,
      pollMs: d.pollMs,
      log: d.log,
      clock: d.clock,
      changed: (_callId, handoffId, live) => this.changedLive(handoffId, live),
    });
    this.unsubscribe = d.events.subscribe((e) => {
      if (e.type === "ended") this.live.callEnded(e.callId);
    });
  }

  async handOff(req: HandoffRequest, line: HandoffLine, deadline: number): Promise<Record<string, unknown>> {
    const log = this.d.log.child({ callId: req.callId });
    const outbox = this.d.outbox;
    if (outbox === undefined || !outbox.handoffs) {
      log.error("handoff: no HANDOFF_WEBHOOK_SECRET or CALL_WEBHOOK_SECRET to sign the event; nobody was told");
      return toolError("handoff is not set up on this relay: nobody could be told");
    }
    const handoffId = `msg_${crypto.randomUUID().replaceAll("-", "")}`;
    const at = Date.now();
    const left = () => deadline - performance.now() - DEADLINE_MARGIN_MS;
    // Known before the supervision is asked for, so a change of its state at any time finds the row.
    const op: Extract<RecordOp, { kind: "handoff" }> = { kind: "handoff", id: req.callId, handoffId, at, atMs: req.atMs, reason: req.reason, summary: req.summary, live: null };
    this.rows.set(handoffId, op);
    let live: HandoffLive | null = null;
    if (req.spec.live !== undefined) {
      // Half the tool's time at most: the notification must still go out within it.
      live = await this.live.request(req, handoffId, line, Math.min(SUPERVISION_REQUEST_MS, left() / 2));
      op.live = live;
      if (live.state !== "requested" && live.state !== "connected") this.rows.delete(handoffId);
    }
    const event: HandoffEvent = {
      type: "call.handoff",
      timestamp: new Date(at).toISOString(),
      data: {
        handoffId,
        callId: req.callId,
        agent: req.agent,
        caller: req.caller,
        callee: req.callee,
        reason: req.reason,
        summary: req.summary,
        transcript: req.transcript,
        consoleUrl: consoleLink(this.d.publicUrl(), req.callId),
        live,
      },
    };
    const { url, headers } = req.spec.notify;
    const delivery = await outbox.sendNow(handoffId, url, headers, JSON.stringify(event), Math.max(1, left()));
    // op.live is the newest state: the supervision may have moved on while the event was being sent.
    this.d.record({ ...op, delivery });
    if (req.spec.live === undefined) this.rows.delete(handoffId);
    if (delivery.status === "pending") outbox.kickAt(delivery.nextAt);
    log.info({ handoffId, notify: delivery.status, person: live?.state ?? null }, "handoff: done");
    return handoffAnswer(req, delivery, live);
  }

  private changedLive(handoffId: string, live: HandoffLive): void {
    const op = this.rows.get(handoffId);
    if (op === undefined) return;
    op.live = live;
    this.d.record({ ...op });
    // A finished supervision changes nothing more: the row need not be kept.
    if (live.state === "ended" || live.state === "failed") this.rows.delete(handoffId);
  }

  stop(): void {
    this.unsubscribe();
    this.live.stop();
  }
}
