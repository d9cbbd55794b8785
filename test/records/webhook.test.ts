// The end-of-call report: POSTed after the call as {"type":"call.ended","data":<the API's record>}, signed per
// Standard Webhooks (checked with the `standardwebhooks` verifier), retried after a 500 with the same webhook-id,
// and still delivered when the relay restarts before the receiver accepts it.
import { afterEach, describe, expect, test } from "bun:test";
import { Webhook } from "standardwebhooks";
import { singleAgent } from "../../src/call/agent.ts";
import { retryDelayMs } from "../../src/records/delivery.ts";
import type { CallRecord } from "../../src/records/record.ts";
import { startHarness, until, type Harness } from "../relay/harness.ts";
import { cleanupAfterEach } from "../support/cleanup.ts";
import { removeSqlite, scratchSqliteFile } from "../support/scratch-db.ts";
import { ADMIN_ENV, agent, getJson, openCall, talkAndHangUp } from "./helpers.ts";

interface Received {
  headers: Record<string, string>;
  body: string;
}

/** A customer's webhook receiver: records every POST and answers with the next status from `statuses`, then `then`. */
function receiver(statuses: number[], then = 204) {
  const r = { url: "", got: [] as Received[], then, stop: () => {} };
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req): Promise<Response> {
      r.got.push({ headers: Object.fromEntries(req.headers), body: await req.text() });
      return new Response(null, { status: statuses.shift() ?? r.then });
    },
  });
  r.url = `http://127.0.0.1:${server.port}/hooks/calls`;
  r.stop = () => void server.stop(true);
  return r;
}

const SECRET = `whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString("base64")}`;
const OTHER = `whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString("base64")}`;

let h: Harness | undefined;
// The relay stops first (registered first, so it runs first), then what the test started beside it.
afterEach(async () => {
  await h?.stop();
  h = undefined;
}, 20000);
const cleanup = cleanupAfterEach();

function scratchSqlite(): string {
  const file = scratchSqliteFile("webhook");
  cleanup(() => {
    removeSqlite(file);
  });
  return `sqlite://${file}`;
}

