// The connection rotator alone: fake sockets driven by hand and a fake clock, so every state, timer and budget is
// checked exactly (no wall-clock waits). The same machinery against real sockets is rotation.test.ts.
import { describe, expect, test } from "bun:test";
import { FakeClock } from "../support/fake-clock.ts";
import { silentLog } from "../support/log.ts";
import {
  CLOSE_ABNORMAL,
  CLOSE_BAD_GATEWAY,
  CLOSE_GOING_AWAY,
  CLOSE_INTERNAL_ERROR,
  CLOSE_INVALID_PAYLOAD,
  CLOSE_NORMAL,
  CLOSE_POLICY_VIOLATION,
  CLOSE_SERVICE_RESTART,
  CLOSE_TRY_AGAIN_LATER,
  CODE_CONNECT_TIMEOUT,
  CODE_SETUP_TIMEOUT,
} from "../../src/gemini/connection.ts";
import { classify, Rotator, type RotationSettings, type RotatorSocket } from "../../src/gemini/rotator.ts";
import { newLiveCounters } from "../../src/gemini/stats.ts";

const NOT_FOUND = "BidiGenerateContent session not found";

/** A socket as the rotator sees one. close() ends it on a microtask, like a server answering the Close frame,
 *  unless `holdClose` is set; then it ends when the test calls end(). */
class FakeSocket implements RotatorSocket {
  opened = false;
  ended = false;
  holdClose = false;
  readonly closeCalls: Array<{ code: number; reason: string }> = [];
  private waiters: Array<() => void> = [];

  constructor(
    readonly id: number,
    readonly handle: string | undefined,
    private readonly rot: () => Rotator<FakeSocket>,
  ) {}

  open(): void {
    this.opened = true;
  }

  close(code: number, reason: string): Promise<void> {
    this.closeCalls.push({ code, reason });
    if (this.ended) return Promise.resolve();
    const done = new Promise<void>((r) => this.waiters.push(r));
    if (!this.holdClose) queueMicrotask(() => this.end(code, reason));
    return done;
  }

  /** The socket ends (the server closed it, or our close completed); `byUs` as LiveConnection reports it. */
  end(code: number, reason: string): void {
    if (this.ended) return;
    this.ended = true;
    for (const w of this.waiters.splice(0)) w();
    this.rot().closed(this, code, reason, this.closeCalls.length > 0);
  }
}

function harness(over: Partial<RotationSettings> = {}) {
  const clock = new FakeClock();
  const counters = newLiveCounters();
  const sockets: FakeSocket[] = [];
  const ready: Array<{ id: number; resumed: boolean }> = [];
  const failed: Array<{ reason: string; code: number }> = [];
  const rot: Rotator<FakeSocket> = new Rotator<FakeSocket>(
    { rotation: "overlap", maxReconnects: 3, reconnectBaseMs: 100, reconnectMaxMs: 400, log: silentLog, counters, timers: clock, ...over },
    {
      dial: (id, handle) => {
        const s = new FakeSocket(id, handle, () => rot);
        sockets.push(s);
        return s;
      },
      ready: (conn, resumed) => void ready.push({ id: conn.id, resumed }),
      failed: (reason, code) => void failed.push({ reason, code }),
    },
  );
  const last = () => sockets.at(-1)!;
  /** setupComplete on the newest socket, then a resumable handle from it (the stand-in's order). */
  const up = (handle?: string) => {
    const s = last();
    rot.setupComplete(s);
    if (handle !== undefined) rot.control(s, { sessionResumptionUpdate: { newHandle: handle, resumable: true } });
    return s;
  };
  return { rot, clock, counters, sockets, ready, failed, last, up };
}

/** Lets close() promises and the work awaiting them run (no time passes on the fake clock). */
const settle = () => new Promise<void>((r) => setImmediate(r));

const busy = { sessionResumptionUpdate: { resumable: false } };
const goAway = (timeLeft?: string) => ({ goAway: timeLeft === undefined ? {} : { timeLeft } });

describe("classify", () => {
  test("each named code falls in its class", () => {
    for (const c of [CLOSE_NORMAL, CLOSE_GOING_AWAY, CLOSE_ABNORMAL, CLOSE_INTERNAL_ERROR, CLOSE_SERVICE_RESTART, CLOSE_TRY_AGAIN_LATER, CLOSE_BAD_GATEWAY]) {
      expect(classify(c, "")).toBe("transient");
    }
    expect([CODE_CONNECT_TIMEOUT, CODE_SETUP_TIMEOUT, 4900, 4999].map((c) => classify(c, ""))).toEqual(["transient", "transient", "transient", "transient"]);
    expect(classify(CLOSE_INVALID_PAYLOAD, "Request contains an invalid argument.")).toBe("fatal");
    expect(classify(CLOSE_POLICY_VIOLATION, "models/x is not found for API version v1beta")).toBe("fatal");
    expect(classify(CLOSE_POLICY_VIOLATION, NOT_FOUND)).toBe("not-found");
    expect(classify(CLOSE_POLICY_VIOLATION, "Requested entity was not found.")).toBe("not-found");
    // "not found" counts only with 1008, and codes nobody listed are fatal.
    expect(classify(CLOSE_INTERNAL_ERROR, NOT_FOUND)).toBe("transient");
    expect([1002, 1003, 4000, 4899, 5000].map((c) => classify(c, ""))).toEqual(["fatal", "fatal", "fatal", "fatal", "fatal"]);
  });
});

