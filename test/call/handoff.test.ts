// A call's side of handing the caller to a person, on its own: a scripted model leg, a socket double and a desk
// double that plays Sautikit's part (a person joining, on the line, leaving). While the person is on, no model audio
// reaches the caller and no caller audio reaches the model; when they leave the agent takes the call back, or the
// call ends, as the agent says. The pacer runs on a fake clock.
import { afterEach, describe, expect, test } from "bun:test";
import { Pacer } from "../../src/audio/pacer.ts";
import type { Agent, HandoffSpec } from "../../src/call/agent.ts";
import { Call, type CallSettings } from "../../src/call/call.ts";
import { CallEventHub, type CallEndedEvent, type CallEvent } from "../../src/call/events.ts";
import { NUDGE_BACK, NUDGE_NOBODY, type HandoffDesk, type HandoffLine, type HandoffRequest } from "../../src/call/handoff.ts";
import { handoffTool } from "../../src/tools/handoff.ts";
import { SocketDouble } from "../support/call-socket.ts";
import { FakeClock } from "../support/fake-clock.ts";
import { captureLog } from "../support/log.ts";
import { ScriptedLeg } from "../support/model-leg.ts";
import { until } from "../support/wait.ts";

const SETTINGS: CallSettings = { callSampleRate: 16000, playbackRate: 16000, playoutLeadMs: 160, playoutFrameMs: 60, uplinkBatchMs: 0, turnTailMs: 200, maxQueuedAudioS: 60, modelStallS: 0 };

const NOTIFY: HandoffSpec = { notify: { url: "http://127.0.0.1:9/h", headers: {} }, say: "a nurse calls back today", live: undefined, timeoutMs: 8000 };
const LIVE: HandoffSpec = { ...NOTIFY, live: { number: "+254711000999", after: "resume" } };

/** Answers like the real desk; with `live` it tells the line a person is coming. */
class DeskDouble implements HandoffDesk {
  readonly requests: HandoffRequest[] = [];
  line: HandoffLine | undefined;
  handOff(req: HandoffRequest, line: HandoffLine): Promise<Record<string, unknown>> {
    this.requests.push(req);
    this.line = line;
    if (req.spec.live !== undefined) line.joining();
    return Promise.resolve({ status: "ok", delivered: true, message: "tell the caller" });
  }
}

const pacers: Pacer[] = [];
afterEach(() => {
  for (const p of pacers.splice(0)) p.stop();
});

function callWith(spec: HandoffSpec | undefined, desk: HandoffDesk | null = new DeskDouble()) {
  const clock = new FakeClock();
  const pacer = new Pacer({ clock });
  pacers.push(pacer);
  const leg = new ScriptedLeg({ outputRate: 16000 });
  const socket = new SocketDouble();
  const { log, lines } = captureLog("debug");
  const hub = new CallEventHub(log);
  const events: CallEvent[] = [];
  hub.subscribe((e) => void events.push(e));
  const agent: Agent = {
    name: "clinic",
    model: "gemini-3.8-live",
    voice: "Kore",
    prompt: "Test.",
    greeting: "",
    tools: spec === undefined ? [handoffTool(8000)] : [handoffTool(spec.timeoutMs)],
    maxCallSeconds: 0,
    idleSeconds: 0,
    ...(spec === undefined ? {} : { handoff: spec }),
  };
  const call = new Call({
    settings: SETTINGS,
    info: { callId: "call-h", caller: "+254700000001", callee: "+254700000002", agent, source: "phone" },
    socket,
    leg,
    pacer,
    events: hub,
    log,
    onEnd: () => {},
    ...(desk === null ? {} : { handoffs: desk }),
  });
  const playOut = (ms = 5000): void => {
    for (let t = 0; t < ms; t += 20) clock.advance(20);
  };
  const ended = (): CallEndedEvent | undefined => {
    hub.flush();
    return events.find((e): e is CallEndedEvent => e.type === "ended");
  };
  const frame = Buffer.alloc(640, 1);
  return { call, leg, socket, lines, playOut, ended, frame, desk: desk as DeskDouble };
}

/** The caller asks for a person; the agent says it will hand over and calls the tool. */
async function askForAPerson(c: ReturnType<typeof callWith>): Promise<void> {
  c.leg.heard("I want to talk to a nurse.");
  c.leg.said("Let me get a nurse for you.");
  c.leg.speak(300);
  c.leg.turnComplete();
  c.playOut(1000);
  c.leg.toolCall({ id: "fc-1", name: "handoff", args: { reason: "wants a nurse", summary: "The caller asked for a nurse about tomorrow." } });
  await until(() => c.leg.toolResults.length === 1, "tool answered");
}

