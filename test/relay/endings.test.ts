// Ending calls well, through the real relay with a fake Sautikit REST API recording the hang-up: end_call lets
// the caller hear the whole goodbye before hanging up, max duration asks for a goodbye first, idle nudges once
// and then ends. Every ending carries its reason in the call-ended event.
import { afterAll, describe, expect, test } from "bun:test";
import { NUDGE_GOODBYE } from "../../src/call/ending.ts";
import { NUDGE_IDLE } from "../../src/call/idle-watch.ts";
import type { CallEndedEvent, CallEvent } from "../../src/call/events.ts";
import type { StandinOptions, StandinSession } from "../support/gemini-spy.ts";
import { agentsFile, cleanupAgentFiles } from "./fixtures.ts";
import { fakeSautikitRest, type FakeSautikitRest } from "../support/sautikit-rest.ts";
import { Caller, startHarness, until, type Harness } from "./harness.ts";

afterAll(cleanupAgentFiles);

interface Placed extends AsyncDisposable {
  h: Harness;
  rest: FakeSautikitRest;
  c: Caller;
  s: StandinSession;
  events: CallEvent[];
}

/** `await using t = await call(…)`: one agent (the default) with `extra` YAML lines, a call placed to it and its
 *  Live session, against a Sautikit REST fake; all of it stopped when the test's scope ends. */
async function call(extra: string, callId: string, spy: Partial<StandinOptions> = {}): Promise<Placed> {
  const rest = fakeSautikitRest();
  const yaml = `agents:\n  - name: shop\n    prompt: "Shop."\n    greeting: ""\n${extra}`;
  const h = await startHarness({ AGENTS_FILE: agentsFile(yaml), SAUTIKIT_API_KEY: "tsk_test", SAUTIKIT_API_URL: rest.url }, spy);
  const events: CallEvent[] = [];
  h.calls.events.subscribe((e) => void events.push(e));
  const c = await new Caller(await h.streamUrlFor(callId)).open();
  await until(() => h.standin.sessions[0]?.ready === true, "live session ready");
  return {
    h,
    rest,
    c,
    s: h.standin.sessions[0]!,
    events,
    async [Symbol.asyncDispose]() {
      await c[Symbol.asyncDispose]();
      await h.stop();
      rest.stop();
    },
  };
}

const ended = (events: CallEvent[]) => events.find((e): e is CallEndedEvent => e.type === "ended");

/** Samples per ms at the 16 kHz call rate. */
const PER_MS = 16;

describe("end_call", () => {
  test("issued with more than 2 s of goodbye still to play: hang-up only after the caller got all of it, within 1 s", async () => {
    await using t = await call("    tools:\n      - builtin: end_call\n", "HD_end_call");
    const { h, rest, c, s, events } = t;
    s.speak({ ms: 3000, hz: 1000, transcript: "Thank you for calling Duka, goodbye." });
    await until(() => c.audioMs() >= 500, "first 0.5 s of the goodbye heard", 10000);
    const heardAtEndCall = c.audioMs();
    const id = s.toolCall("end_call", { reason: "caller has their answer" });
    await until(() => s.toolResponses.some((r) => r.id === id), "end_call answered");
    expect(s.toolResponses.find((r) => r.id === id)!.response).toMatchObject({ status: "ok" });
    // At least 2 s of the goodbye was still to come when the agent asked to hang up.
    expect(3000 + 200 - heardAtEndCall).toBeGreaterThanOrEqual(2000);

    await until(() => rest.hangups.length === 1, "REST hang-up", 15000);
    await until(() => c.closed !== undefined, "caller socket closed", 5000);
    const hangup = rest.hangups[0]!;
    expect(hangup.callId).toBe("HD_end_call");
    // Everything: 3 s of tone (within one frame) and the 200 ms silent tail, all before the hang-up.
    expect(Math.abs(c.loudSamples() - 3000 * PER_MS)).toBeLessThanOrEqual(320);
    expect(c.audioMs()).toBeGreaterThanOrEqual(3200 - h.config.playoutFrameMs);
    const lastFrameAt = c.frameAt[c.frameAt.length - 1]!;
    expect(hangup.at).toBeGreaterThan(lastFrameAt);
    expect(hangup.at - lastFrameAt).toBeLessThanOrEqual(1000);

    await until(() => ended(events) !== undefined, "ended event");
    expect(ended(events)).toMatchObject({ callId: "HD_end_call", reason: "agent_end_call" });
    // The model's reason is a tool argument: never at info level.
    const loud = h.logs.filter((l) => (JSON.parse(l) as { level: number }).level >= 30).join("\n");
    expect(loud).not.toContain("caller has their answer");
  }, 30000);
});

