// Tools the model calls without waiting (NON_BLOCKING, 3.8's default) and turns the model rejects, through the real
// relay and the Live stand-in playing the model's own turns (toolTurns): a filler while a slow HTTP tool runs, the
// result spoken per its scheduling, and a run of empty turns treated like a stall.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { NUDGE_STALL } from "../../src/call/stall-watch.ts";
import type { CallEvent } from "../../src/call/events.ts";
import type { StandinSession } from "../support/gemini-spy.ts";
import { recordWhen } from "../records/helpers.ts";
import { agentsFile, cleanupAgentFiles } from "./fixtures.ts";
import { Caller, startHarness, until, type Harness } from "./harness.ts";

const TOOL_MS = 1500;
const requests: Array<{ path: string; answered: boolean }> = [];
let server: ReturnType<typeof Bun.serve>;

beforeAll(() => {
  server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const r = { path: new URL(req.url).pathname, answered: false };
      requests.push(r);
      await req.text();
      await Bun.sleep(TOOL_MS);
      r.answered = true;
      return Response.json({ status: "ok", message: "Table 4 is booked for 7 pm." });
    },
  });
});
afterAll(() => server.stop(true));

let h: Harness | undefined;
let caller: Caller | undefined;
afterEach(async () => {
  caller?.ws.close();
  caller = undefined;
  await h?.stop();
  h = undefined;
  requests.length = 0;
  cleanupAgentFiles();
});

const tool = (name: string, extra: string) => `      - name: ${name}
        description: "Books a table (slow)."
        url: http://127.0.0.1:${server.port}/${name}
        timeoutMs: 5000
${extra}`;

const agentYaml = () => `agents:
  - name: tables
    model: gemini-3.8-live
    prompt: "Tables."
    tools:
${tool("book_async", "        behavior: non_blocking\n")}${tool("book_interrupt", "        behavior: non_blocking\n        scheduling: interrupt\n")}${tool("book_silent", "        behavior: non_blocking\n        scheduling: silent\n")}${tool("book_wait", "        behavior: blocking\n")}`;

async function start(env: Record<string, string> = {}, standin: Record<string, unknown> = {}): Promise<{ s: StandinSession; events: CallEvent[] }> {
  h = await startHarness({ AGENTS_FILE: agentsFile(agentYaml()), ...env }, { toolTurns: true, answerMs: 400, ...standin });
  const events: CallEvent[] = [];
  h.calls.events.subscribe((e) => void events.push(e));
  caller = await new Caller(await h.streamUrlFor("HD_async")).open();
  await until(() => h!.standin.sessions[0]?.ready === true, "live ready");
  return { s: h.standin.sessions[0]!, events };
}

/** Loud samples the caller heard since frame `from`. */
const heardSince = (from: number) => caller!.loudSamples(from);
const agentLines = (events: CallEvent[]) => events.flatMap((e) => (e.type === "transcript" && e.final && e.role === "agent" ? [e.text] : []));

describe("a slow HTTP tool", () => {
  test("non_blocking: the caller hears the agent while the tool runs; the result is spoken once, when the agent is idle", async () => {
    const { s, events } = await start();
    const from = caller!.frames.length;
    s.toolCall("book_async", {});
    await until(() => requests.length === 1, "request reached the tool service");
    // Well inside the tool's 1.5 s: the model's filler has reached the caller, and the request is still open.
    await until(() => heardSince(from) > 3000, "agent audio while the tool runs", 1400);
    expect(requests[0]!.answered).toBe(false);
    await until(() => s.toolResponses.length === 1, "result sent");
    expect(s.toolResponses[0]).toMatchObject({ name: "book_async", scheduling: "WHEN_IDLE", response: { status: "ok" } });
    await until(() => s.toolResults.length === 1, "result taken");
    expect(s.toolResults[0]).toMatchObject({ mode: "NON_BLOCKING", scheduling: "WHEN_IDLE", action: "answered" });
    await until(() => agentLines(events).length === 2, "two agent lines");
    expect(agentLines(events)).toEqual(["One moment, let me check that for you.", "Here is what book_async found."]);
  });

  test("blocking: nothing while the tool runs (the model waits), then the answer; no scheduling is sent", async () => {
    const { s, events } = await start();
    const from = caller!.frames.length;
    s.toolCall("book_wait", {});
    await until(() => requests.length === 1, "request reached the tool service");
    await Bun.sleep(TOOL_MS - 300);
    expect(requests[0]!.answered).toBe(false);
    expect(heardSince(from)).toBe(0);
    await until(() => s.toolResponses.length === 1, "result sent");
    expect("scheduling" in s.toolResponses[0]!).toBe(false);
    await until(() => agentLines(events).length === 1, "the answer");
    expect(agentLines(events)).toEqual(["Here is what book_wait found."]);
    expect(heardSince(from)).toBeGreaterThan(3000);
  });
});

