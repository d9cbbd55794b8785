// How a call ends (the ending policy): every ending has one reason, set once, and a polite ending never cuts the
// agent's last sentence. A polite ending optionally asks the model for a goodbye, waits for the turn(s) that carry
// it, waits until the caller has heard everything queued, then hangs up; a hard stop bounds the whole thing. The
// length limit (maxCallSeconds) is one such ending. The call does the hanging up; this decides when.
import type { Logger } from "../log.ts";
import type { EndReason } from "./data.ts";

/** end_call: how long to wait for the goodbye turn's turnComplete. */
export const GOODBYE_TURN_WAIT_MS = 5000;
/** max duration / drain: the goodbye may take this long before the call is cut whatever happens. */
export const HARD_STOP_MS = 15000;

export const NUDGE_GOODBYE = "The call has to end now. Say a brief, friendly goodbye to the caller.";

export interface Ending {
  reason: EndReason;
  /** Free text for logs and records. */
  detail: string;
}

/** What the policy needs from its call. */
export interface EndingDeps {
  log: Logger;
  /** Asks the model to say something now (the goodbye). */
  sendText(text: string): void;
  /** The model is in a turn (it sent audio since its last turnComplete). */
  modelTurnOpen(): boolean;
  /** The caller is hearing a turn being generated (the playout's view). */
  speaking(): boolean;
  /** Resolves once the caller heard everything queued. */
  whenDrained(): Promise<void>;
  /** Ends the call now (telephony hang-up, then the call's own finish). */
  hangup(): Promise<void>;
}

type Timer = ReturnType<typeof setTimeout>;

export class CallEnding {
  private ending: Ending | undefined;
  private maxTimer: Timer | undefined;
  private hardStop: Timer | undefined;
  private turnWaiters: Array<() => void> = [];
  private stopped = false;

  constructor(private readonly d: EndingDeps) {}

  /** The ending under way, if one has begun. */
  get current(): Ending | undefined {
    return this.ending;
  }

  /** The call's length limit: at `seconds` the agent is asked for a goodbye (0 = none). */
  limit(seconds: number): void {
    if (seconds <= 0) return;
    this.maxTimer = setTimeout(() => this.politely("max_duration", `limit ${seconds} s`, NUDGE_GOODBYE), seconds * 1000);
  }

  /**
   * Ends without cutting the last sentence. Turns waited for: with a nudge, the goodbye turn, which comes after
   * the turn in progress if there is one (bounded by the hard stop); without one, `turns` (end_call: 1) or, by
   * default, the turn being spoken, if any, at most GOODBYE_TURN_WAIT_MS.
   */
  politely(reason: EndReason, detail: string, nudge: string | undefined, hardStopMs = HARD_STOP_MS, turns?: number): void {
    if (this.stopped || this.ending !== undefined) return;
    this.ending = { reason, detail };
    this.d.log.info({ reason, detail }, "ending the call");
    clearTimeout(this.maxTimer);
    this.hardStop = setTimeout(() => {
      this.d.log.warn({ reason, afterMs: hardStopMs }, "goodbye took too long; hanging up");
      void this.d.hangup();
    }, hardStopMs);
    let waitTurn: Promise<void>;
    if (nudge !== undefined) {
      // The model answers the nudge after the turn it is in (or interrupts that turn: interrupted, turnComplete,
      // then the goodbye); either way the goodbye's turnComplete is the second one.
      const count = this.d.modelTurnOpen() || this.d.speaking() ? 2 : 1;
      this.d.sendText(nudge);
      waitTurn = this.nextTurnComplete(hardStopMs, count);
    } else {
      const count = turns ?? (this.d.speaking() ? 1 : 0);
      waitTurn = count > 0 ? this.nextTurnComplete(GOODBYE_TURN_WAIT_MS, count) : Promise.resolve();
    }
    void waitTurn.then(() => this.d.whenDrained()).then(() => this.d.hangup());
  }

  /** An ending that does not wait (a lost leg, shutdown): the first reason given wins, unless `overrides` (a model
   *  that failed for good is why the call ended, whatever ending was under way). */
  settle(reason: EndReason | undefined, detail: string, overrides = false): Ending {
    if (reason !== undefined && (this.ending === undefined || overrides)) this.ending = { reason, detail };
    clearTimeout(this.hardStop);
    return this.ending ?? { reason: "shutdown", detail };
  }

  /** The model completed a turn: releases whoever waits for it. */
  turnCompleted(): void {
    const w = this.turnWaiters;
    this.turnWaiters = [];
    for (const f of w) f();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.maxTimer);
    clearTimeout(this.hardStop);
  }

  /** Resolves after `count` more turnCompletes, or after timeoutMs. */
  private nextTurnComplete(timeoutMs: number, count: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      let left = count;
      const waiter = (): void => {
        if (--left > 0) {
          this.turnWaiters.push(waiter);
          return;
        }
        clearTimeout(t);
        resolve();
      };
      this.turnWaiters.push(waiter);
    });
  }
}
