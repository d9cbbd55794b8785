// The real process (`bun src/main.ts`) with calls in flight, against the Live spy and a fake Sautikit REST API
// started here on loopback: SIGTERM drains (readiness 503 at once, audio keeps flowing, exit 0 after the last
// call), the drain timeout ends calls with a goodbye and a REST hang-up, and a second signal ends at once.
import { afterEach, describe, expect, test } from "bun:test";
import { fakeSautikitRest } from "../support/sautikit-rest.ts";
import { NUDGE_GOODBYE } from "../../src/call/ending.ts";
import { StandinServer } from "../support/gemini-spy.ts";
import { postVoice, spawnRelay as spawn, type RelayProcess } from "../support/relay-process.ts";
import { Caller, numberedPcm, until } from "../relay/harness.ts";

type Proc = RelayProcess;

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function startSpy(): Promise<{ spy: StandinServer; url: string }> {
  // No automatic answers to caller audio (speech threshold out of reach); the goodbye nudge gets a 400 ms answer.
  const spy = new StandinServer({ mode: "tone", speechRms: 40000, greetingMs: 400 });
  const url = await spy.start();
  cleanup.push(() => spy.stop());
  return { spy, url };
}

function spawnRelay(env: Record<string, string>): Promise<Proc> {
  return spawn({ STREAM_TOKEN_SECRET: "drain-test-secret", ...env }, { cleanup });
}

async function dial(r: Proc, callId: string): Promise<Caller> {
  const res = await postVoice(r.base, callId);
  expect(res.status).toBe(200);
  const m = /url="([^"]+)"/.exec(await res.text());
  if (m === null) throw new Error("no <Stream> in the answer");
  return new Caller(m[1]!.replaceAll("&amp;", "&")).open();
}

async function readyz(r: Proc): Promise<{ status: number; reasons: string[] }> {
  const res = await fetch(`${r.base}/readyz`);
  const j = (await res.json()) as { reasons?: string[] };
  return { status: res.status, reasons: j.reasons ?? [] };
}

function logLines(r: Proc): Array<Record<string, unknown>> {
  return r.lines();
}