describe("max duration", () => {
  test("at the limit the agent is asked for a goodbye; the caller hears it, then the call is hung up", async () => {
    // turnComplete right after generation (not at the end of playback): the relay itself must wait for the audio.
    await using t = await call("    maxCallSeconds: 1\n", "HD_max", { greetingMs: 500, greetingHz: 600, waitForPlayback: false });
    const { rest, c, s, events } = t;
    await until(() => s.texts.length === 1, "goodbye nudge", 10000);
    expect(s.texts).toEqual([NUDGE_GOODBYE]);
    await until(() => rest.hangups.length === 1, "REST hang-up", 15000);
    // The whole 500 ms goodbye was heard before the hang-up.
    expect(Math.abs(c.loudSamples() - 500 * PER_MS)).toBeLessThanOrEqual(320);
    expect(rest.hangups[0]!.at).toBeGreaterThan(c.frameAt[c.frameAt.length - 1]!);
    await until(() => ended(events) !== undefined, "ended event");
    expect(ended(events)).toMatchObject({ reason: "max_duration", detail: "limit 1 s" });
    expect(ended(events)!.durationMs).toBeGreaterThanOrEqual(1000);
  }, 30000);

  test("the default agent gets MAX_CALL_SECONDS", async () => {
    using rest = fakeSautikitRest();
    await using h = await startHarness({ MAX_CALL_SECONDS: "1", SAUTIKIT_API_KEY: "tsk_test", SAUTIKIT_API_URL: rest.url });
    const events: CallEvent[] = [];
    h.calls.events.subscribe((e) => void events.push(e));
    await using _caller = await new Caller(await h.streamUrlFor("HD_max_default")).open();
    await until(() => ended(events) !== undefined, "ended event", 15000);
    expect(ended(events)).toMatchObject({ reason: "max_duration" });
    expect(h.standin.sessions[0]!.texts).toEqual([NUDGE_GOODBYE]);
    expect(rest.hangups.map((x) => x.callId)).toEqual(["HD_max_default"]);
  }, 30000);
});

describe("idle", () => {
  test("silence: one nudge, the agent's check is heard, then silence again ends the call", async () => {
    await using t = await call("    idleSeconds: 1\n", "HD_idle", { greetingMs: 400, greetingHz: 600 });
    const { rest, c, s, events } = t;
    await until(() => s.texts.length === 1, "idle nudge", 10000);
    expect(s.texts).toEqual([NUDGE_IDLE]);
    await until(() => rest.hangups.length === 1, "REST hang-up", 15000);
    expect(s.texts).toEqual([NUDGE_IDLE]); // nudged once only
    expect(Math.abs(c.loudSamples() - 400 * PER_MS)).toBeLessThanOrEqual(320);
    await until(() => ended(events) !== undefined, "ended event");
    expect(ended(events)).toMatchObject({ reason: "idle" });
    // Two silences of 1 s each, and the check itself, went by.
    expect(ended(events)!.durationMs).toBeGreaterThanOrEqual(2400);
  }, 30000);

  test("the caller answering the nudge ends that silence: a later one gets a fresh nudge before the call ends", async () => {
    await using t = await call("    idleSeconds: 1\n", "HD_idle_reply", { greetingMs: 300, answerMs: 300, speechRms: 1000, silenceMs: 200 });
    const { rest, c, s, events } = t;
    await until(() => s.texts.length === 1, "first idle nudge", 10000);
    // The caller says something: 300 ms loud, then quiet, paced at 20 ms.
    const loud = new Uint8Array(640);
    const v = new DataView(loud.buffer);
    for (let i = 0; i < 320; i++) v.setInt16(i * 2, Math.round(8000 * Math.sin((2 * Math.PI * 300 * i) / 16000)), true);
    const quiet = new Uint8Array(640);
    for (let i = 0; i < 40; i++) {
      c.ws.send(i < 15 ? loud : quiet);
      await Bun.sleep(20);
    }
    await until(() => s.answers >= 2, "the agent answered the caller", 10000);
    await until(() => rest.hangups.length === 1, "REST hang-up", 20000);
    expect(s.texts).toEqual([NUDGE_IDLE, NUDGE_IDLE]);
    await until(() => ended(events) !== undefined, "ended event");
    expect(ended(events)).toMatchObject({ reason: "idle" });
  }, 30000);
});
