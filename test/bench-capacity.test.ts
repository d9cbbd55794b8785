// The capacity sweep's verdicts (bench/capacity.ts) on made-up step results: the service levels a step must hold,
// and the performance bars judged on the relay's and the floor's 200-call steps.
import { describe, expect, test } from "bun:test";
import { bars, judge, renderCapacity, type BarRound, type CapacityRun } from "../bench/capacity.ts";
import type { Dist } from "../bench/metrics.ts";
import type { StepResult } from "../bench/scenario.ts";

const d = (p50: number, p99: number): Dist => ({ n: 100, p50, p99, max: p99 });

function step(calls: number, o: { uplinkP99?: number; firstP50?: number; firstP99?: number; cpu?: number; underrunMs?: number; benchCpuPct?: number } = {}): StepResult {
  return {
    label: "capacity",
    calls,
    connected: calls,
    dropped: 0,
    uplink: d(1, o.uplinkP99 ?? 3),
    uplinkLost: 0,
    uplinkFrames: calls * 500,
    firstAudio: d(o.firstP50 ?? 1, o.firstP99 ?? 4),
    bargeIn: d(0, 0),
    kills: 0,
    answers: calls,
    underrunMs: o.underrunMs ?? 0,
    underrunAnswers: 0,
    durationErrMs: d(0, 0),
    deliveredMs: d(2000, 2000),
    deliveredErrPct: d(0.03, 0.03),
    toneHz: d(440, 440),
    cpuMsPerCallS: o.cpu ?? 1,
    rssMB: 100,
    benchCpuPct: o.benchCpuPct ?? 20,
    genLateness: d(1, 2),
    standinClosesByServer: 0,
  };
}

function run(name: string, steps: StepResult[]): CapacityRun {
  return { name, label: name, idleRssMB: 50, steps: steps.map((s) => judge(s, 50)), capacity: null, benchBound: false, note: "" };
}

describe("capacity sweep verdicts", () => {
  test("a step breaks on p99 uplink, first audio or underrun, and is bench-bound when the generator's core is saturated", () => {
    expect(judge(step(200), 50)).toMatchObject({ held: true, why: "", benchBound: false, rssPerCallKB: 256 });
    expect(judge(step(800, { uplinkP99: 25 }), 50)).toMatchObject({ held: false, why: "p99 uplink 25 ms" });
    expect(judge(step(800, { firstP99: 41, underrunMs: 20 }), 50).why).toBe("p99 first audio 41 ms, 20 ms underrun");
    expect(judge(step(1200, { benchCpuPct: 99 }), 50)).toMatchObject({ held: true, benchBound: true });
  });

  test("the bars compare the relay's 200-call step with the floor's", () => {
    const relay = run("sauti", [step(200, { cpu: 1.1, uplinkP99: 3, firstP50: 1.5, firstP99: 6 }), step(400, { cpu: 9 })]);
    const floor = run("floor", [step(200, { cpu: 1, uplinkP99: 2.5, firstP50: 1, firstP99: 2 })]);
    const b = bars([relay, floor])!;
    const met = Object.fromEntries(b.map((x) => [x.name, x.met]));
    expect(met).toEqual({
      "CPU per call, mcores": true, // 1.1 ≤ 1.2 × 1
      "p99 uplink, ms": true, // 3 ≤ 1.5 × 2.5
      "first audio p50, ms": true, // 1.5 ≤ 1 + 1
      "first audio p99, ms": true, // 6 ≤ 2 + 5
      "underrun, ms": true,
      "delivered audio error max, %": true,
    });
    const worse = bars([run("sauti", [step(200, { cpu: 1.3, uplinkP99: 4, firstP50: 2.5, firstP99: 8 })]), floor])!;
    expect(worse.filter((x) => x.met === false).map((x) => x.name)).toEqual(["CPU per call, mcores", "p99 uplink, ms", "first audio p50, ms", "first audio p99, ms"]);
    // With the tutorial design in the sweep, the relay's p99 uplink must be below its.
    const withBase = bars([relay, floor, run("baseline", [step(200, { uplinkP99: 2.9 })])])!;
    expect(withBase.at(-1)).toMatchObject({ name: "p99 uplink vs the tutorial design, ms", met: false });
    // No 200-call step for one of them: nothing to judge.
    expect(bars([run("sauti", [step(400)]), floor])).toBeNull();
  });

  test("with bar rounds the bars are judged on the median of the rounds' own ratios and differences", () => {
    const round = (relayCpu: number, floorCpu: number, relayUp: number, floorUp: number, relayFa99 = 6): BarRound => ({
      relay: judge(step(200, { cpu: relayCpu, uplinkP99: relayUp, firstP50: 1.5, firstP99: relayFa99 }), 50),
      floor: judge(step(200, { cpu: floorCpu, uplinkP99: floorUp, firstP50: 1, firstP99: 2 }), 50),
    });
    // The machine's speed drifts: round 2 ran slow for both. Ratios 1.1, 1.1, 1.3 → median 1.1 (met), where the
    // relay's median (1.3) over the floor's median (1) would say 1.3, and pairing round 1's floor with round 2's
    // relay would say 1.65.
    const rounds = [round(1.1, 1, 3, 2.5), round(1.65, 1.5, 4.5, 3), round(1.3, 1, 4, 2.5, 20)];
    const sweep = [run("sauti", [step(200, { cpu: 9 })]), run("floor", [step(200, { cpu: 1 })])];
    const b = bars(sweep, rounds)!;
    const cpu = b.find((x) => x.name === "CPU per call, mcores")!;
    expect(cpu.perRound!.map((v) => Math.round(v * 100) / 100)).toEqual([1.1, 1.1, 1.3]);
    expect(cpu).toMatchObject({ relay: 1.3, floor: 1, met: true });
    const up = b.find((x) => x.name === "p99 uplink, ms")!;
    expect(up.met).toBe(true); // ratios 1.2, 1.5, 1.6 → median 1.5
    const fa99 = b.find((x) => x.name === "first audio p99, ms")!;
    expect(fa99.perRound).toEqual([4, 4, 18]);
    expect(fa99.met).toBe(true); // median +4 ms
    // The sweep's own 200-call steps (9 against 1) are not what is judged when there are rounds.
    expect(bars(sweep)!.find((x) => x.name === "CPU per call, mcores")!.met).toBe(false);
    // An underrun in any round fails that bar.
    const bad = [...rounds.slice(0, 2), { ...rounds[2]!, relay: judge(step(200, { cpu: 1.3, underrunMs: 40 }), 50) }];
    expect(bars(sweep, bad)!.find((x) => x.name === "underrun, ms")).toMatchObject({ relay: 40, met: false });
    const md = renderCapacity(sweep, { date: "d", machine: "m", bun: "b", warmupCalls: 100, periods: 2 }, rounds);
    expect(md).toContain("| CPU per call, mcores | 1.3 | 1 | 1.1× | 1.1×, 1.1×, 1.3× | ≤ 1.2× floor | yes |");
  });
});
