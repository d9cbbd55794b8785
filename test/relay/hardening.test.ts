// Hardening over real sockets: one live socket per call, admission control, webhook limits, dead caller legs,
// log flooding. Each test starts its own relay (the settings differ) against the Live spy on loopback.
import { afterEach, describe, expect, test } from "bun:test";
import { rawUpgrade } from "../support/caller.ts";
import { join } from "node:path";
import { PACER_PERIOD_MS } from "../../src/audio/pacer.ts";
import type { CallEndedEvent } from "../../src/call/events.ts";
import { Caller, numberedPcm, startHarness, until, type Harness } from "./harness.ts";
import { parsePrometheusText, valueOf } from "../support/prom-text.ts";
import { fakeSautikitRest, type FakeSautikitRest } from "../support/sautikit-rest.ts";

let rest: FakeSautikitRest | undefined;
afterEach(async () => {
  rest?.stop();
  rest = undefined;
});

/** Sautikit's REST hang-up endpoint; returns the settings pointing the relay at it and the calls it got. */
function fakeRest(): { env: Record<string, string>; hangups: FakeSautikitRest["hangups"] } {
  rest = fakeSautikitRest();
  return { env: { SAUTIKIT_API_KEY: "tsk_test", SAUTIKIT_API_URL: rest.url }, hangups: rest.hangups };
}

function endedEvents(hh: Harness): CallEndedEvent[] {
  const out: CallEndedEvent[] = [];
  hh.calls.events.subscribe((e) => {
    if (e.type === "ended") out.push(e);
  });
  return out;
}

const settled = (c: Caller) => c.opened || c.closed !== undefined || c.error;

describe("one live socket per call", () => {
  test("the same URL opened twice at once and once more after hang-up: one model session in total", async () => {
    await using h = await startHarness();
    const url = await h.streamUrlFor("HD_twice");
    expect(h.standin.sessions.length).toBe(1); // the pre-warm
    const a = new Caller(url);
    const b = new Caller(url);
    await until(() => settled(a) && settled(b), "both upgrades answered");
    const [winner, loser] = a.opened ? [a, b] : [b, a];
    expect(winner.opened).toBe(true);
    expect(loser.opened).toBe(false);
    // While the first is open, the URL is refused with 409 and logged with the call id.
    expect((await rawUpgrade(url)).status).toBe(409);
    expect(h.logs.some((l) => l.includes('"callId":"HD_twice"') && l.includes("already open"))).toBe(true);

    winner.ws.close(1000);
    await until(() => h.calls.activeCalls === 0, "call ended");
    const again = new Caller(url);
    await until(() => settled(again), "upgrade after hang-up answered");
    expect(again.opened).toBe(false);
    expect((await rawUpgrade(url)).status).toBe(410);

    expect(h.standin.sessions.length).toBe(1);
    const m = parsePrometheusText(await h.metrics.registry.metrics());
    expect(valueOf(m, "sauti_stream_upgrades_total", { outcome: "busy" })).toBeGreaterThanOrEqual(2);
    expect(valueOf(m, "sauti_stream_upgrades_total", { outcome: "ended" })).toBeGreaterThanOrEqual(2);
  });

  test("a refused handshake (wrong subprotocol) does not use the URL up", async () => {
    await using h = await startHarness();
    const url = await h.streamUrlFor("HD_retry");
    expect((await rawUpgrade(url, "foo")).status).toBe(400);
    const c = await new Caller(url).open();
    expect(c.opened).toBe(true);
    c.ws.close();
  });
});

describe("admission control", () => {
  test("MAX_CALLS=3 turns the fourth call away with the fallback and no model session", async () => {
    await using h = await startHarness({ MAX_CALLS: "3", FALLBACK_MESSAGE: "Busy, goodbye" });
    const first = await new Caller(await h.streamUrlFor("HD_cap1")).open();
    await h.streamUrlFor("HD_cap2");
    await h.streamUrlFor("HD_cap3"); // answered, socket not open yet: counts too (its session is pre-warmed)
    expect(h.standin.sessions.length).toBe(3);
    expect(h.calls.atCapacity).toBe(true);

    const res = await h.post("/voice", "sessionId=HD_cap4&callerNumber=%2B254700000001");
    const xml = await res.text();
    expect(xml).toContain("<Say>Busy, goodbye</Say><Hangup/>");
    expect(xml).not.toContain("<Stream");
    expect(h.standin.sessions.length).toBe(3);
    expect(h.logs.some((l) => l.includes('"callId":"HD_cap4"') && l.includes("at capacity"))).toBe(true);
    h.calls.events.flush();
    expect(valueOf(parsePrometheusText(await h.metrics.registry.metrics()), "sauti_calls_refused_total", { reason: "at_capacity" })).toBe(1);

    // A call ending frees its place.
    first.ws.close(1000);
    await until(() => !h.calls.atCapacity, "capacity freed");
    expect(await (await h.post("/voice", "sessionId=HD_cap5")).text()).toContain("<Stream");
  });
});

