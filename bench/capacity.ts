// The capacity sweep (`bun run bench --capacity`): one relay at a time pinned to one core, the load generator on
// the others, calls stepped up until a service level breaks. The last step that held is "calls per relay core".
// When the load generator itself is the limit (its timer late, or its core saturated), that is said instead.
import { round } from "./metrics.ts";
import type { StepResult } from "./scenario.ts";

/** The service levels a step must hold. */
export const SLO = { uplinkP99Ms: 20, firstAudioP99Ms: 40, underrunMs: 0, deliveredErrPct: 1 } as const;
/** The load generator is the limit when its core is this busy. (Its timer running late is reported, not judged:
 *  a relay that stalls and then catches up floods the generator too, so lateness alone does not say who broke.) */
export const BENCH_LIMIT = { cpuPct: 85 } as const;

export interface CapacityStep {
  calls: number;
  result: StepResult;
  held: boolean;
  /** Why it did not hold ("" when it held). */
  why: string;
  benchBound: boolean;
  /** CPU per call in millicores (= CPU ms per call-second). */
  millicoresPerCall: number | null;
  rssPerCallKB: number | null;
}

export interface CapacityRun {
  name: string;
  label: string;
  idleRssMB: number | null;
  steps: CapacityStep[];
  /** Calls per relay core: the last step that held; null when even the first did not. */
  capacity: number | null;
  /** True when the sweep ended because the load generator broke first. */
  benchBound: boolean;
  note: string;
  error?: string;
}

export function judge(r: StepResult, idleRssMB: number | null): CapacityStep {
  const reasons: string[] = [];
  if (r.connected < r.calls) reasons.push(`${r.calls - r.connected} calls failed to connect`);
  if (r.dropped > 0) reasons.push(`${r.dropped} calls dropped`);
  if (r.uplink.p99 === null || r.uplink.p99 > SLO.uplinkP99Ms) reasons.push(`p99 uplink ${r.uplink.p99} ms`);
  if (r.firstAudio.p99 === null || r.firstAudio.p99 > SLO.firstAudioP99Ms) reasons.push(`p99 first audio ${r.firstAudio.p99} ms`);
  if (r.underrunMs > SLO.underrunMs) reasons.push(`${r.underrunMs} ms underrun`);
  if (r.deliveredErrPct.max === null || r.deliveredErrPct.max > SLO.deliveredErrPct) reasons.push(`delivered audio off by up to ${r.deliveredErrPct.max} %`);
  const benchBound = r.benchCpuPct > BENCH_LIMIT.cpuPct;
  const rssPer = r.rssMB !== null && idleRssMB !== null && r.connected > 0 ? round(((r.rssMB - idleRssMB) * 1024) / r.connected, 1) : null;
  return {
    calls: r.calls,
    result: r,
    held: reasons.length === 0,
    why: reasons.join(", "),
    benchBound,
    millicoresPerCall: r.cpuMsPerCallS,
    rssPerCallKB: rssPer,
  };
}

/** The performance bars, judged at BARS_CALLS calls: on bar rounds when the run has them, else on the sweep's steps. */
export const BARS_CALLS = 200;

/**
 * One bar round: a fresh relay and a fresh floor, each pinned to the same core, each warmed up and then run for one
 * BARS_CALLS step, back to back. The machine's speed drifts by tens of percent over minutes (a shared VM), and the
 * sweeps run minutes apart; a round compares the two within a minute, and the median of several rounds' ratios is
 * what the bars judge.
 */
export interface BarRound {
  relay: CapacityStep;
  floor: CapacityStep;
}

/** Exact median (metrics.ts's dist() rounds, and a rounded ratio rounded again for the table would drift). */
export function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export interface Bar {
  name: string;
  relay: number | null;
  floor: number | null;
  /** The bar, in words. */
  target: string;
  met: boolean | null;
  /** ratio: judged on relay ÷ floor; diff: on relay − floor (ms); absolute: on the relay's own value. */
  kind: "ratio" | "diff" | "absolute";
  /** Each round's relay ÷ floor (ratio bars) or relay − floor (diff bars), in round order. */
  perRound?: number[];
}

type Metric = (s: CapacityStep) => number | null;

