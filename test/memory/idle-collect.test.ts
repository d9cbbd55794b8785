// The idle collector's rules, on an injected clock and timer: only with no call active, only after the quiet
// period, only when RSS grew enough since the last collection, at most once per interval; a new call cancels it.
import { describe, expect, test } from "bun:test";
import { IdleCollector } from "../../src/memory/idle-collect.ts";

const MiB = 1024 * 1024;

/** A manual clock with timers that fire when the test advances it. */
function rig(o: { quietMs?: number; minIntervalMs?: number; minGrowthBytes?: number } = {}) {
  let now = 0;
  let timers: Array<{ at: number; fn: () => void; live: boolean }> = [];
  const state = { active: 0, rss: 100 * MiB, collections: [] as number[] };
  const idle = new IdleCollector({
    activeCalls: () => state.active,
    rss: () => state.rss,
    collect: () => {
      state.collections.push(now);
      state.rss -= 20 * MiB; // what a collection gives back here
    },
    quietMs: o.quietMs ?? 1000,
    minIntervalMs: o.minIntervalMs ?? 2000,
    minGrowthBytes: o.minGrowthBytes ?? 4 * MiB,
    now: () => now,
    setTimer: (fn, ms) => {
      const t = { at: now + ms, fn, live: true };
      timers.push(t);
      return { cancel: () => (t.live = false) };
    },
  });
  const advance = (ms: number) => {
    const end = now + ms;
    for (;;) {
      const next = timers.filter((t) => t.live && t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (next === undefined) break;
      now = next.at;
      next.live = false;
      next.fn();
    }
    timers = timers.filter((t) => t.live);
    now = end;
  };
  return { idle, state, advance, pending: () => timers.filter((t) => t.live).length };
}

describe("IdleCollector", () => {
  test("collects once, quietMs after the last call ended, when the calls took memory", () => {
    const r = rig();
    r.state.active = 2;
    r.idle.callStarted();
    r.state.rss += 30 * MiB; // the calls took 30 MiB
    r.state.active = 1;
    r.idle.callEnded(); // one call still up: nothing scheduled
    expect(r.pending()).toBe(0);
    r.state.active = 0;
    r.idle.callEnded();
    r.advance(999);
    expect(r.state.collections).toEqual([]);
    r.advance(1);
    expect(r.state.collections).toEqual([1000]);
    expect(r.idle.runs).toBe(1);
    // Idle on: nothing more, however long.
    r.advance(60_000);
    expect(r.state.collections).toEqual([1000]);
  });

  test("a call starting during the quiet period cancels it; the next idle period collects", () => {
    const r = rig();
    r.state.rss += 30 * MiB;
    r.idle.callEnded();
    r.advance(500);
    r.state.active = 1;
    r.idle.callStarted();
    r.advance(5000);
    expect(r.state.collections).toEqual([]);
    r.state.active = 0;
    r.idle.callEnded();
    r.advance(1000);
    expect(r.state.collections).toEqual([6500]);
  });

  test("no collection when RSS did not grow by minGrowthBytes since the last one", () => {
    const r = rig();
    r.state.rss += 3 * MiB;
    r.idle.callEnded();
    r.advance(10_000);
    expect(r.state.collections).toEqual([]);
    // Growth is counted from the level after the last collection.
    r.state.rss += 30 * MiB;
    r.idle.callEnded();
    r.advance(1000);
    expect(r.state.collections.length).toBe(1);
    r.state.rss += 3 * MiB;
    r.idle.callEnded();
    r.advance(10_000);
    expect(r.state.collections.length).toBe(1);
  });

  test("at most one collection per minIntervalMs: a second idle period too soon waits for the interval", () => {
    const r = rig({ minIntervalMs: 5000 });
    r.state.rss += 30 * MiB;
    r.idle.callEnded();
    r.advance(1000); // collected at 1000
    r.state.active = 1;
    r.idle.callStarted();
    r.state.rss += 30 * MiB;
    r.state.active = 0;
    r.idle.callEnded(); // idle again at 1000
    r.advance(1000); // quiet over at 2000, but the interval runs to 6000
    expect(r.state.collections).toEqual([1000]);
    r.advance(4000);
    expect(r.state.collections).toEqual([1000, 6000]);
  });

  test("stop() cancels a scheduled collection", () => {
    const r = rig();
    r.state.rss += 30 * MiB;
    r.idle.callEnded();
    r.idle.stop();
    r.advance(10_000);
    expect(r.state.collections).toEqual([]);
  });
});

test("growth counts from where RSS settles after a collection, not from the reading right after it", () => {
  let now = 0;
  let timers: Array<{ at: number; fn: () => void; live: boolean }> = [];
  let rss = 100 * MiB;
  const runs: number[] = [];
  const idle = new IdleCollector({
    activeCalls: () => 0,
    rss: () => rss,
    collect: () => runs.push(now), // RSS does not drop at once: the allocator returns pages later
    quietMs: 1000,
    minIntervalMs: 2000,
    minGrowthBytes: 4 * MiB,
    now: () => now,
    setTimer: (fn, ms) => {
      const t = { at: now + ms, fn, live: true };
      timers.push(t);
      return { cancel: () => (t.live = false) };
    },
  });
  const advance = (ms: number) => {
    const end = now + ms;
    for (let t = timers.find((x) => x.live && x.at <= end); t !== undefined; t = timers.find((x) => x.live && x.at <= end)) {
      now = t.at;
      t.live = false;
      t.fn();
    }
    timers = timers.filter((t) => t.live);
    now = end;
  };
  rss = 130 * MiB;
  idle.callEnded();
  advance(1000); // collects; RSS still reads 130
  expect(runs.length).toBe(1);
  rss = 80 * MiB; // pages handed back
  advance(5000);
  rss = 90 * MiB; // the next calls took 10 MiB: under 130 + 4, over the settled 80 + 4
  idle.callEnded();
  advance(1000);
  expect(runs.length).toBe(2);
});
