// Long-call machinery against the stand-in: goAway rotation (overlap, close-first, overlap refused → close-first),
// reconnect after unexpected closes, 1007/1008 handling, reconnect budget.
import { describe, expect, test } from "bun:test";
import { cleanupAfterEach } from "../support/cleanup.ts";
import type { LiveSession } from "../../src/gemini/session.ts";
import {
  INTERNAL_REASON,
  INVALID_ARGUMENT,
  SESSION_NOT_FOUND_REASON,
  StandinServer,
  type StandinOptions,
} from "../support/gemini-spy.ts";
import { makeSession, readSeq, recorder, seqChunk, until } from "./helpers.ts";

const defer = cleanupAfterEach();

/** Stand-in that records, per socket, the sequence numbers of the caller chunks it received. */
async function standin(opts: Partial<StandinOptions> = {}) {
  const seen = new Map<number, number[]>();
  const lastAudioAt = new Map<number, number>();
  const srv = new StandinServer({
    ...opts,
    onCallerAudio: (ss, pcm, at) => {
      const list = seen.get(ss.id) ?? [];
      list.push(readSeq(pcm));
      seen.set(ss.id, list);
      lastAudioAt.set(ss.id, at);
    },
  });
  const url = await srv.start();
  defer(() => srv.stop());
  const all = () => srv.sessions.flatMap((ss) => seen.get(ss.id) ?? []);
  return { srv, url, seen, all, lastAudioAt };
}

/** Sends numbered 20 ms chunks continuously (every few ms) until at least `min` went out and `until()` holds. */
function pump(s: LiveSession, min: number, cond: () => boolean = () => true) {
  const state = { sent: 0, done: Promise.resolve() };
  state.done = (async () => {
    while (state.sent < min || !cond()) {
      if (state.sent >= 1023) throw new Error("pump ran out of sequence numbers");
      s.sendAudio(seqChunk(state.sent++));
      await Bun.sleep(3);
    }
  })();
  return state;
}

function track(s: LiveSession): LiveSession {
  defer(() => s.close());
  return s;
}

async function rotationRun(rotation: "overlap" | "close-first", opts: Partial<StandinOptions>) {
  // A slow handshake (50 ms ≫ the 3 ms pump interval) so frames written to the wrong socket would show.
  const st = await standin({ setupDelayMs: 50, ...opts });
  const s = track(makeSession(st.url, { rotation, greeting: "Say hello." }));
  const r = recorder();
  s.attach(r.handlers);
  await s.start();
  const first = st.srv.sessions[0]!;
  const p = pump(s, 400, () => st.srv.sessions.some((x) => x.id > 1 && x.ready) && s.state === "ready");
  await until(() => p.sent >= 100, "100 chunks out");
  const handlesBefore = first.handlesIssued.length;
  first.goAway(4000);
  await p.done;
  await until(() => st.all().length === p.sent, `all ${p.sent} chunks received`);
  return { ...st, s, r, first, sent: p.sent, handlesBefore };
}

function expectNoLoss(all: number[], sent: number) {
  expect(all.length).toBe(sent);
  expect(all).toEqual(Array.from({ length: sent }, (_, i) => i)); // in order, none missing, none duplicated
}