describe("end-of-call webhook", () => {
  test("arrives signed (standardwebhooks verifies it), is retried after a 500 with the same webhook-id, and carries the API's record", async () => {
    const r = receiver([500, 204]);
    cleanup(r.stop);
    h = await startHarness(
      { DATABASE_URL: scratchSqlite(), CALL_WEBHOOK_URL: r.url, CALL_WEBHOOK_SECRET: SECRET, CALL_WEBHOOK_BACKOFF_MS: "200", ...ADMIN_ENV },
      {},
      { router: singleAgent(agent) },
    );
    await h.records.store.ready;
    await talkAndHangUp(h, "HD_hook");
    await until(() => r.got.length >= 2, "report delivered after one retry", 15000);
    await Bun.sleep(300);
    expect(r.got).toHaveLength(2); // a 2xx ends the retries

    const [first, second] = r.got as [Received, Received];
    expect(first.headers["webhook-id"]).toMatch(/^msg_[0-9a-f]{32}$/);
    expect(second.headers["webhook-id"]).toBe(first.headers["webhook-id"]!);
    expect(first.headers["content-type"]).toBe("application/json");
    const wh = new Webhook(SECRET);
    for (const g of r.got) {
      expect(() => wh.verify(g.body, g.headers)).not.toThrow();
      // The same bytes under another secret, or altered bytes, do not verify.
      expect(() => new Webhook(OTHER).verify(g.body, g.headers)).toThrow();
      expect(() => wh.verify(g.body.replace("caller_hangup", "agent_end_call"), g.headers)).toThrow();
    }
    expect(second.body).toBe(first.body);

    const report = wh.verify(second.body, second.headers) as { type: string; timestamp: string; data: CallRecord };
    expect(report.type).toBe("call.ended");
    const api = await getJson<CallRecord>(h, "/api/calls/HD_hook");
    expect(report.data).toEqual(api.body);
    expect(report.timestamp).toBe(api.body.endedAt!);
    expect(report.data.transcript).toHaveLength(3);
    expect(h.logs.some((l) => l.includes("call webhook: attempt failed; will retry") && l.includes("HTTP 500"))).toBe(true);
  }, 30000);

  test("a report still pending when the relay stops is delivered by the next relay on the same database", async () => {
    const r = receiver([], 503);
    cleanup(r.stop);
    const db = scratchSqlite();
    const env = { DATABASE_URL: db, CALL_WEBHOOK_URL: r.url, CALL_WEBHOOK_SECRET: SECRET, CALL_WEBHOOK_BACKOFF_MS: "100" };
    h = await startHarness(env, {}, { router: singleAgent(agent) });
    await h.records.store.ready;
    const { caller } = await openCall(h, "HD_pending");
    caller.ws.close();
    await until(() => r.got.length >= 1, "first attempt refused");
    await h.stop();
    h = undefined;
    const refused = r.got.length;
    const id = r.got[0]!.headers["webhook-id"];
    expect(r.got.every((g) => g.headers["webhook-id"] === id)).toBe(true);

    r.then = 204;
    h = await startHarness(env, {}, { router: singleAgent(agent) });
    await until(() => h!.logs.some((l) => l.includes("call webhook: delivered")), "delivered after the restart", 20000);
    expect(r.got.length).toBe(refused + 1);
    const last = r.got[r.got.length - 1]!;
    expect(last.headers["webhook-id"]).toBe(id!);
    const report = new Webhook(SECRET).verify(last.body, last.headers) as { data: CallRecord };
    expect(report.data.id).toBe("HD_pending");
    expect(report.data.endReason).toBe("caller_hangup");
  }, 40000);

  test("a receiver that does not answer within CALL_WEBHOOK_TIMEOUT_MS is retried; 410 Gone stops the retries", async () => {
    const got: string[] = [];
    let mode: "hang" | "gone" = "hang";
    const slow = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      async fetch(req): Promise<Response> {
        got.push(req.headers.get("webhook-id") ?? "");
        if (mode === "hang" && got.length === 1) await Bun.sleep(3000);
        return new Response(null, { status: mode === "gone" ? 410 : 204 });
      },
    });
    cleanup(() => void slow.stop(true));
    h = await startHarness(
      { DATABASE_URL: scratchSqlite(), CALL_WEBHOOK_URL: `http://127.0.0.1:${slow.port}/`, CALL_WEBHOOK_SECRET: SECRET, CALL_WEBHOOK_BACKOFF_MS: "100", CALL_WEBHOOK_TIMEOUT_MS: "300" },
      {},
      { router: singleAgent(agent) },
    );
    await h.records.store.ready;
    (await openCall(h, "HD_slow")).caller.ws.close();
    await until(() => h!.logs.some((l) => l.includes("call webhook: delivered")), "delivered on the retry", 15000);
    expect(got).toHaveLength(2);
    expect(got[1]).toBe(got[0]!);
    expect(h.logs.some((l) => l.includes("timeout after 300 ms"))).toBe(true);

    mode = "gone";
    (await openCall(h, "HD_gone")).caller.ws.close();
    await until(() => h!.logs.some((l) => l.includes("410 Gone; not retrying")), "410 ends the retries", 15000);
    await Bun.sleep(500);
    expect(got).toHaveLength(3);
  }, 30000);

  test("the retry schedule triples from the backoff, is capped at 15 min, and 8 retries from 5 s end within an hour", () => {
    expect([1, 2, 3, 4].map((n) => retryDelayMs(5000, n))).toEqual([5000, 15000, 45000, 135000]);
    expect(retryDelayMs(5000, 7)).toBe(15 * 60 * 1000);
    const total = [1, 2, 3, 4, 5, 6, 7, 8].reduce((s, n) => s + retryDelayMs(5000, n), 0);
    expect(total).toBeLessThan(60 * 60 * 1000);
  });
});