/** The bars, once: ratio and diff bars are judged on the median of the rounds' own ratios or differences, absolute
 *  ones on the relay's worst round. */
const BARS: Array<{ name: string; metric: Metric; kind: Bar["kind"]; target: string; ok: (x: number) => boolean }> = [
  { name: "CPU per call, mcores", metric: (s) => s.millicoresPerCall, kind: "ratio", target: "≤ 1.2× floor", ok: (x) => x <= 1.2 },
  { name: "p99 uplink, ms", metric: (s) => s.result.uplink.p99, kind: "ratio", target: "≤ 1.5× floor", ok: (x) => x <= 1.5 },
  { name: "first audio p50, ms", metric: (s) => s.result.firstAudio.p50, kind: "diff", target: "≤ floor + 1 ms", ok: (x) => x <= 1 },
  { name: "first audio p99, ms", metric: (s) => s.result.firstAudio.p99, kind: "diff", target: "≤ floor + 5 ms", ok: (x) => x <= 5 },
  { name: "underrun, ms", metric: (s) => s.result.underrunMs, kind: "absolute", target: "0", ok: (x) => x === 0 },
  { name: "delivered audio error max, %", metric: (s) => s.result.deliveredErrPct.max, kind: "absolute", target: "within 3 %", ok: (x) => x <= 3 },
];

/** The bars over rounds: relay and floor columns are medians (worst values for absolute bars). */
function judgeRounds(rounds: BarRound[]): Bar[] {
  const vals = (side: "relay" | "floor", m: Metric) => rounds.map((r) => m(r[side])).filter((v): v is number => v !== null);
  const worst = (v: number[]) => (v.length === 0 ? null : Math.max(...v));
  return BARS.map(({ name, metric, kind, target, ok }) => {
    if (kind === "absolute") {
      const relay = worst(vals("relay", metric));
      return { name, relay, floor: worst(vals("floor", metric)), target, kind, met: relay === null ? null : ok(relay) };
    }
    const perRound = rounds.flatMap((r) => {
      const a = metric(r.relay);
      const b = metric(r.floor);
      if (a === null || b === null || (kind === "ratio" && b <= 0)) return [];
      return [kind === "ratio" ? a / b : a - b];
    });
    const mid = median(perRound);
    return { name, relay: median(vals("relay", metric)), floor: median(vals("floor", metric)), target, kind, met: mid === null ? null : ok(mid), perRound };
  });
}

/**
 * The bars: on the bar rounds when there are any, else on the sweeps' BARS_CALLS steps taken as one round (plus,
 * with the tutorial design in the sweep, whether the relay's p99 uplink is below its). null when neither exists.
 */
export function bars(runs: CapacityRun[], rounds: BarRound[] = []): Bar[] | null {
  if (rounds.length > 0) return judgeRounds(rounds);
  const at = (name: string) => runs.find((r) => r.name === name)?.steps.find((s) => s.calls === BARS_CALLS);
  const relay = at("sauti");
  const floor = at("floor");
  if (relay === undefined || floor === undefined) return null;
  const out = judgeRounds([{ relay, floor }]);
  const base = at("baseline");
  if (base !== undefined) {
    const a = relay.result.uplink.p99;
    const b = base.result.uplink.p99;
    out.push({ name: "p99 uplink vs the tutorial design, ms", relay: a, floor: b, target: "< tutorial design's (in the floor column)", kind: "ratio", met: a === null || b === null ? null : a < b });
  }
  return out;
}

const f = (v: number | null | undefined, d = 2) => (v === null || v === undefined ? "n/a" : String(round(v, d)));

