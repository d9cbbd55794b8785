// The console hub and the softphone tickets on their own: bounds, expiry, single use, masking.
import { describe, expect, test } from "bun:test";
import type { Agent } from "../../src/call/agent.ts";
import { CallEventHub, type CallEvent } from "../../src/call/events.ts";
import type { CallManager } from "../../src/call/manager.ts";
import { ConsoleHub } from "../../src/console/hub.ts";
import { showNumber } from "../../src/phone-numbers.ts";
import { SoftphoneTickets } from "../../src/console/softphone.ts";
import { silentLog } from "../support/log.ts";

function hubWith(opts: { recentMax?: number; transcriptMax?: number } = {}) {
  const events = new CallEventHub(silentLog);
  const hub = new ConsoleHub({ events, calls: () => [] } as unknown as CallManager, opts);
  const emit = (e: CallEvent) => {
    events.emit(e);
    events.flush();
  };
  return { hub, emit };
}

const started = (callId: string, at: number): CallEvent => ({ type: "started", callId, at, caller: "+254711222333", callee: "+254700000002", agent: "default", source: "phone", tools: [] });
const ended = (callId: string, at: number): CallEvent => ({
  type: "ended",
  callId,
  reason: "caller_hangup",
  detail: "",
  rejectedTurns: 0,
  at,
  durationMs: 1000,
  agentTurns: 0,
  bargeIns: 0,
  firstAudioMs: undefined,
  audio: { framesIn: 0, framesOut: 0, underrunMs: 0, discardedMs: 0, droppedMs: 0, overflowMs: 0 },
  model: {},
  usage: { tokens: {}, totalTokens: 0 },
});
const said = (callId: string, text: string, final = true): CallEvent => ({ type: "transcript", callId, role: "caller", text, final, startMs: 0, endMs: 1, interrupted: false, heardMs: null });

describe("ConsoleHub", () => {
  test("lists calls in the records API's shape: what is not known yet is null, then filled in when the call ends", () => {
    const { hub, emit } = hubWith();
    emit(started("s", Date.UTC(2026, 10, 30, 9)));
    const iso = "2026-11-30T09:00:00.000Z";
    const { durationMs: liveFor, ...live } = hub.liveCalls(true)[0]!;
    expect(liveFor).toBeGreaterThanOrEqual(0);
    expect(live).toEqual({
      id: "s",
      agent: "default",
      caller: "+254711222333",
      callee: "+254700000002",
      source: "phone",
      direction: "inbound",
      attemptId: null,
      startedAt: iso,
      answeredAt: iso,
      endedAt: null,
      endReason: null,
      agentTurns: null,
      bargeIns: null,
      endDetail: null,
    });
    emit(ended("s", Date.UTC(2026, 10, 30, 9, 0, 1)));
    expect(hub.recentCalls(true, 1).calls[0]).toMatchObject({
      answeredAt: iso,
      endedAt: "2026-11-30T09:00:01.000Z",
      durationMs: 1000,
      endReason: "caller_hangup",
      endDetail: "",
      agentTurns: 0,
      bargeIns: 0,
    });
  });

  test("keeps only the most recent ended calls and the last lines of each transcript", () => {
    const { hub, emit } = hubWith({ recentMax: 2, transcriptMax: 3 });
    for (const [i, id] of ["a", "b", "c"].entries()) {
      emit(started(id, 1000 * i));
      for (let k = 0; k < 5; k++) emit(said(id, `${id}${k}`));
      emit(ended(id, 1000 * i + 500));
    }
    expect(hub.recentCalls(true, 10).calls.map((c) => c.id)).toEqual(["c", "b"]);
    expect(hub.detail("a", true)).toBeUndefined();
    expect(hub.detail("c", true)!.transcript.map((l) => l.text)).toEqual(["c2", "c3", "c4"]);
    expect(hub.liveCalls(true)).toEqual([]);
  });

  test("partial utterances show while live and are gone once final", () => {
    const { hub, emit } = hubWith();
    emit(started("x", 0));
    emit(said("x", "Hel", false));
    expect(hub.detail("x", true)).toMatchObject({ live: true, partial: { caller: "Hel" }, transcript: [] });
    emit(said("x", "Hello"));
    expect(hub.detail("x", true)).toMatchObject({ partial: { caller: undefined }, transcript: [{ text: "Hello" }] });
  });

  test("viewers: masked or whole numbers, transcripts only to the watcher, nothing after unsubscribing", () => {
    const { hub, emit } = hubWith();
    const got: Record<string, Array<[string, any]>> = { masked: [], full: [], watcher: [] };
    const offMasked = hub.watch({ full: false, watch: undefined, send: (e, j) => got.masked!.push([e, JSON.parse(j)]) });
    hub.watch({ full: true, watch: undefined, send: (e, j) => got.full!.push([e, JSON.parse(j)]) });
    hub.watch({ full: false, watch: "x", send: (e, j) => got.watcher!.push([e, JSON.parse(j)]) });
    emit(started("x", 0));
    emit(said("x", "hi"));
    offMasked();
    emit(ended("x", 10));
    expect(got.masked!.map(([e]) => e)).toEqual(["snapshot", "started"]);
    expect(got.masked![1]![1]).toMatchObject({ caller: "…333", callee: "…002" });
    expect(got.full!.map(([e]) => e)).toEqual(["snapshot", "started", "ended"]);
    expect(got.full![1]![1]).toMatchObject({ caller: "+254711222333" });
    expect(got.watcher!.map(([e]) => e)).toEqual(["snapshot", "started", "transcript", "ended"]);
    expect(got.watcher![3]![1].caller).toBe("…333");
    hub.stop();
  });

  test("showNumber masks numbers only", () => {
    expect(showNumber("+254711222333", false)).toBe("…333");
    expect(showNumber("+254711222333", true)).toBe("+254711222333");
    expect(showNumber("browser", false)).toBe("browser");
    expect(showNumber("", false)).toBe("");
  });
});