describe("drain (real process)", () => {
  test("SIGTERM with calls in flight: /readyz 503 within 100 ms, audio keeps flowing, webhooks served, exit 0 after the calls end", async () => {
    const { spy, url } = await startSpy();
    using rest = fakeSautikitRest();
    const r = await spawnRelay({ GEMINI_LIVE_URL: url, SAUTIKIT_API_KEY: "tsk_test_drain", SAUTIKIT_API_URL: rest.url });
    const a = await dial(r, "HD_p_a");
    const b = await dial(r, "HD_p_b");
    await until(() => spy.live().filter((s) => s.ready).length === 2, "two Live sessions");
    for (const s of spy.live()) s.speak({ ms: 8000 });
    await until(() => a.audioMs() > 200 && b.audioMs() > 200, "both callers hearing the agent");
    expect((await readyz(r)).status).toBe(200);

    const heardA = a.audioMs();
    const heardB = b.audioMs();
    r.proc.kill("SIGTERM");
    const t0 = performance.now();
    let ready = await readyz(r);
    while (ready.status !== 503 && performance.now() - t0 < 5000) ready = await readyz(r);
    expect(ready.status).toBe(503);
    expect(performance.now() - t0).toBeLessThanOrEqual(100);
    expect(ready.reasons).toEqual(["draining"]);
    expect((await fetch(`${r.base}/healthz`)).status).toBe(200);

    // The calls carry on: another second of the agent's audio reaches both callers, and caller audio the model.
    await until(() => a.audioMs() >= heardA + 1000 && b.audioMs() >= heardB + 1000, "audio after SIGTERM", 10000);
    const bytesBefore = spy.live().reduce((n, s) => n + s.audioBytes, 0);
    for (let i = 0; i < 10; i++) a.ws.send(numberedPcm(320, i * 320));
    await until(() => spy.live().reduce((n, s) => n + s.audioBytes, 0) >= bytesBefore + 6400, "caller audio after SIGTERM");
    // A webhook that still arrives is answered as usual, and its call runs.
    const c = await dial(r, "HD_p_c");
    await until(() => spy.live().filter((s) => s.ready).length === 3, "third Live session");
    expect(r.exited()).toBeNull();

    a.ws.close();
    b.ws.close();
    await Bun.sleep(300);
    expect(r.exited()).toBeNull(); // one call still up
    c.ws.close();
    expect(await r.proc.exited).toBe(0);
    expect(rest.hangups).toEqual([]); // nobody was cut off
    const logs = logLines(r);
    const start = logs.find((l) => String(l.msg).startsWith("drain: not ready"));
    expect(start).toMatchObject({ signal: "SIGTERM", activeCalls: 2 });
    expect(logs.find((l) => l.msg === "drain: no calls left")).toBeDefined();
    expect(logs.find((l) => l.msg === "drain: flushed")).toMatchObject({ failed: 0 });
    expect(logs.at(-1)).toMatchObject({ msg: "exiting", how: "drained", code: 0, activeCalls: 0 });
  }, 30000);

  test("at a short drain timeout each remaining call gets a goodbye, then a REST hang-up; exit 0", async () => {
    const { spy, url } = await startSpy();
    using rest = fakeSautikitRest();
    const r = await spawnRelay({ GEMINI_LIVE_URL: url, SAUTIKIT_API_KEY: "tsk_test_drain", SAUTIKIT_API_URL: rest.url, DRAIN_TIMEOUT_S: "1" });
    const a = await dial(r, "HD_t_a");
    const b = await dial(r, "HD_t_b");
    await until(() => spy.live().filter((s) => s.ready).length === 2, "two Live sessions");
    const sessions = spy.live();
    r.proc.kill("SIGTERM");
    await until(() => rest.hangups.length === 2, "both calls hung up", 15000);
    expect(rest.hangups.map((x) => x.callId).sort()).toEqual(["HD_t_a", "HD_t_b"]);
    expect(rest.hangups.every((x) => x.auth === "Bearer tsk_test_drain")).toBe(true);
    // Each model was asked for the goodbye, and each caller heard it (400 ms of tone) before the hang-up.
    for (const s of sessions) expect(s.texts).toEqual([NUDGE_GOODBYE]);
    for (const c of [a, b]) expect(c.loudSamples()).toBeGreaterThan(16000 * 0.3);
    await until(() => a.closed !== undefined && b.closed !== undefined, "caller sockets closed");
    expect(await r.proc.exited).toBe(0);
    const logs = logLines(r);
    expect(logs.find((l) => String(l.msg).startsWith("drain timeout"))).toMatchObject({ activeCalls: 2 });
    expect(logs.filter((l) => l.msg === "call ended").map((l) => l.reason)).toEqual(["shutdown", "shutdown"]);
    expect(logs.at(-1)).toMatchObject({ msg: "exiting", how: "drain timeout", code: 0 });
  }, 30000);

  test("a second signal hangs every call up through the REST API at once and exits 0", async () => {
    const { spy, url } = await startSpy();
    using rest = fakeSautikitRest();
    const r = await spawnRelay({ GEMINI_LIVE_URL: url, SAUTIKIT_API_KEY: "tsk_test_drain", SAUTIKIT_API_URL: rest.url });
    const a = await dial(r, "HD_f_a");
    const b = await dial(r, "HD_f_b");
    await until(() => spy.live().filter((s) => s.ready).length === 2, "two Live sessions");
    for (const s of spy.live()) s.speak({ ms: 8000 });
    r.proc.kill("SIGTERM");
    await until(() => r.out().includes("drain: not ready"), "drain started");
    expect((await readyz(r)).status).toBe(503);
    r.proc.kill("SIGINT");
    // The default drain timeout is 10 minutes: exiting now is the second signal's doing.
    await until(() => r.exited() !== null, "exit", 15000);
    expect(r.exited()).toBe(0);
    expect(rest.hangups.map((x) => x.callId).sort()).toEqual(["HD_f_a", "HD_f_b"]);
    await until(() => a.closed !== undefined && b.closed !== undefined, "caller sockets closed");
    const logs = logLines(r);
    expect(logs.find((l) => String(l.msg).startsWith("drain: second signal"))).toMatchObject({ signal: "SIGINT", activeCalls: 2 });
    expect(logs.at(-1)).toMatchObject({ msg: "exiting", how: "second signal", code: 0, activeCalls: 0 });
  }, 30000);
});
