// SIGTERM and requests in flight, with the real process: a webhook whose body is still arriving when the drain
// starts is answered (not cut), and a second signal during a slow pre-warm answers the webhook 503 and releases
// its claim, so the same webhook posted to another instance on the same database answers <Stream>.
import { afterEach, describe, expect, test } from "bun:test";
import { Caller, until } from "../relay/harness.ts";
import { StandinServer } from "../support/gemini-spy.ts";
import { postVoice, signedHeaders, spawnRelay, voiceBody } from "../support/relay-process.ts";
import { removeSqlite } from "../support/scratch-db.ts";
import { streamUrlFrom } from "../support/caller.ts";
import { slowPost } from "../support/slow-post.ts";
import { tmpdir } from "node:os";

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function startSpy(setupDelayMs = 0): Promise<{ spy: StandinServer; url: string }> {
  const spy = new StandinServer({ mode: "tone", speechRms: 40000, setupDelayMs });
  const url = await spy.start();
  cleanup.push(() => spy.stop());
  return { spy, url };
}

describe("drain and requests in flight (real process)", () => {
  test("SIGTERM while a webhook's body is still arriving: the webhook is answered with <Stream> and its call runs before the exit", async () => {
    const { spy, url } = await startSpy();
    const r = await spawnRelay({ GEMINI_LIVE_URL: url }, { cleanup });
    const body = voiceBody("HD_slow_body");
    const answer = await slowPost(r.port, "/voice", signedHeaders(body), body, {
      firstBytes: 20,
      between: async () => {
        await Bun.sleep(150); // the relay has the headers and is reading the body
        r.kill("SIGTERM");
        await until(() => r.out().includes("drain: not ready"), "drain started");
        await Bun.sleep(400);
        expect(r.exited()).toBeNull();
      },
    });
    expect(answer.status).toBe(200);
    const caller = await new Caller(streamUrlFrom(answer.body)).open();
    await until(() => spy.live().filter((s) => s.ready).length === 1, "the call's Live session");
    expect(r.exited()).toBeNull();
    caller.ws.close();
    expect(await r.proc.exited).toBe(0);
    expect(r.lines().at(-1)).toMatchObject({ msg: "exiting", how: "drained", code: 0 });
  }, 30000);

  test("a second SIGTERM during a slow pre-warm: the webhook gets 503 before the exit, and another instance then answers the retry with <Stream>", async () => {
    const { spy, url } = await startSpy(6000);
    const file = `${tmpdir()}/sauti-drain-claim-${process.pid}-${crypto.randomUUID()}.db`;
    cleanup.push(() => removeSqlite(file));
    const shared = { GEMINI_LIVE_URL: url, DATABASE_URL: `sqlite://${file}`, PREWARM_WAIT_MS: "5000" };
    const a = await spawnRelay(shared, { cleanup });
    const b = await spawnRelay({ ...shared, PREWARM_WAIT_MS: "300" }, { cleanup });

    const first = postVoice(a.base, "HD_lost_claim").then(
      async (res) => ({ status: res.status, body: await res.text() }),
      (err: unknown) => ({ status: 0, body: String(err) }),
    );
    await until(() => spy.sessions.length === 1, "the pre-warm reached the model");
    a.kill("SIGTERM");
    await until(() => a.out().includes("drain: not ready"), "drain started");
    a.kill("SIGTERM");
    const got = await first;
    expect(got.status).toBe(503);
    expect(await a.proc.exited).toBe(0);
    const logs = a.lines();
    expect(logs.find((l) => l.msg === "exiting")).toMatchObject({ how: "second signal" });
    expect(logs.find((l) => l.callId === "HD_lost_claim" && String(l.msg).includes("released"))).toBeDefined();

    const retry = await postVoice(b.base, "HD_lost_claim");
    expect(retry.status).toBe(200);
    expect(await retry.text()).toContain("<Stream");
  }, 40000);
});