describe("SoftphoneTickets", () => {
  const who = { caller: "browser", callee: "", agent: { name: "a" } as Agent };

  test("single use, 60 s life, wrong token leaves it alone", () => {
    const t = new SoftphoneTickets(60_000, 10);
    const { token, expiresAt } = t.mint("web-1", who, 1_000);
    expect(expiresAt).toBe(61_000);
    expect(t.claim("web-1", "wrong", 2_000)).toEqual({ ok: false, reason: "mismatch" });
    expect(t.claim("web-2", token, 2_000)).toEqual({ ok: false, reason: "unknown" });
    expect(t.claim("web-1", token, 2_000)).toEqual({ ok: true, parties: who });
    expect(t.claim("web-1", token, 2_000)).toEqual({ ok: false, reason: "unknown" });
    expect(t.take("web-1")).toBe(who);
    expect(t.take("web-1")).toBeUndefined();

    const late = t.mint("web-3", who, 10_000);
    expect(t.claim("web-3", late.token, 70_001)).toEqual({ ok: false, reason: "expired" });
    expect(t.claim("web-3", late.token, 70_001)).toEqual({ ok: false, reason: "unknown" });
  });

  test("bounded: expired tickets go first, then the oldest", () => {
    const t = new SoftphoneTickets(60_000, 3);
    const first = t.mint("w1", who, 0);
    t.mint("w2", who, 50_000);
    t.mint("w3", who, 50_000);
    t.mint("w4", who, 70_000); // w1 expired: pruned, not counted
    expect(t.size).toBe(3);
    t.mint("w5", who, 70_000); // full: w2 (oldest) goes
    expect(t.size).toBe(3);
    expect(t.claim("w1", first.token, 70_000).ok).toBe(false);
    expect(t.claim("w2", "x", 70_000)).toEqual({ ok: false, reason: "unknown" });
  });
});