describe("goAway rotation", () => {
  test("overlap: new socket resumes with the handle, zero caller frames lost, greeting not resent", async () => {
    const { srv, seen, all, s, first, sent, lastAudioAt } = await rotationRun("overlap", {});
    expect(srv.sessions.length).toBe(2);
    const second = srv.sessions[1]!;
    expectNoLoss(all(), sent);
    // Writing to the old socket stopped before the new one was set up (the old one stays open meanwhile).
    expect(lastAudioAt.get(1)!).toBeLessThan(second.setupAtMs);
    expect(seen.get(1)!.length).toBeGreaterThan(0);
    expect(seen.get(2)!.length).toBeGreaterThan(0);
    // The resume used a handle the first socket issued, and the newest resumable one at that.
    expect(second.resumedWith).toBe(first.handlesIssued.at(-1)!);
    expect((second.setup!.sessionResumption as { handle: string }).handle).toBe(second.resumedWith!);
    expect(second.conversationId).toBe(first.conversationId);
    // We closed the old socket ourselves, before the stand-in's deadline.
    await until(() => first.closed !== undefined, "old socket closed");
    expect(first.closed!.by).toBe("client");
    expect(first.texts).toEqual(["Say hello."]);
    expect(second.texts).toEqual([]);
    expect(second.beforeReady).toBe(0);
    expect(s.stats().rotations).toBe(1);
    expect(s.stats().reconnects).toBe(0);
    expect(s.stats().greetings).toBe(1);
  });

  test("close-first: old socket closed before the new one opens, zero frames lost", async () => {
    const { srv, all, first, sent, s } = await rotationRun("close-first", {});
    expect(srv.sessions.length).toBe(2);
    expectNoLoss(all(), sent);
    expect(first.closed!.by).toBe("client");
    expect(srv.sessions[1]!.resumedWith).toBe(first.handlesIssued.at(-1)!);
    expect(s.stats().overlapFallbacks).toBe(0);
  });

  test("overlap refused with 1011 (rejectOverlappingResume) → falls back to close-first, zero frames lost", async () => {
    const { srv, all, first, sent, s } = await rotationRun("overlap", { rejectOverlappingResume: true });
    expect(srv.sessions.length).toBe(3);
    const [, refused, third] = srv.sessions;
    expect(refused!.closed).toEqual({ code: 1011, reason: INTERNAL_REASON, by: "server" });
    expect(refused!.audioFrames).toBe(0);
    expect(refused!.resumedWith).toBe(first.handlesIssued.at(-1)!);
    expect(third!.resumedWith).toBe(refused!.resumedWith!);
    expect(third!.ready).toBe(true);
    expectNoLoss(all(), sent);
    expect(s.stats().overlapFallbacks).toBe(1);
    expect(s.state).toBe("ready");
  });

  test("lifetime option: goAway arrives by itself and the session rotates before the 1011 deadline", async () => {
    const { srv, url } = await standin({ lifetimeMs: 1500, goAwayMs: 1000 });
    const s = track(makeSession(url));
    await s.start();
    await until(() => srv.sessions.length === 2 && srv.sessions[1]!.ready, "rotated");
    expect(srv.sessions[0]!.sent).toContain("goAway");
    await until(() => srv.sessions[0]!.closed !== undefined, "old closed");
    expect(srv.sessions[0]!.closed!.by).toBe("client");
    expect(s.stats().reconnects).toBe(0);
  });
});

describe("goAway while the model is generating", () => {
  test("no fresh handle before the deadline → rotates at timeLeft minus the margin, with the last resumable handle", async () => {
    const { srv, url } = await standin({ burstIntervalMs: 200 });
    const s = track(makeSession(url, { goAwayMarginMs: 300 }));
    await s.start();
    const first = srv.sessions[0]!;
    const idleHandle = first.handlesIssued.at(-1)!;
    first.speak({ ms: 10000 }); // 100 bursts at 200 ms: generating (resumable:false) for 20 s
    await until(() => first.sent.filter((k) => k === "serverContent").length >= 1, "generating");
    first.goAway(1000);
    await Bun.sleep(150);
    expect(srv.sessions.length).toBe(1); // not idle: waits for a fresh handle or the deadline
    await until(() => srv.sessions.length === 2 && srv.sessions[1]!.ready, "rotated at the deadline");
    expect(srv.sessions[1]!.resumedWith).toBe(idleHandle);
    expect(first.closed?.code ?? 0).not.toBe(1011); // we moved before the server's deadline close
    await until(() => first.closed !== undefined, "old closed");
    expect(first.closed!.by).toBe("client");
  });

  test("a fresh resumable handle after goAway triggers the rotation before the deadline", async () => {
    const { srv, url } = await standin({ burstIntervalMs: 10, waitForPlayback: false });
    const s = track(makeSession(url, { goAwayMarginMs: 1000 }));
    await s.start();
    const first = srv.sessions[0]!;
    first.speak({ ms: 2000 }); // 20 bursts at 10 ms, then turnComplete + fresh handle
    await until(() => first.isGenerating, "generating");
    first.goAway(30000); // deadline far away (29 s)
    await until(() => srv.sessions.length === 2 && srv.sessions[1]!.ready, "rotated on the fresh handle");
    expect(srv.sessions[1]!.resumedWith).toBe(first.handlesIssued.at(-1)!);
    expect(first.handlesIssued.length).toBe(2);
  });
});

