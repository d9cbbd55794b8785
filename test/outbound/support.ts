// Shared pieces of the outbound tests: an agents file with an outbound agent, the relay started against the
// Sautikit fake (which places the calls and plays the callees), and reading attempts over the real API.
import { agentsFile } from "../relay/fixtures.ts";
import { SECRET, startHarness, until, type Harness } from "../relay/harness.ts";
import type { StandinOptions } from "../support/gemini-spy.ts";
import { fakeSautikitRest, type FakeSautikitOptions, type FakeSautikitRest } from "../support/sautikit-rest.ts";
import type { Clock } from "../../src/outbound/clock.ts";

export { until };

export const API_KEY = "tsk_live_test_key";
export const FROM = "+254711000100";

export const OUTBOUND_AGENTS = `
agents:
  - name: front-desk
    numbers: ["+254711000000"]
    prompt: "You answer for Duka Ltd. The caller is {{caller}}; it is {{time}} on {{date}}."
    greeting: "Greet the caller."
  - name: reminders
    outbound:
      from: "${FROM}"
    voice: Puck
    prompt: "You call {{name}} to remind them of their appointment at {{time}}. Their number is {{callee}}."
    greeting: "Greet {{name}} and remind them of the appointment at {{time}}."
    voicemail:
      action: leave_message
      message: "Hello {{name}}, this is Duka Ltd reminding you of your appointment at {{time}}. Goodbye."
    tools:
      - builtin: end_call
  - name: surveys
    outbound:
      from: "+254711000101"
      greetAfterMs: 800
    prompt: "You run a short survey."
    greeting: "Introduce the survey."
    voicemail:
      action: hangup
`;

export interface OutboundHarness {
  h: Harness;
  rest: FakeSautikitRest;
  post(path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }>;
  get(path: string): Promise<{ status: number; body: Record<string, unknown> }>;
  /** Polls GET /api/outbound/:id until `done` holds. */
  attemptWhen(id: string, done: (a: Record<string, unknown>) => boolean, label: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

export async function startOutbound(
  o: {
    env?: Record<string, string>;
    fake?: Partial<FakeSautikitOptions>;
    standin?: Partial<StandinOptions>;
    clock?: Clock;
    loop?: boolean;
    agents?: string;
    /** A Sautikit fake shared with another relay (not stopped with this one). */
    rest?: FakeSautikitRest;
  } = {},
): Promise<OutboundHarness> {
  const rest = o.rest ?? fakeSautikitRest({ apiKey: API_KEY, webhookSecret: SECRET, eventsSecret: SECRET, ...o.fake });
  const h = await startHarness(
    {
      AGENTS_FILE: agentsFile(o.agents ?? OUTBOUND_AGENTS),
      SAUTIKIT_API_URL: rest.url,
      SAUTIKIT_API_KEY: API_KEY,
      ADMIN_TOKEN: "outbound-test-admin-token",
      ...o.env,
    },
    { mode: "tone", ...o.standin },
    { clock: o.clock, outboundLoop: o.loop },
  );
  if (o.fake?.eventsUrl === undefined && o.rest === undefined) rest.options.eventsUrl = `${h.base}/sautikit/events`;
  await h.records.store.ready;
  const auth = { authorization: `Bearer ${h.config.records.adminToken}` };
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(h.base + path, {
      method,
      headers: body === undefined ? auth : { ...auth, "content-type": "application/json" },
      body: body === undefined ? null : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: Record<string, unknown> = {};
    try {
      parsed = JSON.parse(text) as Record<string, unknown>;
    } catch {
      parsed = { text };
    }
    return { status: res.status, body: parsed };
  };
  const oh: OutboundHarness = {
    h,
    rest,
    post: (path, body) => call("POST", path, body),
    get: (path) => call("GET", path),
    async attemptWhen(id, done, label, timeoutMs = 15000) {
      let last: Record<string, unknown> = {};
      const t0 = Date.now();
      for (;;) {
        const r = await call("GET", `/api/outbound/${id}`);
        last = r.body;
        if (r.status === 200 && done(last)) return last;
        if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for: ${label}; last: ${JSON.stringify(last)}`);
        await Bun.sleep(20);
      }
    },
    async stop() {
      await h.stop();
      if (o.rest === undefined) rest.stop();
    },
  };
  return oh;
}