describe("the handoff tool", () => {
  test("the desk gets the reason, the summary and what was said so far; the model gets the desk's answer", async () => {
    const c = callWith(NOTIFY);
    await askForAPerson(c);
    const req = c.desk.requests[0]!;
    expect(req).toMatchObject({ callId: "call-h", agent: "clinic", caller: "+254700000001", source: "phone", reason: "wants a nurse", summary: "The caller asked for a nurse about tomorrow.", spec: NOTIFY });
    expect(req.transcript.map((u) => [u.role, u.text])).toEqual([
      ["caller", "I want to talk to a nurse."],
      ["agent", "Let me get a nurse for you."],
    ]);
    expect(c.leg.toolResults[0]).toEqual({ id: "fc-1", name: "handoff", response: { status: "ok", delivered: true, message: "tell the caller" } });
  });

  test("without a reason or summary, or on a relay without a desk, the model hears why", async () => {
    const c = callWith(NOTIFY);
    c.leg.toolCall({ id: "fc-1", name: "handoff", args: { reason: "x" } });
    await until(() => c.leg.toolResults.length === 1, "answered");
    expect(c.leg.toolResults[0]!.response).toMatchObject({ status: "error", message: "handoff needs a reason and a summary (both non-empty text); call it again with both" });
    const d = callWith(NOTIFY, null);
    d.leg.toolCall({ id: "fc-2", name: "handoff", args: { reason: "x", summary: "y" } });
    await until(() => d.leg.toolResults.length === 1, "answered");
    expect(d.leg.toolResults[0]!.response).toMatchObject({ status: "error", message: "handoff is not set up for this agent" });
  });
});

describe("a person on the line", () => {
  test("the agent announces it, then is quiet: no model audio to the caller, no caller audio to the model; when the person leaves it resumes", async () => {
    const c = callWith(LIVE);
    await askForAPerson(c);
    // The announcement after the tool's answer plays whole.
    c.leg.speak(600);
    c.leg.turnComplete();
    c.playOut(2000);
    const heard = c.socket.frames.length;
    expect(heard).toBeGreaterThan(0);
    c.desk.line!.joined();
    const toModel = c.leg.audio.length;
    for (let i = 0; i < 50; i++) c.call.onAudio(c.frame); // the caller talks to the person
    expect(c.leg.audio.length).toBe(toModel);
    c.leg.speak(1000); // whatever the model says meanwhile is not played
    c.playOut(2000);
    expect(c.socket.frames.length).toBe(heard);

    c.desk.line!.left(false);
    expect(c.leg.texts).toEqual([NUDGE_BACK]);
    c.call.onAudio(c.frame);
    expect(c.leg.audio.length).toBe(toModel + 1);
    c.leg.speak(300);
    c.playOut(1000);
    expect(c.socket.frames.length).toBeGreaterThan(heard);
    expect(c.lines.some((l) => l.includes("handoff: the person left the call; the agent takes it back"))).toBe(true);
  });

  test("quiet as soon as the caller has heard the announcement, before the person is on (they may still be ringing)", async () => {
    const c = callWith(LIVE);
    await askForAPerson(c);
    c.leg.speak(400);
    c.call.onAudio(c.frame); // announcing: the caller is still heard by the model
    const toModel = c.leg.audio.length;
    c.leg.turnComplete();
    c.playOut(2000);
    expect(c.leg.audio.length).toBe(toModel);
    // The drain is a promise: once it settles, a frame from the caller no longer reaches the model.
    await until(() => {
      const before = c.leg.audio.length;
      c.call.onAudio(c.frame);
      return c.leg.audio.length === before;
    }, "quiet");
    const n = c.leg.audio.length;
    for (let i = 0; i < 10; i++) c.call.onAudio(c.frame);
    expect(c.leg.audio.length).toBe(n);
  });

  test("the turn that carried the tool call completing before the announcement is spoken does not silence the agent", async () => {
    const c = callWith(LIVE);
    await askForAPerson(c);
    c.leg.turnComplete(); // the tool call's own turn ends; nothing announced yet
    c.playOut(500);
    await Bun.sleep(0);
    const n = c.leg.audio.length;
    c.call.onAudio(c.frame);
    expect(c.leg.audio.length).toBe(n + 1);
    c.leg.speak(300); // the announcement plays
    c.playOut(200);
    expect(c.socket.frames.length).toBeGreaterThan(0);
  });

  test("the person coming on mid-announcement cuts the agent off at once", async () => {
    const c = callWith(LIVE);
    await askForAPerson(c);
    c.leg.speak(3000);
    c.playOut(200);
    const clears = c.socket.clears;
    c.desk.line!.joined();
    expect(c.socket.clears).toBe(clears + 1);
    const sent = c.socket.frames.length;
    c.playOut(3000);
    expect(c.socket.frames.length).toBe(sent);
  });

  test("after: end — the call ends with reason handoff when the person leaves", async () => {
    const c = callWith({ ...LIVE, live: { number: "+254711000999", after: "end" } });
    await askForAPerson(c);
    c.desk.line!.joined();
    c.desk.line!.left(false);
    await until(() => c.ended() !== undefined, "ended");
    expect(c.ended()!.reason).toBe("handoff");
    expect(c.socket.hangups).toEqual(["handoff"]);
  });

  test("a person who never comes: the agent takes the call back and says so", async () => {
    const c = callWith(LIVE);
    await askForAPerson(c);
    c.desk.line!.left(true);
    expect(c.leg.texts).toEqual([NUDGE_NOBODY]);
    expect(c.socket.hangups).toEqual([]);
  });

  test("the model failing while the person is on does not hang up on them; when they leave, the call ends", async () => {
    const c = callWith(LIVE);
    await askForAPerson(c);
    c.desk.line!.joined();
    c.leg.fail("reconnects used up", 1011);
    await Bun.sleep(0);
    expect(c.socket.hangups).toEqual([]);
    expect(c.ended()).toBeUndefined();
    c.desk.line!.left(false);
    await until(() => c.ended() !== undefined, "ended");
    expect(c.ended()!.reason).toBe("model_failed");
  });
});