describe("between sockets", () => {
  /** Session up on the stand-in, then every later socket is held in its handshake, so the state stays put. */
  async function held() {
    const { srv, url } = await standin();
    const s = track(makeSession(url));
    await s.start();
    srv.opts.setupDelayMs = 60000;
    return { srv, s };
  }

  async function expectBetween(srv: StandinServer, s: LiveSession) {
    await until(() => srv.sessions.length === 2 && srv.sessions[1]!.setup !== undefined, "second socket in its handshake");
    s.sendAudio(seqChunk(1));
    expect(s.stats().queueBytes).toBe(640); // queued for the next socket
    expect(s.resume("model silent")).toBe(true); // a fresh socket is already on its way
    await Bun.sleep(50);
    expect(srv.sessions.length).toBe(2);
    expect(s.stats().stallResumes).toBe(0);
  }

  test("a goAway rotation reads rotating", async () => {
    const { srv, s } = await held();
    srv.sessions[0]!.goAway(4000);
    await until(() => s.state !== "ready", "rotation started");
    expect(s.state).toBe("rotating");
    await expectBetween(srv, s);
    expect(s.state).toBe("rotating");
  });

  test("an unexpected close reads reconnecting, not rotating", async () => {
    const { srv, s } = await held();
    srv.sessions[0]!.close(1011, INTERNAL_REASON);
    await until(() => s.state !== "ready", "close seen");
    expect(s.state).toBe("reconnecting");
    await expectBetween(srv, s);
    expect(s.state).toBe("reconnecting");
    expect(s.stats().reconnects).toBe(1);
  });
});

