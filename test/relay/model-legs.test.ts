// Dead model legs over real sockets: a model that goes silent after the caller finished, and one that never
// completes setup. The Live spy plays the model; a loopback server plays Sautikit's REST hang-up endpoint.
import { afterEach, describe, expect, test } from "bun:test";
import { NUDGE_STALL } from "../../src/call/stall-watch.ts";
import { fakeSautikitRest, type FakeSautikitRest } from "../support/sautikit-rest.ts";
import type { CallEndedEvent } from "../../src/call/events.ts";
import type { StandinOptions } from "../support/gemini-spy.ts";
import { Caller, numberedPcm, startHarness, until, type Harness } from "./harness.ts";

let feeder: ReturnType<typeof setInterval> | undefined;
afterEach(() => clearInterval(feeder));

interface Started extends AsyncDisposable {
  hh: Harness;
  hangups: FakeSautikitRest["hangups"];
  ended: CallEndedEvent[];
}

/** `await using t = await start(…)`: the relay against a Sautikit REST fake, stopped when the test's scope ends. */
async function start(env: Record<string, string>, spy: Partial<StandinOptions>): Promise<Started> {
  const rest = fakeSautikitRest();
  const hh = await startHarness({ SAUTIKIT_API_KEY: "tsk_test", SAUTIKIT_API_URL: rest.url, ...env }, spy);
  const ended: CallEndedEvent[] = [];
  hh.calls.events.subscribe((e) => {
    if (e.type === "ended") ended.push(e);
  });
  return {
    hh,
    hangups: rest.hangups,
    ended,
    async [Symbol.asyncDispose]() {
      await hh.stop();
      rest.stop();
    },
  };
}

/** The caller's media server: a frame every 20 ms, as Sautikit streams while a call is up; loud for `loudFrames`. */
function stream(c: Caller, loudFrames = 0): void {
  const loud = new Uint8Array(640);
  const v = new DataView(loud.buffer);
  for (let i = 0; i < 320; i++) v.setInt16(i * 2, Math.round(8000 * Math.sin((2 * Math.PI * 300 * i) / 16000)), true);
  let n = 0;
  feeder = setInterval(() => {
    c.ws.send(n < loudFrames ? loud : numberedPcm(320, n * 320));
    n++;
  }, 20);
}

const callerFinished = { serverContent: { inputTranscription: { text: "Can you hear me?", finished: true } } };