describe("first socket", () => {
  test("connecting → ready: one socket, no handle; a second start() opens nothing", () => {
    const h = harness();
    expect(h.rot.state).toBe("connecting");
    h.rot.start();
    h.rot.start();
    expect(h.sockets.map((s) => [s.id, s.handle, s.opened])).toEqual([[1, undefined, true]]);
    expect(h.rot.active).toBeUndefined();
    const s = h.up("h1");
    expect(h.rot.state).toBe("ready");
    expect(h.rot.active).toBe(s);
    expect(h.ready).toEqual([{ id: 1, resumed: false }]);
    expect(h.counters.connections).toBe(1);
  });

  test("a first handshake that fails, even transiently, fails at once: nothing to resume", () => {
    const h = harness();
    h.rot.start();
    h.last().end(CLOSE_INTERNAL_ERROR, "Internal error");
    expect(h.rot.state).toBe("failed");
    expect(h.failed).toEqual([{ reason: "setup failed: 1011 Internal error", code: CLOSE_INTERNAL_ERROR }]);
    h.clock.advance(60000);
    expect(h.sockets.length).toBe(1);
    expect(h.counters.reconnects).toBe(0);
  });
});

describe("goAway", () => {
  test("while the model is busy: rotates at timeLeft − margin with the last resumable handle, overlapping", () => {
    const h = harness({ goAwayMarginMs: 1000 });
    h.rot.start();
    const old = h.up("h1");
    h.rot.control(old, busy);
    h.rot.control(old, goAway("5s"));
    expect(h.counters.goAways).toBe(1);
    h.clock.advance(3999);
    expect(h.rot.state).toBe("ready");
    expect(h.sockets.length).toBe(1);
    h.clock.advance(1);
    expect(h.rot.state).toBe("rotating");
    expect(h.rot.active).toBeUndefined(); // caller audio is queued from here on
    expect(h.sockets.map((s) => s.handle)).toEqual([undefined, "h1"]);
    expect(old.closeCalls).toEqual([]); // overlap: the old one stays up until the new one is set up
    const next = h.up("h2");
    expect(h.rot.state).toBe("ready");
    expect(h.rot.active).toBe(next);
    expect(old.closeCalls).toEqual([{ code: CLOSE_NORMAL, reason: "rotated" }]);
    expect(h.ready.at(-1)).toEqual({ id: 2, resumed: true });
    expect(h.counters.rotations).toBe(1);
    expect(h.clock.pending).toBe(1); // only the stable timer: the goAway deadline went with the rotation
  });

  test("the margin is capped at half of timeLeft; an unreadable timeLeft counts as 10 s", () => {
    const a = harness({ goAwayMarginMs: 5000 });
    a.rot.start();
    a.rot.control(a.up(), goAway("4s"));
    a.clock.advance(1999);
    expect(a.rot.state).toBe("ready");
    a.clock.advance(1);
    expect(a.rot.state).toBe("rotating");

    const b = harness({ goAwayMarginMs: 2000 });
    b.rot.start();
    b.rot.control(b.up(), goAway("soon"));
    b.clock.advance(7999);
    expect(b.rot.state).toBe("ready");
    b.clock.advance(1);
    expect(b.rot.state).toBe("rotating");
  });

  test("idle with a fresh handle: rotates on the next tick, not at the deadline", () => {
    const h = harness();
    h.rot.start();
    const s = h.up("h1");
    h.rot.control(s, goAway("50s"));
    expect(h.rot.state).toBe("ready"); // never inside the receive path
    h.clock.advance(0);
    expect(h.rot.state).toBe("rotating");
    expect(h.last().handle).toBe("h1");
  });

  test("busy at goAway, then a fresh handle: rotates then, before the deadline", () => {
    const h = harness();
    h.rot.start();
    const s = h.up("h1");
    h.rot.control(s, busy);
    h.rot.control(s, goAway("50s"));
    h.clock.advance(1000);
    expect(h.rot.state).toBe("ready");
    h.rot.control(s, { sessionResumptionUpdate: { newHandle: "h2", resumable: true } });
    h.clock.advance(0);
    expect(h.rot.state).toBe("rotating");
    expect(h.last().handle).toBe("h2");
  });

  test("messages from a socket that is not current are ignored (no goAway counted, no handle taken)", async () => {
    const h = harness();
    h.rot.start();
    const old = h.up("h1");
    expect(h.rot.resume("test")).toBe(true);
    h.rot.control(old, { sessionResumptionUpdate: { newHandle: "stale", resumable: true } });
    h.rot.control(old, goAway("1s"));
    expect(h.counters.goAways).toBe(0);
    const next = h.up();
    await settle();
    expect(h.rot.resume("again")).toBe(true);
    expect(h.last().handle).toBe("h1");
    expect(next).not.toBe(h.last());
  });
});

