// What the HTTP side reports about the requests it answers, for metrics. Owned here, by the side that counts, so
// the webhook and upgrade code depend on two methods and not on a metrics library.

/** How a `/stream` upgrade ended. A fixed set: every value becomes a metric label. */
export type UpgradeOutcome = "ok" | "not_websocket" | "no_subprotocol" | "bad_call_id" | "bad_token" | "expired_token" | "busy" | "ended" | "failed";

export interface HttpCounters {
  /** A webhook answered: `route` is the route pattern ("/voice", "/", "/stream-status"), never the raw URL. */
  webhook(route: string, status: number): void;
  upgrade(outcome: UpgradeOutcome): void;
}

export const noCounters: HttpCounters = {
  webhook() {},
  upgrade() {},
};
