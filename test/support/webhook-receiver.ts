// A customer's Standard Webhooks receiver on loopback: verifies every POST with the `standardwebhooks` library (the
// raw body, the webhook-id/-timestamp/-signature headers, the shared secret), records it, and answers `status`. It can
// be down for a while: down() closes its port (connections are refused), up() opens the same port again.
import { Webhook } from "standardwebhooks";

export interface Delivery {
  headers: Record<string, string>;
  body: string;
  /** The verified payload; undefined when the signature did not verify (`error` says why). */
  event: { type: string; timestamp: string; data: Record<string, unknown> } | undefined;
  error: string | undefined;
}

export function whsecret(): string {
  return `whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64")}`;
}

export class WebhookReceiver {
  readonly got: Delivery[] = [];
  /** What each POST is answered with. */
  status = 204;
  private server: ReturnType<typeof Bun.serve> | undefined;
  private port = 0;
  private readonly wh: Webhook;

  constructor(readonly secret: string, readonly path = "/hooks") {
    this.wh = new Webhook(secret);
  }

  get url(): string {
    if (this.port === 0) throw new Error("receiver not started");
    return `http://127.0.0.1:${this.port}${this.path}`;
  }

  up(): this {
    this.server = Bun.serve({
      port: this.port,
      hostname: "127.0.0.1",
      fetch: async (req) => {
        const body = await req.text();
        const headers = Object.fromEntries(req.headers);
        let event: Delivery["event"];
        let error: string | undefined;
        try {
          event = this.wh.verify(body, headers) as Delivery["event"];
        } catch (e) {
          error = (e as Error).message;
        }
        this.got.push({ headers, body, event, error });
        return new Response(null, { status: error === undefined ? this.status : 400 });
      },
    });
    this.port = this.server.port ?? 0;
    return this;
  }

  /** Closes the port: the next attempts are refused connections. */
  async down(): Promise<void> {
    await this.server?.stop(true);
    this.server = undefined;
  }

  /** Verified deliveries of one event type. */
  events(type: string): NonNullable<Delivery["event"]>[] {
    return this.got.filter((g) => g.event?.type === type).map((g) => g.event!);
  }

  async stop(): Promise<void> {
    await this.down();
  }
}