describe("unexpected closes", () => {
  test("the reconnect budget resets after a stable period", async () => {
    const { srv, url } = await standin();
    const s = track(makeSession(url, { maxReconnects: 1, stableMs: 100 }));
    const r = recorder();
    s.attach(r.handlers);
    await s.start();
    for (let k = 0; k < 3; k++) {
      srv.sessions[k]!.close(1011, INTERNAL_REASON);
      await until(() => srv.sessions.length === k + 2 && srv.sessions[k + 1]!.ready, `reconnect ${k + 1}`);
      await Bun.sleep(300); // > stableMs
    }
    expect(r.failed).toEqual([]);
    expect(s.stats().reconnects).toBe(3);
  });

  test("without a stable period the budget holds: a second drop right after a reconnect fails", async () => {
    const { srv, url } = await standin();
    const s = track(makeSession(url, { maxReconnects: 1, stableMs: 60000 }));
    const r = recorder();
    s.attach(r.handlers);
    await s.start();
    srv.sessions[0]!.close(1011, INTERNAL_REASON);
    await until(() => srv.sessions.length === 2 && srv.sessions[1]!.ready, "reconnect");
    srv.sessions[1]!.close(1011, INTERNAL_REASON);
    await until(() => r.failed.length === 1, "failed");
    expect(r.failed[0]!.code).toBe(1011);
    expect(srv.sessions.length).toBe(2);
  });

  test("1011 mid-call → reconnect with the latest handle; audio keeps flowing in order", async () => {
    const { srv, url, all } = await standin();
    const s = track(makeSession(url));
    const r = recorder();
    s.attach(r.handlers);
    await s.start();
    const p = pump(s, 300, () => srv.sessions.length === 2 && s.state === "ready");
    await until(() => p.sent >= 80, "80 chunks");
    const first = srv.sessions[0]!;
    first.close(1011, INTERNAL_REASON);
    await p.done;
    await until(() => all().at(-1) === p.sent - 1, "last chunk arrived");
    const got = all();
    // Chunks in flight when the server hung up are gone (no replay on the Developer API); none duplicated/reordered.
    for (let i = 1; i < got.length; i++) expect(got[i]!).toBeGreaterThan(got[i - 1]!);
    expect(srv.sessions[1]!.resumedWith).toBe(first.handlesIssued.at(-1)!);
    expect(s.stats().reconnects).toBe(1);
    expect(r.failed).toEqual([]);
    expect(s.state).toBe("ready");
  });

  test("1007 → no retry (exactly one connection attempt) and failed fires once", async () => {
    const { srv, url } = await standin();
    const s = track(makeSession(url, { maxReconnects: 5 }));
    const r = recorder();
    s.attach(r.handlers);
    await s.start();
    srv.sessions[0]!.close(1007, INVALID_ARGUMENT);
    await until(() => r.failed.length === 1, "failed");
    await Bun.sleep(300);
    expect(srv.sessions.length).toBe(1);
    expect(r.failed).toEqual([{ reason: `1007 ${INVALID_ARGUMENT}`, code: 1007 }]);
    expect(s.state).toBe("failed");
    expect(s.stats().reconnects).toBe(0);
    s.sendAudio(seqChunk(1));
    expect(s.stats().droppedClosed).toBe(1);
  });

  test("1008 session not found mid-call → one fresh session (no handle); a second one → failed", async () => {
    const { srv, url } = await standin();
    const s = track(makeSession(url));
    const r = recorder();
    s.attach(r.handlers);
    await s.start();
    srv.sessions[0]!.close(1008, SESSION_NOT_FOUND_REASON);
    await until(() => srv.sessions.length === 2 && srv.sessions[1]!.ready, "fresh session");
    expect(srv.sessions[1]!.resumedWith).toBeUndefined();
    expect(srv.sessions[1]!.setup!.sessionResumption).toEqual({});
    expect(srv.sessions[1]!.conversationId).not.toBe(srv.sessions[0]!.conversationId);
    expect(s.stats().freshSessions).toBe(1);
    srv.sessions[1]!.close(1008, "Requested entity was not found.");
    await until(() => r.failed.length === 1, "failed");
    await Bun.sleep(200);
    expect(srv.sessions.length).toBe(2);
    expect(r.failed[0]!.code).toBe(1008);
  });

  test("resume with a handle the server forgot → 1008 → fresh session", async () => {
    const { srv, url } = await standin();
    const s = track(makeSession(url));
    await s.start();
    srv.forgetHandles();
    srv.sessions[0]!.close(1011, INTERNAL_REASON);
    await until(() => srv.sessions.length === 3 && srv.sessions[2]!.ready, "fresh session after 1008");
    expect(srv.sessions[1]!.resumedWith).toBeDefined();
    expect(srv.sessions[1]!.closed).toEqual({ code: 1008, reason: SESSION_NOT_FOUND_REASON, by: "server" });
    expect(srv.sessions[2]!.resumedWith).toBeUndefined();
    expect(s.state).toBe("ready");
  });

  test("server gone: reconnects are bounded by maxReconnects, then failed once", async () => {
    const { srv, url } = await standin();
    const s = track(makeSession(url, { maxReconnects: 2, reconnectBaseMs: 10 }));
    const r = recorder();
    s.attach(r.handlers);
    await s.start();
    await srv.stop();
    await until(() => r.failed.length === 1, "failed", 15000);
    await Bun.sleep(200);
    expect(r.failed.length).toBe(1);
    expect(s.stats().reconnects).toBe(2);
    expect(s.stats().connections).toBe(3);
  });

  test("1000 from the server mid-call (not initiated by us) → reconnect", async () => {
    const { srv, url } = await standin();
    const s = track(makeSession(url));
    await s.start();
    srv.sessions[0]!.close(1000, "");
    await until(() => srv.sessions.length === 2 && srv.sessions[1]!.ready, "reconnected");
    expect(srv.sessions[1]!.resumedWith).toBe(srv.sessions[0]!.handlesIssued.at(-1)!);
  });
});