export function renderCapacity(
  runs: CapacityRun[],
  meta: { date: string; machine: string; bun: string; warmupCalls: number; periods: number },
  rounds: BarRound[] = [],
): string {
  const lines: string[] = [];
  lines.push(`## Capacity (\`bun run bench --capacity\`, ${meta.date}, ${meta.machine}, Bun ${meta.bun})`);
  lines.push("");
  lines.push(
    `Each relay runs pinned to one core (\`taskset -c 0\`); the load generator and the Live stand-in run on the other core(s). ` +
      `A step holds when every call connects and stays up, p99 uplink ≤ ${SLO.uplinkP99Ms} ms, p99 first audio ≤ ${SLO.firstAudioP99Ms} ms, ` +
      `0 ms underrun and delivered audio within ${SLO.deliveredErrPct} % of what the model sent. Answers: 2 s of every 5 s per call; each step is measured over ${meta.periods} such period${meta.periods === 1 ? "" : "s"}. ` +
      `CPU per call is millicores of the relay's core; RSS per call is the relay process tree's resident memory above idle, per call.` +
      (meta.warmupCalls > 0
        ? ` Before the first step each relay runs a warm-up step of ${meta.warmupCalls} calls, not judged, so JIT compilation does not land on it; "idle" is the process after it.`
        : ""),
  );
  lines.push("");
  lines.push("| Relay | Calls | p99 uplink ms | p99 first audio ms | underrun ms | delivered err max % | CPU/call mcores | RSS/call KB | bench CPU % | gen. late p99 ms | verdict |");
  lines.push("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
  for (const run of runs) {
    for (const s of run.steps) {
      const r = s.result;
      const verdict = s.held ? "held" : s.benchBound ? `load generator limit (${s.why})` : `broke: ${s.why}`;
      lines.push(
        `| ${run.name} | ${s.calls} | ${f(r.uplink.p99)} | ${f(r.firstAudio.p99)} | ${f(r.underrunMs, 1)} | ${f(r.deliveredErrPct.max)} | ${f(s.millicoresPerCall)} | ${f(s.rssPerCallKB, 1)} | ${f(r.benchCpuPct, 1)} | ${f(r.genLateness.p99)} | ${verdict} |`,
      );
    }
  }
  lines.push("");
  const judged = bars(runs, rounds);
  if (judged !== null && rounds.length > 0) {
    lines.push(
      `Bars at ${BARS_CALLS} calls, from ${rounds.length} bar rounds run after the sweeps. A round is a fresh relay and a fresh floor, each pinned to core 0, ` +
        `warmed up, then one ${BARS_CALLS}-call step each, back to back. Relay and floor columns are the rounds' medians; the bar is judged on the median ` +
        `of the rounds' own ratios (relay ÷ floor) or differences (relay − floor, ms), listed per round:`,
    );
    lines.push("");
    lines.push("| Bar | Relay | Floor | Median of rounds | Rounds | Target | Met |");
    lines.push("|---|---:|---:|---:|---|---|---|");
    for (const b of judged) {
      const unit = (v: number) => (b.kind === "ratio" ? `${f(v)}×` : `${v >= 0 ? "+" : ""}${f(v)} ms`);
      const p = b.perRound ?? [];
      const mid = median(p);
      lines.push(
        `| ${b.name} | ${f(b.relay)} | ${f(b.floor)} | ${mid === null ? "–" : unit(mid)} | ${p.length === 0 ? "–" : p.map(unit).join(", ")} | ${b.target} | ${b.met === null ? "n/a" : b.met ? "yes" : "**no**"} |`,
      );
    }
    lines.push("");
  } else if (judged !== null) {
    lines.push(`Bars at ${BARS_CALLS} calls, relay and floor each pinned to one core, same sweep:`);
    lines.push("");
    lines.push("| Bar | Relay | Floor | Relay ÷ floor | Target | Met |");
    lines.push("|---|---:|---:|---:|---|---|");
    for (const b of judged) {
      const ratio = b.kind !== "absolute" && b.relay !== null && b.floor !== null && b.floor > 0 ? `${f(b.relay / b.floor)}×` : "–";
      lines.push(`| ${b.name} | ${f(b.relay)} | ${f(b.floor)} | ${ratio} | ${b.target} | ${b.met === null ? "n/a" : b.met ? "yes" : "**no**"} |`);
    }
    lines.push("");
  }
  for (const run of runs) {
    const held = run.steps.filter((s) => s.held).at(-1);
    const cap = run.capacity === null ? "none" : `${run.capacity} calls per core`;
    lines.push(
      `- **${run.label}**: ${cap}${held ? ` (at that step ${f(held.millicoresPerCall)} millicores and ${f(held.rssPerCallKB, 1)} KB per call)` : ""}. ${run.note}`,
    );
  }
  lines.push("");
  return lines.join("\n");
}