describe("model stall", () => {
  test("a model silent after the caller finished is resumed once, then the call ends with a hang-up", async () => {
    await using t = await start({ MODEL_STALL_S: "1" }, { mute: true });
    const { hh, hangups, ended } = t;
    const c = await new Caller(await hh.streamUrlFor("HD_stall")).open();
    stream(c);
    await until(() => hh.standin.sessions[0]?.ready === true, "live session ready");
    hh.standin.sessions[0]!.send(callerFinished);
    // Resumed on a fresh socket with the session's handle, and nudged (nothing is replayed to it).
    await until(() => hh.standin.sessions.length === 2 && hh.standin.sessions[1]!.ready, "resumed socket ready", 8000);
    expect(hh.standin.sessions[1]!.resumedWith).toBe(hh.standin.sessions[0]!.handlesIssued.at(-1));
    await until(() => hh.standin.sessions[1]!.texts.includes(NUDGE_STALL), "nudge sent");
    // Still silent: the call is hung up through Sautikit and both sockets close.
    await until(() => c.closed !== undefined, "caller socket closed", 8000);
    expect(hangups.map((x) => x.callId)).toEqual(["HD_stall"]);
    await until(() => hh.standin.live().length === 0, "Live sockets closed");
    await until(() => ended.length === 1, "ended event");
    expect(ended[0]!.reason).toBe("model_failed");
    expect(hh.standin.sessions.length).toBe(2); // resumed once, not in a loop
    expect(hh.logs.some((l) => l.includes('"level":40') && l.includes("model silent after the caller finished"))).toBe(true);
  });

  test("a model that sends nothing at all (not even a transcript) is caught from the caller's own speech", async () => {
    await using t = await start({ MODEL_STALL_S: "1" }, { mute: true });
    const { hh, hangups, ended } = t;
    const c = await new Caller(await hh.streamUrlFor("HD_dead")).open();
    await until(() => hh.standin.sessions[0]?.ready === true, "live session ready");
    stream(c, 25); // the caller says something for half a second, then waits
    await until(() => hh.standin.sessions.length === 2, "resumed", 8000);
    await until(() => c.closed !== undefined, "caller socket closed", 8000);
    expect(hangups.map((x) => x.callId)).toEqual(["HD_dead"]);
    await until(() => ended.length === 1, "ended event");
    expect(ended[0]!.reason).toBe("model_failed");
  });

  test("a caller who never speaks never makes a silent model look stalled", async () => {
    await using t = await start({ MODEL_STALL_S: "1" }, { mute: true });
    const { hh, hangups } = t;
    const c = await new Caller(await hh.streamUrlFor("HD_hush")).open();
    await until(() => hh.standin.sessions[0]?.ready === true, "live session ready");
    stream(c);
    await Bun.sleep(3000);
    expect(hh.standin.sessions.length).toBe(1);
    expect(hangups.map((x) => x.callId)).toEqual([]);
    expect(c.closed).toBeUndefined();
    c.ws.close();
  });

  test("a stalled model that answers after the resume keeps the call", async () => {
    await using t = await start({ MODEL_STALL_S: "1" }, {});
    const { hh, hangups } = t;
    const c = await new Caller(await hh.streamUrlFor("HD_recover")).open();
    stream(c);
    await until(() => hh.standin.sessions[0]?.ready === true, "live session ready");
    hh.standin.sessions[0]!.send(callerFinished);
    await until(() => hh.standin.sessions.length === 2, "resumed", 8000);
    // The spy answers the nudge: the caller hears it and the call goes on.
    await until(() => c.loudSamples() > 3000, "answer after the resume heard", 8000);
    await Bun.sleep(2500);
    expect(c.closed).toBeUndefined();
    expect(hangups.map((x) => x.callId)).toEqual([]);
    expect(hh.standin.sessions.length).toBe(2);
    c.ws.close();
  });

  test("an answering model is never taken for stalled", async () => {
    await using t = await start({ MODEL_STALL_S: "1" }, { answerMs: 2500 });
    const { hh, hangups } = t;
    const c = await new Caller(await hh.streamUrlFor("HD_fine")).open();
    stream(c);
    await until(() => hh.standin.sessions[0]?.ready === true, "live session ready");
    const s = hh.standin.sessions[0]!;
    s.send(callerFinished);
    s.speak({ ms: 2500 });
    await Bun.sleep(3000);
    expect(hh.standin.sessions.length).toBe(1);
    expect(hangups.map((x) => x.callId)).toEqual([]);
    expect(c.closed).toBeUndefined();
    c.ws.close();
  });
});

describe("model setup", () => {
  test("a model that never completes setup ends the call with model_failed, a hang-up and an error line", async () => {
    await using t = await start({ GEMINI_SETUP_TIMEOUT_MS: "1000", PREWARM_WAIT_MS: "200" }, { setupDelayMs: 60_000 });
    const { hh, hangups, ended } = t;
    const url = await hh.streamUrlFor("HD_nosetup"); // the pre-warm is still pending: <Stream> is answered
    const c = await new Caller(url).open();
    stream(c);
    await until(() => c.closed !== undefined, "caller socket closed", 8000);
    expect(hangups.map((x) => x.callId)).toEqual(["HD_nosetup"]);
    await until(() => ended.length === 1, "ended event");
    expect(ended[0]!.reason).toBe("model_failed");
    expect(hh.logs.some((l) => l.includes('"level":50') && l.includes("HD_nosetup") && l.includes("ending the call"))).toBe(true);
  });
});