describe("rotation order", () => {
  test("close-first: the new socket opens only after the old one has ended", async () => {
    const h = harness({ rotation: "close-first" });
    h.rot.start();
    const old = h.up("h1");
    old.holdClose = true;
    expect(h.rot.resume("test")).toBe(true);
    await settle();
    expect(old.closeCalls).toEqual([{ code: CLOSE_NORMAL, reason: "rotating" }]);
    expect(h.sockets.length).toBe(1);
    old.end(CLOSE_NORMAL, "rotating");
    await settle();
    expect(h.sockets.length).toBe(2);
    expect(h.last().handle).toBe("h1");
    h.up();
    expect(h.rot.state).toBe("ready");
  });

  test("overlap refused with 1011 while the old socket is open → close-first retry, still rotating", async () => {
    const h = harness();
    h.rot.start();
    const old = h.up("h1");
    h.rot.resume("test");
    h.last().end(CLOSE_INTERNAL_ERROR, "Internal error encountered.");
    expect(h.counters.overlapFallbacks).toBe(1);
    expect(h.rot.state).toBe("rotating");
    await settle();
    expect(old.ended).toBe(true);
    expect(h.sockets.length).toBe(3);
    expect(h.last().handle).toBe("h1");
    h.up();
    expect(h.rot.state).toBe("ready");
    expect(h.counters.reconnects).toBe(0);
  });

  test("the rotation's new socket failing for another reason → reconnecting (a failure, not a planned switch)", () => {
    const h = harness();
    h.rot.start();
    h.up("h1");
    h.rot.resume("test");
    h.last().end(CLOSE_ABNORMAL, "");
    expect(h.rot.state).toBe("reconnecting");
    expect(h.counters.reconnects).toBe(1);
    h.clock.advance(0);
    expect(h.sockets.length).toBe(3);
  });
});

describe("reconnecting after a failure", () => {
  test("an unexpected close → reconnecting: first try at once, then base·2^(n−1) capped at max, then failed", () => {
    const h = harness({ maxReconnects: 4, reconnectBaseMs: 100, reconnectMaxMs: 300 });
    h.rot.start();
    const s = h.up("h1");
    s.end(CLOSE_INTERNAL_ERROR, "Internal error");
    expect(h.rot.state).toBe("reconnecting");
    expect(h.rot.active).toBeUndefined();
    for (const delay of [0, 100, 200, 300]) {
      const before = h.sockets.length;
      if (delay > 0) {
        h.clock.advance(delay - 1);
        expect(h.sockets.length).toBe(before);
      }
      h.clock.advance(delay > 0 ? 1 : 0);
      expect(h.sockets.length).toBe(before + 1);
      expect(h.last().handle).toBe("h1");
      h.last().end(CLOSE_ABNORMAL, "");
    }
    expect(h.rot.state).toBe("failed");
    expect(h.failed).toEqual([{ reason: "gave up after 4 reconnects; last close 1006", code: CLOSE_ABNORMAL }]);
    expect(h.counters.reconnects).toBe(4);
  });

  test("a socket that stays up for stableMs earns the budget back; one that does not, does not", () => {
    const h = harness({ maxReconnects: 1, stableMs: 1000 });
    h.rot.start();
    h.up("h1");
    for (let k = 0; k < 3; k++) {
      h.last().end(CLOSE_INTERNAL_ERROR, "");
      h.clock.advance(0);
      h.up();
      h.clock.advance(1000);
    }
    expect(h.failed).toEqual([]);
    expect(h.counters.reconnects).toBe(3);
    h.last().end(CLOSE_INTERNAL_ERROR, "");
    h.clock.advance(0);
    h.up();
    h.clock.advance(999);
    h.last().end(CLOSE_INTERNAL_ERROR, "");
    expect(h.rot.state).toBe("failed");
  });

  test("fatal close mid-call → failed at once, no socket dialled", () => {
    const h = harness();
    h.rot.start();
    h.up("h1").end(CLOSE_INVALID_PAYLOAD, "Request contains an invalid argument.");
    expect(h.rot.state).toBe("failed");
    expect(h.failed).toEqual([{ reason: "1007 Request contains an invalid argument.", code: CLOSE_INVALID_PAYLOAD }]);
    h.clock.advance(60000);
    expect(h.sockets.length).toBe(1);
  });

  test("session not found → one fresh session without the handle; a second → failed", async () => {
    const h = harness();
    h.rot.start();
    h.up("h1").end(CLOSE_POLICY_VIOLATION, NOT_FOUND);
    expect(h.rot.state).toBe("reconnecting");
    await settle();
    expect(h.sockets.length).toBe(2);
    expect(h.last().handle).toBeUndefined();
    expect(h.counters.freshSessions).toBe(1);
    h.up("fresh1");
    h.last().end(CLOSE_POLICY_VIOLATION, "Requested entity was not found.");
    expect(h.rot.state).toBe("failed");
    expect(h.failed[0]!.reason).toBe("session not found: 1008 Requested entity was not found.");
  });

  test("a resume the server refuses as not found (handshake) → fresh session", async () => {
    const h = harness();
    h.rot.start();
    h.up("h1").end(CLOSE_INTERNAL_ERROR, "");
    h.clock.advance(0);
    expect(h.last().handle).toBe("h1");
    h.last().end(CLOSE_POLICY_VIOLATION, NOT_FOUND);
    expect(h.rot.state).toBe("reconnecting");
    await settle();
    expect(h.last().handle).toBeUndefined();
    h.up();
    expect(h.rot.state).toBe("ready");
  });
});