describe("a result that arrives after the caller moved on", () => {
  /** The tool runs; meanwhile the model answers something else for longer than the tool takes. */
  async function lateResult(name: string): Promise<{ s: StandinSession; events: CallEvent[] }> {
    const r = await start({}, { fillerMs: 0 });
    r.s.toolCall(name, {});
    await until(() => requests.length === 1, "request reached the tool service");
    r.s.speak({ ms: 2500, transcript: "Our opening hours are nine to five every day." });
    await until(() => r.s.toolResults.length === 1, "result taken", 5000);
    return r;
  }

  test("when_idle (the default): the answer in progress is not cut; the result is spoken after it", async () => {
    const { s, events } = await lateResult("book_async");
    expect(s.toolResults[0]!.action).toBe("queued");
    await until(() => agentLines(events).length === 2, "both lines");
    expect(agentLines(events)).toEqual(["Our opening hours are nine to five every day.", "Here is what book_async found."]);
    expect(s.interruptions).toBe(0);
    expect(events.some((e) => e.type === "bargeIn")).toBe(false);
  });

  test("silent: the result goes into the model's context only; nothing more is said", async () => {
    const { s, events } = await lateResult("book_silent");
    expect(s.toolResponses[0]!.scheduling).toBe("SILENT");
    expect(s.toolResults[0]!.action).toBe("silent");
    await until(() => agentLines(events).length === 1, "the answer in progress");
    await Bun.sleep(800);
    expect(agentLines(events)).toEqual(["Our opening hours are nine to five every day."]);
    expect(s.answers).toBe(1);
  });

  test("interrupt: the answer in progress is cut and the result spoken at once", async () => {
    const { s, events } = await lateResult("book_interrupt");
    expect(s.toolResponses[0]!.scheduling).toBe("INTERRUPT");
    expect(s.toolResults[0]!.action).toBe("interrupted");
    await until(() => agentLines(events).length === 2, "both lines");
    expect(s.interruptions).toBe(1);
    const lines = events.flatMap((e) => (e.type === "transcript" && e.final && e.role === "agent" ? [[e.text, e.interrupted]] : []));
    expect(lines[1]).toEqual(["Here is what book_interrupt found.", false]);
    expect(lines[0]![1]).toBe(true);
  });
});

describe("turns the model rejects", () => {
  const rejected = (s: StandinSession, reason = "RESPONSE_REJECTED") => s.send({ serverContent: { turnComplete: true, turnCompleteReason: reason } });

  test("two in a row with no audio: counted, logged, and the leg is resumed with a nudge, as for a stall", async () => {
    const { s, events } = await start();
    rejected(s);
    await Bun.sleep(100);
    expect(h!.standin.sessions).toHaveLength(1);
    rejected(s, "MALFORMED_FUNCTION_CALL");
    await until(() => h!.standin.sessions[1]?.ready === true, "resumed on a fresh socket");
    const fresh = h!.standin.sessions[1]!;
    expect(fresh.resumedWith).toBe(s.handlesIssued.at(-1));
    await until(() => fresh.texts.includes(NUDGE_STALL), "nudge sent");
    const warns = h!.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === "model ended a turn with nothing to say");
    expect(warns.map((w) => [w.callId, w.reason, w.rejectedTurns])).toEqual([
      ["HD_async", "RESPONSE_REJECTED", 1],
      ["HD_async", "MALFORMED_FUNCTION_CALL", 2],
    ]);
    // The nudge is answered; the call goes on and its record counts the empty turns.
    await until(() => fresh.answers === 1, "the model answers the nudge");
    caller!.ws.close();
    const r = await recordWhen(h!, "HD_async", (x) => x.endReason !== null, "ended record");
    expect(r.endReason).toBe("caller_hangup");
    expect(r.rejectedTurns).toBe(2);
    expect(r.model?.rejectedTurns).toBe(2);
    const ended = events.find((e) => e.type === "ended");
    expect(ended).toMatchObject({ rejectedTurns: 2 });
  });

  test("a rejected turn that still carried audio is not empty; one between answers is not a run", async () => {
    const { s } = await start();
    rejected(s);
    s.speak({ ms: 300 });
    await until(() => s.sent.filter((k) => k.includes("usageMetadata")).length === 1, "an answer with audio");
    rejected(s);
    s.speak({ ms: 300, transcript: "x" });
    await Bun.sleep(50);
    s.send({ serverContent: { turnComplete: true, turnCompleteReason: "RESPONSE_REJECTED" } });
    await Bun.sleep(400);
    expect(h!.standin.sessions).toHaveLength(1);
  });

  test("a model that rejects everything, even after the resume, ends the call instead of leaving the caller in silence", async () => {
    const agent = `agents:\n  - name: tables\n    model: gemini-3.8-live\n    prompt: "Tables."\n    greeting: "Greet the caller."\n`;
    h = await startHarness({ AGENTS_FILE: agentsFile(agent) }, { speechRms: 1000, onSession: (x) => x.rejectNext(100) });
    const events: CallEvent[] = [];
    h.calls.events.subscribe((e) => void events.push(e));
    caller = await new Caller(await h.streamUrlFor("HD_reject")).open();
    // Greeting → rejected; the caller speaks → rejected: a run, so resume; the nudge → rejected; the caller speaks → rejected.
    await until(() => h!.standin.sessions[0]?.rejectedTurns === 1, "greeting rejected");
    speak(caller);
    await until(() => h!.standin.sessions[1]?.rejectedTurns === 1, "resumed, nudge rejected", 5000);
    speak(caller);
    await until(() => events.some((e) => e.type === "ended"), "call ended", 5000);
    expect(events.find((e) => e.type === "ended")).toMatchObject({ reason: "model_failed", detail: "model ended 4 turns with nothing to say", rejectedTurns: 4 });
  });
});

/** 400 ms of loud speech, then quiet enough for the stand-in's detector to end the utterance (20 ms frames). */
function speak(c: Caller): void {
  const frame = (loud: boolean) => {
    const pcm = new Int16Array(320);
    if (loud) for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(9000 * Math.sin((2 * Math.PI * 300 * i) / 16000));
    return new Uint8Array(pcm.buffer);
  };
  for (let t = 0; t < 400; t += 20) c.ws.send(frame(true));
  for (let t = 0; t < 600; t += 20) c.ws.send(frame(false));
}