describe("webhook limits", () => {
  test("a 10 MB unsigned webhook gets 413 while a live call beside it keeps its pacing", async () => {
    await using h = await startHarness({ SAUTIKIT_WEBHOOK_SECRET: "", ALLOW_UNSIGNED_WEBHOOKS: "true" });
    const c = await new Caller(await h.streamUrlFor("HD_pace")).open();
    await until(() => h.standin.sessions[0]?.ready === true, "live session ready");
    // The sender is another process, as it would be: only the relay's own work shows in this event loop.
    const sender = Bun.spawn([process.execPath, join(import.meta.dir, "../support/big-webhook.ts"), h.base + "/voice"], {
      stdin: "pipe",
      stdout: "pipe",
    });
    const lines = sender.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    while (!out.includes("ready\n")) {
      const r = await lines.read();
      if (r.done) throw new Error(`sender exited: ${out}`);
      out += r.value;
    }
    Bun.gc(true); // start the measured window with this process's own garbage collected

    h.standin.sessions[0]!.speak({ ms: 3000, hz: 700 });
    const frameMs = h.config.playoutFrameMs;
    await until(() => c.audioMs() >= 400, "answer playing");
    const from = c.frames.length;
    sender.stdin.write("go\n");
    await sender.stdin.flush();
    while (!out.includes("}")) {
      const r = await lines.read();
      if (r.done) break;
      out += r.value;
    }
    await sender.exited;
    const statuses = JSON.parse(out.slice(out.indexOf("{"))) as { withLength: number; chunked: number };
    expect(statuses).toEqual({ withLength: 413, chunked: 413 });
    await until(() => c.audioMs() >= 3100, "answer played", 10000);

    // Pacing as the caller saw it: after the lead burst, one frame per frame duration, none later than one pacer
    // tick plus timer jitter. (A frame due just after a tick goes on the next one when timers jitter by more than
    // the pacer's slack, as on a loaded machine: 20 ms late, harmless under the media server's lead. A stall the
    // posts caused would show as more.) The window starts at the last frame before the posts, so such a stall shows
    // as one long gap (the frames owed are then sent at once: zero gaps after it).
    const at = c.frameAt.slice(from - 1, Math.floor(3000 / frameMs));
    let worst = 0;
    for (let i = 1; i < at.length; i++) worst = Math.max(worst, at[i]! - at[i - 1]! - frameMs);
    expect(worst).toBeLessThanOrEqual(PACER_PERIOD_MS + 5);
    expect(h.logs.some((l) => l.includes("body too large"))).toBe(true);
    expect(Math.max(...h.logs.map((l) => l.length))).toBeLessThan(4096);
    c.ws.close();
  });

  test("a body over MAX_WEBHOOK_BYTES is refused; one under it is served", async () => {
    await using h = await startHarness({ MAX_WEBHOOK_BYTES: "2048" });
    const pad = "x".repeat(3000);
    expect((await h.post("/voice", `sessionId=HD_pad&pad=${pad}`)).status).toBe(413);
    expect((await h.post("/stream-status", `sessionId=HD_pad&pad=${pad}`)).status).toBe(413);
    expect((await h.post("/voice", `sessionId=HD_pad&pad=${pad.slice(0, 1500)}`)).status).toBe(200);
  });
});

describe("dead legs", () => {
  test("a socket that sends no frame is closed at its timeout, with its model session; one that streams stays", async () => {
    const r = fakeRest();
    await using h = await startHarness({ CALLER_SILENCE_TIMEOUT_S: "1", ...r.env });
    const ended = endedEvents(h);
    const silent = await new Caller(await h.streamUrlFor("HD_mute")).open();
    const live = await new Caller(await h.streamUrlFor("HD_talk")).open();
    const mutedSession = h.standin.sessions[0]!;
    let n = 0;
    const feeder = setInterval(() => live.ws.send(numberedPcm(320, n++ * 320)), 100);
    try {
      await until(() => silent.closed !== undefined, "silent socket closed", 8000);
      await until(() => mutedSession.closed !== undefined, "its Live session closed");
      await until(() => ended.some((e) => e.callId === "HD_mute"), "ended event");
      expect(ended.find((e) => e.callId === "HD_mute")!.reason).toBe("media_lost");
      expect(r.hangups.map((x) => x.callId)).toEqual(["HD_mute"]);
      await Bun.sleep(1500);
      expect(live.closed).toBeUndefined();
    } finally {
      clearInterval(feeder);
      live.ws.close();
    }
  });
});

describe("log flooding", () => {
  test("1 000 garbage text frames yield a handful of log lines, and a count at close", async () => {
    await using h = await startHarness();
    const c = await new Caller(await h.streamUrlFor("HD_flood")).open();
    c.ws.send(JSON.stringify({ callSid: "HD_flood" })); // the metadata frame
    await until(() => h.logs.some((l) => l.includes("stream metadata") && l.includes("HD_flood")), "metadata logged");
    const before = h.logs.length;
    for (let i = 0; i < 1000; i++) c.ws.send(`garbage ${i} ${"z".repeat(500)}`);
    c.ws.send(numberedPcm(320, 0));
    await until(() => h.logs.some((l) => l.includes("first caller audio") && l.includes("HD_flood")), "frames after the flood read");
    const during = h.logs.slice(before).filter((l) => l.includes("HD_flood"));
    expect(during.length).toBeLessThanOrEqual(6);
    c.ws.close(1000);
    await until(() => h.logs.some((l) => l.includes("audio socket closed") && l.includes("HD_flood")), "close logged");
    const closed = JSON.parse(h.logs.find((l) => l.includes("audio socket closed") && l.includes("HD_flood"))!) as {
      textFrames: number;
      suppressedLogs: Record<string, number>;
    };
    expect(closed.textFrames).toBe(1000); // the metadata frame is not counted among them
    expect(closed.suppressedLogs.text_frame).toBe(1000 - 3);
  });
});