describe("resume()", () => {
  test("false without a handle; true when ready with one (a rotation), and while rotating or reconnecting without opening more", () => {
    const h = harness();
    h.rot.start();
    expect(h.rot.resume("too early")).toBe(false); // connecting
    const s = h.up();
    expect(h.rot.resume("no handle")).toBe(false);
    h.rot.control(s, { sessionResumptionUpdate: { newHandle: "h1", resumable: true } });
    expect(h.rot.resume("stall")).toBe(true);
    expect(h.rot.state).toBe("rotating");
    expect(h.counters.stallResumes).toBe(1);
    expect(h.rot.resume("again")).toBe(true);
    expect(h.sockets.length).toBe(2);
    h.up("h2");
    h.last().end(CLOSE_INTERNAL_ERROR, "");
    expect(h.rot.state).toBe("reconnecting");
    expect(h.rot.resume("while reconnecting")).toBe(true);
    expect(h.sockets.length).toBe(2); // the reconnect timer (0 ms) has not fired yet
    expect(h.counters).toMatchObject({ stallResumes: 1, rotations: 1, reconnects: 1 });
    h.clock.advance(0);
    expect(h.sockets.length).toBe(3);
  });

  test("false once closed or failed", () => {
    const a = harness();
    a.rot.start();
    a.up("h1");
    expect(a.rot.end()).toBe(true);
    expect(a.rot.resume("closed")).toBe(false);
    expect(a.rot.end()).toBe(false);

    const b = harness();
    b.rot.start();
    b.up("h1").end(CLOSE_INVALID_PAYLOAD, "");
    expect(b.rot.resume("failed")).toBe(false);
    expect(b.rot.end()).toBe(false);
    expect(b.rot.state).toBe("failed");
  });
});

describe("closing", () => {
  test("closeAll closes every socket and cancels every timer; late events change nothing", async () => {
    const h = harness();
    h.rot.start();
    const old = h.up("h1");
    h.rot.control(old, busy);
    h.rot.control(old, goAway("50s"));
    h.rot.resume("stall"); // rotating: old retiring, a new one pending
    const pending = h.last();
    expect(h.rot.end()).toBe(true);
    await h.rot.closeAll("call ended");
    expect(h.rot.state).toBe("closed");
    expect(old.closeCalls).toEqual([{ code: CLOSE_NORMAL, reason: "call ended" }]);
    expect(pending.closeCalls).toEqual([{ code: CLOSE_NORMAL, reason: "call ended" }]);
    expect(h.clock.pending).toBe(0);
    h.rot.setupComplete(pending); // a setupComplete already on its way
    expect(pending.closeCalls.at(-1)).toEqual({ code: CLOSE_NORMAL, reason: "not needed" });
    expect(h.ready.length).toBe(1);
    h.clock.advance(60000);
    expect(h.sockets.length).toBe(2);
    expect(h.rot.state).toBe("closed");
  });

  test("a reconnect timer that fires after the end opens nothing", async () => {
    const h = harness();
    h.rot.start();
    h.up("h1").end(CLOSE_INTERNAL_ERROR, "");
    h.clock.advance(0);
    h.last().end(CLOSE_ABNORMAL, ""); // second attempt waits 100 ms
    h.rot.end();
    await h.rot.closeAll("call ended");
    h.clock.advance(1000);
    expect(h.sockets.length).toBe(2);
  });
});
