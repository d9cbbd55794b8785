// Call admission: whether this process answers a call. Two questions, asked in this order by the voice webhook:
//   claim()  "is this POST the call's first anywhere?" Sautikit re-posts the voice URL on every state change and
//            only the first POST may stream (docs/sautikit-stream.md#repeat-posts). The store decides across
//            instances (the first insert of the call's id wins); this process's memory answers its own repeats
//            without a round trip, and decides alone while the store cannot answer.
//   admit()  "may this instance take one more call?" (MAX_CALLS). Any caller that starts calls asks it, so calls
//            placed by the relay itself can later share the limit (with a reserve kept for inbound ones).
// And one gate: close() once the process is about to exit. From then on a claimed call is not started; its claim
// is released (release()), so the same webhook retried on another instance is answered there.
import type { CallPurpose, Direction, Parties } from "../call/data.ts";
import type { Logger } from "../log.ts";
import { within } from "../within.ts";
import type { SeenCalls } from "./seen-calls.ts";

/** The first webhook's claim on a call id: whoever inserts it answers <Stream>. The row also says who called
 *  whom and which agent answers, whichever instance the audio socket then reaches. */
export interface CallClaim extends Parties {
  id: string;
  at: number;
  /** Inbound when left out. An outbound call's claim names its attempt and the variables its agent was filled
   *  with, so an instance that did not answer the webhook runs the same agent. */
  purpose?: CallPurpose;
}

/** What admission needs from a shared store (the records store implements it). */
export interface ClaimStore {
  /** Inserts the call's claim if no instance holds one; true when this insert made it. */
  claim(c: CallClaim): Promise<boolean>;
  /** Removes the claim of a call that never started, so another instance's claim can win. */
  releaseClaim(id: string): Promise<void>;
  /** The claim for a call id, whichever instance made it; undefined when there is none. */
  claimed(id: string): Promise<CallClaim | undefined>;
}

/** MAX_CALLS: CallManager fits. Counts a refusal when it says no. */
export interface CallCapacity {
  /** Inbound calls may take every one of MAX_CALLS; calls the relay places leave OUTBOUND_RESERVE_CALLS free. */
  admit(kind?: Direction): boolean;
}

/** The webhook will not wait longer than this for the store before deciding from memory. */
export const CLAIM_TIMEOUT_MS = 1500;

const errText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export class CallAdmission {
  private _closed = false;
  /** Waiters of whileOpen(), each dropped when its own promise settles (a promise that never resolved until
   *  shutdown would keep one reaction per call ever made). */
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly o: { store: ClaimStore; seen: SeenCalls; capacity: CallCapacity; timeoutMs?: number },
  ) {}

  /** True when this POST is the call's first anywhere (as far as can be known): answer it with <Stream>. */
  async claim(c: CallClaim, log: Logger): Promise<boolean> {
    if (!this.o.seen.markIfNew(c.id)) return false;
    const ms = this.o.timeoutMs ?? CLAIM_TIMEOUT_MS;
    let err: unknown;
    try {
      const won = await within(this.o.store.claim(c), ms);
      if (won !== "timeout") return won;
      err = new Error(`no answer within ${ms} ms`);
    } catch (e) {
      err = e;
    }
    log.warn(
      { err: errText(err) },
      "admission: the store cannot claim the call; deciding from this process's memory (a repeat POST reaching another instance could stream again)",
    );
    return true;
  }

  /** The call claimed by claim() will not start here: forget it in memory and in the store (bounded wait).
   *  False when the store could not be told (logged). */
  async release(id: string, log: Logger): Promise<boolean> {
    this.o.seen.forget(id);
    const ms = this.o.timeoutMs ?? CLAIM_TIMEOUT_MS;
    try {
      const r = await within(this.o.store.releaseClaim(id), ms);
      if (r === "timeout") throw new Error(`no answer within ${ms} ms`);
      return true;
    } catch (err) {
      log.warn({ err: errText(err) }, "admission: the store cannot release the claim; a retry of this call elsewhere will be answered as a repeat");
      return false;
    }
  }

  /** Who a call is between and which agent answers it, as the instance that answered its webhook decided: for an
   *  audio socket that reaches an instance that did not see the webhook. Undefined when the store has no claim or
   *  does not answer within the claim timeout (the socket is then taken without it). */
  async claimed(id: string, log: Logger): Promise<CallClaim | undefined> {
    const ms = this.o.timeoutMs ?? CLAIM_TIMEOUT_MS;
    try {
      const r = await within(this.o.store.claimed(id), ms);
      if (r !== "timeout") return r;
      log.warn({ timeoutMs: ms }, "admission: the store did not say who this call is for in time");
    } catch (err) {
      log.warn({ err: errText(err) }, "admission: the store cannot say who this call is for");
    }
    return undefined;
  }

  /** May this instance take one more call (MAX_CALLS; an outbound one: MAX_CALLS less the inbound reserve)? The
   *  caller must start (or hold) the call in the same event-loop turn when admitted, so concurrent requests cannot
   *  all slip under the limit. */
  admit(kind: Direction = "inbound"): boolean {
    return this.o.capacity.admit(kind);
  }

  /** `p`'s value, or "closed" as soon as close() is called first (a webhook stops waiting on a slow pre-warm). */
  whileOpen<T>(p: Promise<T>): Promise<T | "closed"> {
    if (this._closed) return Promise.resolve("closed");
    return new Promise<T | "closed">((resolve, reject) => {
      const closed = () => resolve("closed");
      this.waiters.add(closed);
      p.then(
        (v) => {
          this.waiters.delete(closed);
          resolve(v);
        },
        (err: unknown) => {
          this.waiters.delete(closed);
          reject(err);
        },
      );
    });
  }

  /** No call is started from now on (the process is about to exit). */
  close(): void {
    if (this._closed) return;
    this._closed = true;
    for (const w of this.waiters) w();
    this.waiters.clear();
  }

  get closed(): boolean {
    return this._closed;
  }
}
