// A Call on its own: a scripted model leg and a socket double, no server, no model provider. The pacer runs on a
// fake clock, so what reaches the caller is decided by ticks the test makes; the endings that wait on a length
// limit or an idle silence run on short real timers.
import { afterEach, describe, expect, test } from "bun:test";
import { Pacer } from "../../src/audio/pacer.ts";
import type { Agent } from "../../src/call/agent.ts";
import { Call, type CallSettings } from "../../src/call/call.ts";
import { NUDGE_GOODBYE } from "../../src/call/ending.ts";
import { CallEventHub, type CallEndedEvent, type CallEvent } from "../../src/call/events.ts";
import { NUDGE_IDLE } from "../../src/call/idle-watch.ts";
import { endCallTool } from "../../src/tools/end-call.ts";
import { SocketDouble } from "../support/call-socket.ts";
import { FakeClock } from "../support/fake-clock.ts";
import { captureLog } from "../support/log.ts";
import { ScriptedLeg } from "../support/model-leg.ts";
import { until } from "../support/wait.ts";

const SETTINGS: CallSettings = {
  callSampleRate: 16000,
  playbackRate: 16000,
  playoutLeadMs: 160,
  playoutFrameMs: 60,
  uplinkBatchMs: 0,
  turnTailMs: 200,
  maxQueuedAudioS: 60,
  modelStallS: 0,
};

const AGENT: Agent = { name: "a", model: "gemini-3.8-live", voice: "Kore", prompt: "Test.", greeting: "", tools: [], maxCallSeconds: 0, idleSeconds: 0 };

const pacers: Pacer[] = [];
afterEach(() => {
  for (const p of pacers.splice(0)) p.stop();
});

function callWith(o: { agent?: Partial<Agent>; settings?: Partial<CallSettings>; leg?: ScriptedLeg } = {}) {
  const clock = new FakeClock();
  const pacer = new Pacer({ clock });
  pacers.push(pacer);
  const leg = o.leg ?? new ScriptedLeg();
  const socket = new SocketDouble();
  const { log, lines } = captureLog("debug");
  const hub = new CallEventHub(log);
  const events: CallEvent[] = [];
  hub.subscribe((e) => void events.push(e));
  let endedCalls = 0;
  const settings = { ...SETTINGS, ...o.settings };
  const call = new Call({
    settings,
    info: { callId: "call-1", caller: "+254700000001", callee: "+254700000002", agent: { ...AGENT, ...o.agent }, source: "phone" },
    socket,
    leg,
    pacer,
    events: hub,
    log,
    onEnd: () => void endedCalls++,
  });
  const seen = (): CallEvent[] => {
    hub.flush();
    return events;
  };
  const ended = (): CallEndedEvent | undefined => seen().find((e): e is CallEndedEvent => e.type === "ended");
  /** Ticks the pacer until nothing more is sent (at most `ms`). */
  const playOut = (ms = 10_000): void => {
    for (let t = 0; t < ms; t += 20) clock.advance(20);
  };
  return { call, leg, socket, clock, lines, seen, ended, playOut, calls: () => endedCalls, settings };
}

const frameBytes = (rate: number, ms: number) => (rate / 1000) * ms * 2;

describe("audio both ways", () => {
  test("caller frames reach the model at the leg's input rate (an 8 kHz call is upsampled for a 16 kHz leg)", () => {
    const { call, leg } = callWith({ settings: { callSampleRate: 8000 } });
    const frame = Buffer.alloc(320); // 20 ms at 8 kHz
    for (let i = 0; i < 50; i++) call.onAudio(frame);
    expect(leg.audio).toHaveLength(50);
    // 1 s of 8 kHz in, about 1 s of 16 kHz out (the filter holds back a few samples).
    expect(leg.audioBytes).toBeGreaterThan(31_800);
    expect(leg.audioBytes).toBeLessThanOrEqual(32_000);
  });

  test("model audio reaches the caller paced, in frames of PLAYOUT_FRAME_MS at the playback rate, with the turn's tail", () => {
    const { leg, socket, playOut } = callWith();
    leg.speak(1000);
    // The lead goes out at once: two 60 ms frames fit within 160 ms.
    expect(socket.frames).toHaveLength(2);
    leg.turnComplete();
    playOut(3000);
    expect(socket.frames.every((f) => f.length === frameBytes(16000, 60))).toBe(true);
    // 1000 ms of audio and a 200 ms tail, each rounded up to whole 60 ms frames.
    expect(socket.audioMs(16000)).toBe(17 * 60 + 4 * 60);
  });
});

