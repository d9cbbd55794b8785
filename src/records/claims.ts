// "Has this call id been answered with <Stream> already?" Sautikit re-posts the voice URL on every state change
// and only the first POST may stream (docs/sautikit-stream.md#repeat-posts). The store decides across instances:
// the first POST inserts the call's row and only the instance whose insert won streams. This process's memory
// answers its own repeats without a round trip, and decides alone while the database cannot answer.
import type { Logger } from "../log.ts";
import type { SeenCalls } from "../telephony/seen-calls.ts";
import { within } from "../within.ts";
import type { CallClaim } from "./record.ts";
import { errText, type RecordStore } from "./store.ts";

/** The webhook will not wait longer than this for the database before deciding from memory. */
export const CLAIM_TIMEOUT_MS = 1500;

export class CallClaims {
  constructor(
    private readonly store: RecordStore,
    private readonly seen: SeenCalls,
  ) {}

  /** True when this POST is the call's first anywhere (as far as can be known): answer it with <Stream>. */
  async claim(c: CallClaim, log: Logger): Promise<boolean> {
    if (!this.seen.markIfNew(c.id)) return false;
    let err: unknown;
    try {
      const won = await within(this.store.claim(c), CLAIM_TIMEOUT_MS);
      if (won !== "timeout") return won;
      err = new Error(`no answer within ${CLAIM_TIMEOUT_MS} ms`);
    } catch (e) {
      err = e;
    }
    log.warn(
      { err: errText(err) },
      "records: database cannot claim the call; deciding from this process's memory (a repeat POST reaching another instance could stream again)",
    );
    return true;
  }
}
