// The drain state machine over a real relay in this process (real calls, real sockets); exit is recorded instead
// of ending the test process. The signal handling of the real process is in drain-process.test.ts.
import { describe, expect, test } from "bun:test";
import type { CallEvent } from "../../src/call/events.ts";
import { Drain } from "../../src/ops/drain.ts";
import { captureLog } from "../gemini/helpers.ts";
import { Caller, startHarness, until, type Harness } from "../relay/harness.ts";

async function dial(hh: Harness, callId: string): Promise<Caller> {
  const c = await new Caller(await hh.streamUrlFor(callId)).open();
  await until(() => hh.calls.activeCalls > 0 && hh.standin.live().some((s) => s.ready), "call up");
  return c;
}

describe("Drain", () => {
  test("waits for the last call, then runs the flushers in order (a failing or hanging one is bounded) and exits 0", async () => {
    await using h = await startHarness();
    const hh = h;
    const { log, lines } = captureLog();
    const seen: CallEvent["type"][] = [];
    hh.calls.events.subscribe((e) => void seen.push(e.type));
    const order: string[] = [];
    let exited: number | undefined;
    const drain = new Drain({
      calls: hh.calls,
      timeoutMs: 60_000,
      log,
      stop: async () => void order.push("stop"),
      exit: (code) => (exited = code),
      stepTimeoutMs: 300,
      pollMs: 20,
    });
    drain.onBeforeExit("call events", () => hh.calls.events.flush());
    drain.onBeforeExit("a", () => void order.push(`a saw ${seen.at(-1)}`));
    drain.onBeforeExit("b", () => {
      throw new Error("records store down");
    });
    drain.onBeforeExit("c", () => new Promise<void>(() => {}));
    drain.onBeforeExit("d", async () => void order.push("d"));

    const c = await dial(hh, "HD_drain_wait");
    drain.signal("SIGTERM");
    expect(drain.draining).toBe(true);
    expect(drain.state).toBe("draining");
    await Bun.sleep(200);
    expect(exited).toBeUndefined(); // the call is still up
    expect(order).toEqual([]);
    c.ws.close();
    await until(() => exited !== undefined, "exit", 5000);
    expect(exited).toBe(0);
    // The ended event reached observers before the next flusher ran.
    expect(order).toEqual(["a saw ended", "d", "stop"]);
    const text = lines.join("");
    expect(text).toContain('"flusher":"b"');
    expect(text).toContain("drain: flush failed");
    expect(text).toContain("drain: flush timed out");
    expect(text).toContain('"activeCalls":1');
    expect(text).toContain('"how":"drained"');
  });

  test("waits for a call whose webhook was answered but whose socket has not come yet", async () => {
    await using h = await startHarness();
    let exited: number | undefined;
    const drain = new Drain({ calls: h.calls, timeoutMs: 60_000, log: captureLog().log, stop: async () => {}, exit: (c) => (exited = c), pollMs: 20 });
    const url = await h.streamUrlFor("HD_drain_pending");
    expect(h.calls.pendingCalls).toBe(1);
    drain.signal("SIGTERM");
    await Bun.sleep(200);
    expect(exited).toBeUndefined();
    const c = await new Caller(url).open(); // the audio socket arrives during the drain
    await until(() => h.calls.activeCalls === 1, "call up");
    await Bun.sleep(100);
    expect(exited).toBeUndefined();
    c.ws.close();
    await until(() => exited !== undefined, "exit", 5000);
    expect(exited).toBe(0);
  });

  test("a second signal during the goodbyes (after the drain timeout) hangs up at once instead of waiting", async () => {
    await using h = await startHarness({}, { greetingMs: 10000 }); // a goodbye that would take 10 s
    const hh = h;
    const { log, lines } = captureLog();
    let exited: number | undefined;
    const drain = new Drain({ calls: hh.calls, timeoutMs: 0, log, stop: async () => {}, exit: (c) => (exited = c), pollMs: 20 });
    const c = await dial(hh, "HD_drain_force");
    drain.signal("SIGTERM");
    await until(() => hh.standin.live()[0]?.texts.length === 1, "goodbye asked for");
    expect(drain.state).toBe("ending");
    await until(() => c.audioMs() > 100, "goodbye playing", 5000);
    drain.signal("SIGTERM");
    await until(() => exited !== undefined, "exit", 5000);
    expect(exited).toBe(0);
    await until(() => c.closed !== undefined, "caller socket closed");
    expect(c.audioMs()).toBeLessThan(5000); // cut well before the 10 s goodbye ended
    expect(lines.join("")).toContain("drain: second signal");
    drain.signal("SIGTERM"); // a third one changes nothing
    expect(lines.join("")).toContain("already stopping");
  });

  test("past the drain timeout no call is started: a new webhook gets 503 and leaves no claim, so another instance may take it", async () => {
    await using h = await startHarness({}, { greetingMs: 10000 }); // the goodbye keeps the call up
    const hh = h;
    let exited: number | undefined;
    const drain = new Drain({
      calls: hh.calls,
      requests: hh.relay.requests,
      stopAdmitting: () => hh.admission.close(),
      timeoutMs: 0,
      log: captureLog().log,
      stop: async () => {},
      exit: (c) => (exited = c),
      pollMs: 20,
    });
    const c = await dial(hh, "HD_drain_late");
    drain.signal("SIGTERM");
    await until(() => drain.state === "ending", "drain timeout");
    const res = await hh.post("/voice", "sessionId=HD_drain_latecomer&callerNumber=%2B254700000001");
    expect(res.status).toBe(503);
    expect(await hh.records.store.getCall("HD_drain_latecomer")).toBeUndefined();
    // A repeat POST for the call in progress is still a repeat, not a 503.
    const repeat = await hh.post("/voice", "sessionId=HD_drain_late&callSessionState=StreamStarted");
    expect(await repeat.text()).toContain("<Response/>");
    expect(exited).toBeUndefined();
    drain.signal("SIGTERM");
    await until(() => exited !== undefined, "exit", 5000);
    c.ws.close();
  });
});
