// Standard Webhooks signing (docs/standard-webhooks.md) for the end-of-call report (src/records/delivery.ts):
// webhook-id, webhook-timestamp and webhook-signature headers, computed by the maintained `standardwebhooks` library.
import { Webhook } from "standardwebhooks";

export interface SignedRequest {
  headers: Record<string, string>;
  body: string;
}

/** Signs with one `whsec_…` secret; one per receiver, built once. */
export class ReportSigner {
  private readonly wh: Webhook;

  constructor(secret: string) {
    this.wh = new Webhook(secret);
  }

  /** Headers for one attempt: the id is the message's (the same on every retry), the timestamp this attempt's. */
  sign(id: string, body: string, at = new Date()): SignedRequest {
    return {
      body,
      headers: {
        "content-type": "application/json",
        "user-agent": "sauti-relay",
        "webhook-id": id,
        "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
        "webhook-signature": this.wh.sign(id, at, body),
      },
    };
  }
}
