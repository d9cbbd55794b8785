// The outbox on a fake clock: a retry is sent when its backoff has passed even if the outbox was asked to look
// "now" in between (another call ended, an analysis settled). Before, a look now replaced the retry's timer and
// the retry waited for the next 5 s poll.
import { expect, test } from "bun:test";
import { Deliveries, retryDelayMs } from "../../src/records/delivery.ts";
import { cleanupAfterEach } from "../support/cleanup.ts";
import { FakeClock } from "../support/fake-clock.ts";
import { captureLog } from "../support/log.ts";
import { WebhookReceiver, whsecret } from "../support/webhook-receiver.ts";
import { endedCallOps } from "../analysis/helpers.ts";
import { engines } from "./helpers.ts";

const defer = cleanupAfterEach();
const { sqliteUrl, open } = engines(defer);

test("a retry due later survives a look now in between", async () => {
  const { store } = await open(sqliteUrl(), "sqlite");
  const receiver = new WebhookReceiver(whsecret()).up();
  defer(() => receiver.stop());
  receiver.status = 503;
  const clock = new FakeClock();
  clock.t = Date.now();
  const { log } = captureLog();
  const out = new Deliveries(store, { call: { url: receiver.url, secret: receiver.secret, retries: 3, backoffMs: 1000, timeoutMs: 5000 }, handoff: undefined }, log, clock);
  defer(() => out.stop());
  const ops = endedCallOps("HD_ob", null);
  const ended = ops[ops.length - 1]!;
  if (ended.kind !== "ended") throw new Error("expected the ended op last");
  await store.write([...ops.slice(0, -1), { ...ended, delivery: { id: "msg_ob" } }]);
  out.kick(0);
  const pump = async (n: number, label: string) => {
    const t0 = Date.now();
    while (receiver.got.length < n) {
      clock.advance(0);
      if (Date.now() - t0 > 10000) throw new Error(`timed out waiting for: ${label}`);
      await Bun.sleep(5);
    }
  };
  await pump(1, "first attempt");
  receiver.status = 204;
  // Wait until the retry is written (its timer asked for), then ask for a look now, as another call's end would.
  const t0 = Date.now();
  while (!clock.requested.some((ms) => ms > 0 && ms <= retryDelayMs(1000, 1) && ms !== 5000)) {
    if (Date.now() - t0 > 10000) throw new Error("no retry scheduled");
    await Bun.sleep(5);
  }
  out.kick(0);
  clock.advance(0);
  await Bun.sleep(20);
  clock.advance(retryDelayMs(1000, 1));
  await pump(2, "the retry, at its time");
  expect(receiver.got.map((g) => g.headers["webhook-id"])).toEqual(["msg_ob", "msg_ob"]);
});