describe("barge-in", () => {
  test("clears the far end and drops the queue in the same turn; late audio of the cut turn is discarded until its turnComplete", () => {
    const { leg, socket, clock, seen } = callWith();
    leg.said("Your order is on its way and");
    leg.speak(3000);
    for (let i = 0; i < 10; i++) clock.advance(20);
    const before = socket.frames.length;
    leg.interrupted();
    expect(socket.clears).toBe(1);
    for (let i = 0; i < 20; i++) clock.advance(20);
    expect(socket.frames.length).toBe(before);
    leg.speak(500); // late audio of the interrupted turn
    for (let i = 0; i < 20; i++) clock.advance(20);
    expect(socket.frames.length).toBe(before);
    leg.turnComplete();
    leg.speak(300); // the next answer
    expect(socket.frames.length).toBeGreaterThan(before);
    const events = seen();
    expect(events.some((e) => e.type === "bargeIn")).toBe(true);
    const agentLine = events.find((e) => e.type === "transcript" && e.final && e.role === "agent");
    expect(agentLine).toMatchObject({ interrupted: true, text: "Your order is on its way and" });
  });

  test("the end summary counts discarded audio at the leg's own output rate", () => {
    const leg = new ScriptedLeg({ outputRate: 16000 });
    const { call, ended } = callWith({ leg });
    leg.speak(2000);
    leg.interrupted();
    leg.speak(500);
    call.onClose(1000, "");
    const e = ended()!;
    expect(e.reason).toBe("caller_hangup");
    // 500 ms at 16 kHz; read as 24 kHz audio it would have been 333 ms.
    expect(e.audio.discardedMs).toBe(500);
    expect(e.bargeIns).toBe(1);
    expect(leg.closed).toBe(true);
  });
});

describe("endings", () => {
  test("end_call: the goodbye turn completes and the caller hears all of it before the hang-up", async () => {
    const { leg, socket, playOut, ended, calls } = callWith({ agent: { tools: [endCallTool()] } });
    leg.speak(600);
    leg.toolCall({ id: "t1", name: "end_call", args: {} });
    await until(() => leg.toolResults.length === 1, "end_call answered");
    expect(socket.hangups).toEqual([]);
    leg.speak(400);
    leg.turnComplete();
    await Bun.sleep(0);
    expect(socket.hangups).toEqual([]); // still playing
    playOut(3000);
    await until(() => socket.hangups.length === 1, "hung up");
    expect(socket.hangups).toEqual(["agent_end_call"]);
    // Everything queued was sent before the hang-up: 1000 ms of speech and the tail, in whole frames.
    expect(socket.audioMs(16000)).toBeGreaterThanOrEqual(1000 + 200);
    expect(ended()).toMatchObject({ reason: "agent_end_call" });
    expect(calls()).toBe(1);
  });

  test("a model that fails for good hangs the call up with model_failed, even during a polite ending", async () => {
    const { call, leg, socket, ended } = callWith();
    call.endPolitely("max_duration", "limit 1 s", NUDGE_GOODBYE);
    expect(leg.texts).toEqual([NUDGE_GOODBYE]);
    leg.fail("Internal error", 1011);
    await until(() => socket.hangups.length === 1, "hung up");
    expect(socket.hangups).toEqual(["model_failed"]);
    expect(ended()).toMatchObject({ reason: "model_failed", detail: "1011 Internal error" });
  });

  test("the length limit asks for a goodbye, waits for it to be heard, then hangs up", async () => {
    const { leg, socket, playOut, ended } = callWith({ agent: { maxCallSeconds: 1 } });
    await until(() => leg.texts.includes(NUDGE_GOODBYE), "goodbye asked for", 3000);
    leg.speak(300);
    leg.turnComplete();
    playOut(2000);
    await until(() => socket.hangups.length === 1, "hung up");
    expect(ended()).toMatchObject({ reason: "max_duration", detail: "limit 1 s" });
  });

  test("idle: one 'are you still there?' after a silence, and the same silence again ends the call", async () => {
    const { call, leg, socket, ended } = callWith({ agent: { idleSeconds: 1 } });
    for (let i = 0; i < 10; i++) call.onAudio(Buffer.alloc(640)); // silence from the caller
    await until(() => leg.texts.includes(NUDGE_IDLE), "nudged", 3000);
    expect(socket.hangups).toEqual([]);
    await until(() => socket.hangups.length === 1, "ended after the second silence", 3000);
    expect(leg.texts.filter((t) => t === NUDGE_IDLE)).toHaveLength(1);
    expect(ended()).toMatchObject({ reason: "idle" });
  });

  test("the caller speaking resets the idle watch", async () => {
    const { leg, socket } = callWith({ agent: { idleSeconds: 1 } });
    const talk = setInterval(() => leg.heard("still here", false), 300);
    await Bun.sleep(1600);
    clearInterval(talk);
    expect(leg.texts).toEqual([]);
    expect(socket.hangups).toEqual([]);
  });
});
