// The capacity sweep's verdicts (bench/capacity.ts) on made-up step results: the service levels a step must hold,
// and the performance bars judged on the relay's and the floor's 200-call steps.
import { describe, expect, test } from "bun:test";
import { bars, judge, type CapacityRun } from "../bench/capacity.ts";
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
});
