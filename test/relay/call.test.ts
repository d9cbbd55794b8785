// Whole calls through the relay: caller socket ⇄ relay ⇄ Gemini stand-in, real sockets, real bytes.
import { describe, expect, test } from "bun:test";
import { DISCARD_VALVE_MS } from "../../src/audio/playout.ts";
import { KILL_AUDIO } from "../../src/telephony/audio-socket.ts";
import { fakeSautikitRest } from "../support/sautikit-rest.ts";
import { tone, toBytes } from "../support/signal.ts";
import { Caller, numberedPcm, startHarness, until, type Harness } from "./harness.ts";


const liveFor = (hh: Harness) => hh.standin.sessions[hh.standin.sessions.length - 1]!;

/** Places a call: webhook, caller socket open, its Live session ready. */
async function dial(hh: Harness, callId: string): Promise<Caller> {
  const c = await new Caller(await hh.streamUrlFor(callId)).open();
  await until(() => hh.standin.sessions.length > 0 && liveFor(hh).ready, "live session ready");
  return c;
}

describe("playback", () => {
  test("a 3 s answer arrives as 3 s (plus the tail, each rounded up to whole frames) of 16 kHz audio in frames of PLAYOUT_FRAME_MS", async () => {
    await using h = await startHarness();
    const frameMs = h.config.playoutFrameMs;
    await using c = await dial(h, "HD_3s");
    liveFor(h).speak({ ms: 3000, hz: 1000 });
    // 3 s of audio + 200 ms tail; playback is paced at real time.
    await until(() => c.audioMs() >= 3200 - frameMs, "answer played", 15000);
    await Bun.sleep(300);
    expect(c.frames.every((f) => f.byteLength === frameMs * 32)).toBe(true);
    // The turn's end is padded to a whole frame, and the 200 ms tail is a whole number of frames: each adds less
    // than one frame (at 60 ms: 3000 → 3060, tail 240, 3300 in all).
    expect(c.audioMs()).toBeGreaterThanOrEqual(3200 - frameMs);
    expect(c.audioMs()).toBeLessThan(3200 + 2 * frameMs);
    // The tone itself: 3 s at 16 kHz, within one frame; the tail is silence.
    expect(Math.abs(c.loudSamples() - 48000)).toBeLessThanOrEqual(320);
    const last = c.frames[c.frames.length - 1]!;
    expect(last.every((b) => b === 0)).toBe(true);
    c.ws.close();
  });

  test("an interrupt 1 s into a 10 s answer sends killAudio and stops the audio within one tick", async () => {
    await using h = await startHarness();
    await using c = await dial(h, "HD_barge");
    liveFor(h).speak({ ms: 10000, hz: 500 });
    await until(() => c.audioMs() >= 1000, "1 s played", 10000);
    liveFor(h).interrupt();
    await until(() => c.texts.includes(KILL_AUDIO), "killAudio sent");
    const framesAtKill = c.frames.length;
    await Bun.sleep(500);
    // At most one tick's frame can be in flight when the interrupt lands.
    expect(c.frames.length - framesAtKill).toBeLessThanOrEqual(1);
    expect(c.audioMs()).toBeLessThan(2000);
    c.ws.close();
  });

  test("a phantom interrupt (no turnComplete after it) drops late audio, then lets the next answer through", async () => {
    await using h = await startHarness();
    await using c = await dial(h, "HD_phantom");
    const pcm = toBytes(tone(24000, 800, 0.2, 6000)); // 200 ms at 24 kHz
    const chunk = { serverContent: { modelTurn: { parts: [{ inlineData: { mimeType: "audio/pcm;rate=24000", data: Buffer.from(pcm).toString("base64") } }] } } };
    const s = liveFor(h);
    s.send(chunk);
    await until(() => c.loudSamples() > 2000, "first answer heard");
    s.send({ serverContent: { interrupted: true } });
    await until(() => c.texts.includes(KILL_AUDIO), "killAudio sent");
    const heard = c.loudSamples();
    s.send(chunk); // late audio of the interrupted turn
    await Bun.sleep(400);
    expect(c.loudSamples()).toBe(heard);
    await Bun.sleep(DISCARD_VALVE_MS);
    s.send(chunk); // no turnComplete ever came: this is a new answer
    await until(() => c.loudSamples() > heard + 2000, "answer after the valve heard");
    c.ws.close();
  });

  test("the caller hanging up closes the Live socket", async () => {
    await using h = await startHarness();
    await using c = await dial(h, "HD_bye");
    c.ws.send(numberedPcm(320, 0));
    c.ws.close(1000);
    const closed = await Promise.race([liveFor(h).whenClosed, Bun.sleep(3000).then(() => undefined)]);
    expect(closed).toBeDefined();
    expect(liveFor(h).closed?.by).toBe("client");
  });
});

describe("model failures", () => {
  test("a 1007 from Gemini ends the call through Sautikit's hang-up endpoint, then closes the socket", async () => {
    using rest = fakeSautikitRest();
    await using h = await startHarness({ SAUTIKIT_API_KEY: "tsk_live_test", SAUTIKIT_API_URL: rest.url });
    await using c = await dial(h, "HD_1007");
    liveFor(h).close(1007, "Request contains an invalid argument.");
    await until(() => c.closed !== undefined, "caller socket closed", 5000);
    expect(rest.hangups.map((x) => [x.callId, x.auth])).toEqual([["HD_1007", "Bearer tsk_live_test"]]);
    expect(h.standin.sessions.length).toBe(1); // no retry storm
    expect(h.logs.join("\n")).not.toContain("tsk_live_test");
  });
});

describe("a whole call", () => {
  test("greeting, talk, answer, two goAway rotations, and both sockets close on hang-up", async () => {
    await using h = await startHarness(
      { AGENT_GREETING: "Greet the caller briefly." },
      { lifetimeMs: 1500, goAwayMs: 800, speechRms: 1000, silenceMs: 200, answerMs: 400, greetingMs: 300 },
    );
    const c = await new Caller(await h.streamUrlFor("HD_whole")).open();
    c.ws.send(JSON.stringify({ callSid: "HD_whole" }));
    await until(() => c.loudSamples() > 4000, "greeting heard", 10000);
    expect(h.standin.sessions[0]!.texts).toEqual(["Greet the caller briefly."]);
    // The caller talks: a loud 300 ms burst, then silence, paced at 20 ms.
    const loud = toBytes(tone(16000, 300, 0.02, 8000));
    const quiet = numberedPcm(320, 0);
    const heardBefore = c.loudSamples();
    let sent = 0;
    const t0 = Date.now();
    while (Date.now() - t0 < 4500) {
      c.ws.send(sent < 15 ? loud : quiet);
      sent++;
      await Bun.sleep(20);
    }
    expect(c.loudSamples()).toBeGreaterThan(heardBefore + 4000); // the answer was heard
    await until(() => h.standin.sessions.length >= 3, "two rotations", 10000);
    const resumed = h.standin.sessions.slice(1).map((s) => s.resumedWith);
    expect(resumed.every((r) => typeof r === "string" && r.length > 0)).toBe(true);
    // Only the first session got the greeting.
    expect(h.standin.sessions.slice(1).every((s) => s.texts.length === 0)).toBe(true);
    // Every caller byte reached some Live session.
    const total = h.standin.sessions.reduce((n, s) => n + s.audioBytes, 0);
    expect(total).toBe(sent * 640);
    c.ws.close(1000);
    await until(() => h.standin.live().length === 0, "all Live sockets closed", 5000);
    expect(c.closed).toBeDefined();
  });
});
