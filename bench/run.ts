// `bun run bench` — the relay-latency suite: Sauti Relay, the floor and the tutorial baseline, side by side.
//   bun run bench                 full run (micro-benchmarks + sweep 1…800 calls after a 100-call warm-up), a few minutes
//   bun run bench --quick         one call and one small step per relay, for smoke use
// Options: --out <dir> (default bench/results), --binary (dist/sauti-relay instead of src/main.ts),
//          --split (caller frames split at odd byte offsets), --micro (micro-benchmarks in quick mode too),
//          --only sauti,floor,baseline and --steps 50,200 (subset, for development; the report wants all three),
//          --set PLAYOUT_FRAME_MS=40,PACER_PHASES=4 (extra Sauti Relay settings, to compare choices),
//          --profile (Bun's CPU profiler on Sauti Relay: <out>/profile/*.md),
//          --periods 3 (measured over that many 5 s answer periods; default 1, 2 with --capacity: less noise).
//   bun run bench --capacity      the capacity sweep: each relay pinned to core 0 (taskset), the load generator on
//                                 the other cores, steps of calls until a service level breaks → calls per core;
//                                 then --bar-rounds N (default 3) rounds of relay and floor back to back at 200 calls,
//                                 on which the performance bars are judged.
import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { StandinServer } from "../test/support/gemini-spy.ts";
import { renderSvg } from "./chart.ts";
import { FIGURE_KEYS, figures, passes, type Figures, type RelayRun } from "./figures.ts";
import { rssMB, rssTreeMB } from "./procstat.ts";
import { killAllChildren, relaySpecs, ROOT, SECRET, API_KEY, startRelay, type RelayProc, type RelaySpec } from "./relays.ts";
import { count, counts, flag, value } from "./args.ts";
import { renderMarkdown, type ReportMeta } from "./report.ts";
import { BARS_CALLS, bars, judge, renderCapacity, type BarRound, type CapacityRun, type CapacityStep } from "./capacity.ts";
import { runStep, UplinkRouter, type AnswerPlan, type StepPlan, type StepResult } from "./scenario.ts";

const QUICK = flag("--quick");
const CAPACITY = flag("--capacity");
const SPLIT = flag("--split");
const OUT = value("--out") ?? join(ROOT, "bench/results");
const ONLY = value("--only")?.split(",");
/** `--set KEY=VALUE,KEY=VALUE`: extra settings for Sauti Relay (e.g. PLAYOUT_FRAME_MS=40), to compare choices. */
const SET = Object.fromEntries((value("--set")?.split(",") ?? []).map((kv) => kv.split("=", 2) as [string, string]));
const TONE_HZ = 440;
/** The relays as the options ask for them: the compiled binary, extra settings, Bun's profiler. */
const chosenSpecs = () => relaySpecs({ binary: flag("--binary"), set: SET, profileDir: flag("--profile") ? join(OUT, "profile") : undefined });

const log = (s: string) => console.log(s);

// ---- plans ----
const P = QUICK ? 2000 : 5000; // answer period
const A = QUICK ? 800 : 2000; // answer length
/** `--periods N`: CPU (and latency) are measured over N answer periods (default 1; 2 for the capacity sweep, whose
 *  figures size VMs): more periods, less noise. */
const PERIODS = count("--periods", CAPACITY && !QUICK ? 2 : 1, 1);
const WINDOW = A + PERIODS * P; // from A on, the answer duty cycle is steady; CPU is measured over the periods
type Delivery = StepPlan["delivery"];
const periodic = (calls: number, label: string, deep: boolean, delivery: Delivery): StepPlan => ({
  label, calls, windowMs: WINDOW, cpuFromMs: A, cpuToMs: WINDOW, deep, split: SPLIT, delivery,
  answers: (i, n): AnswerPlan[] => {
    const out: AnswerPlan[] = [];
    for (let at = 200 + (i * P) / n; at < WINDOW; at += P) out.push({ at, ms: A, hz: TONE_HZ });
    return out;
  },
});
const FUNC_CALLS = QUICK ? 2 : 20;
const funcPlan = (delivery: Delivery): StepPlan => ({
  label: "function",
  delivery,
  calls: FUNC_CALLS,
  // The interrupted answer starts after the full one has played; the window leaves room for a relay that
  // does not flush to play the rest of it (1.5× long when 24 kHz audio is played at 16 kHz).
  windowMs: A * 1.5 + 600 + 50 * FUNC_CALLS + A * 1.5 + 500,
  cpuFromMs: 200,
  cpuToMs: A * 1.5,
  deep: true,
  split: SPLIT,
  answers: (i) => {
    const full = 200 + i * 50;
    const second = A * 1.5 + 600 + i * 50;
    return [
      { at: full, ms: A, hz: TONE_HZ },
      { at: second, ms: A, hz: TONE_HZ, interruptAfter: Math.round(A * 0.3) + (i % 5) * 40 },
    ];
  },
});
const SWEEP = counts("--steps", QUICK ? [4] : [50, 100, 200, 400, 800], 1);
const CAPACITY_STEPS = counts("--steps", QUICK ? [4] : [200, 400, 600, 800, 1000, 1200, 1600, 2000], 1);
/** Calls of the warm-up step each fresh relay process runs first, in the full run and the capacity sweep (not judged). */
const WARMUP_CALLS = QUICK ? 0 : 100;
/** `--bar-rounds N`: the #14 bars are judged on N rounds of a fresh relay and a fresh floor back to back (capacity.ts
 *  BarRound); 0 judges them on the sweeps' 200-call steps. */
const BAR_ROUNDS = count("--bar-rounds", QUICK ? 0 : 3, 0);
const LOAD_CALLS = QUICK ? 4 : 200;
const HIGH_CALLS = QUICK ? 4 : 400;

// ---- child process hygiene ----
process.on("exit", killAllChildren);
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    killAllChildren();
    process.exit(130);
  });
}
process.on("uncaughtException", (e) => {
  console.error(e);
  killAllChildren();
  process.exit(1);
});

/**
 * Starts the Live stand-in and one relay (`lean`: the stand-in's load-generator mode; `pinCpu`: the relay on that
 * core only), runs `body` against them, and stops both. A relay that does not start, or a body that throws, comes
 * back as `error`; `started` says which it was.
 */
async function withRelay(
  spec: RelaySpec,
  o: { lean: boolean; pinCpu?: number },
  body: (relay: RelayProc, standin: StandinServer, router: UplinkRouter) => Promise<void>,
): Promise<{ error?: string; started: boolean }> {
  const router = new UplinkRouter();
  const standin = new StandinServer({ lenient: spec.lenient, apiKey: API_KEY, toneHz: TONE_HZ, onCallerAudio: router.onCallerAudio, lean: o.lean });
  const liveUrl = await standin.start();
  let relay: RelayProc;
  try {
    relay = await startRelay(spec, liveUrl, OUT, o.pinCpu);
  } catch (e) {
    await standin.stop();
    log(`  ${spec.label}: ${String(e)}`);
    return { error: String(e).split("\n")[0], started: false };
  }
  try {
    await body(relay, standin, router);
    return { started: true };
  } catch (e) {
    log(`  ${spec.label} failed: ${String(e)}`);
    return { error: String(e), started: true };
  } finally {
    await relay.stop();
    await standin.stop();
  }
}

async function runRelay(spec: RelaySpec): Promise<RelayRun> {
  const run: RelayRun = { name: spec.name, label: spec.label, idleRssMB: null, solo: null, func: null, sweep: [], capacity: null, capacityNote: "" };
  const { error, started } = await withRelay(spec, { lean: false }, async (relay, standin, router) => {
    let idx = 0;
    const step = async (plan: StepPlan): Promise<StepResult> => {
      const t = performance.now();
      const r = await runStep(relay, standin, router, SECRET, plan, idx, log);
      idx += plan.calls;
      if (idx > 3500) idx = 0; // the marker's call field holds 12 bits
      log(
        `  ${spec.name.padEnd(8)} ${plan.label.padEnd(9)} ${String(plan.calls).padStart(4)} calls: uplink p50/p99 ${r.uplink.p50}/${r.uplink.p99} ms, ` +
          `first audio p50 ${r.firstAudio.p50} ms, underruns ${r.underrunMs} ms, CPU ${r.cpuMsPerCallS} ms/call-s, RSS ${r.rssMB} MB, ` +
          `lost ${r.uplinkLost}/${r.uplinkFrames}, dropped calls ${r.dropped}, stand-in closes ${r.standinClosesByServer}, gen. lateness p99 ${r.genLateness.p99} ms, bench CPU ${r.benchCpuPct} % (${((performance.now() - t) / 1000).toFixed(1)} s)`,
      );
      return r;
    };
    await Bun.sleep(300);
    run.idleRssMB = rssMB(relay.pid);
    // Without it the 1-call step measured JIT compilation more than the relay: its p99 uplink was 1.5-3x the floor's,
    // and about the floor's after a warm-up (the relay is by far the largest program of the three).
    idx = await warmUp(relay, standin, router, spec);
    run.solo = await step(periodic(1, "solo", true, spec.delivery));
    run.func = await step(funcPlan(spec.delivery));
    run.sweep.push(run.solo);
    run.capacity = passes(run.solo) ? 1 : 0;
    run.capacityNote = passes(run.solo) ? "" : `fails at 1 call (dropped ${run.solo.dropped}, p99 ${run.solo.uplink.p99} ms, underruns ${run.solo.underrunMs} ms)`;
    for (const n of SWEEP) {
      if (!passes(run.sweep[run.sweep.length - 1]!)) break;
      const r = await step(periodic(n, "sweep", false, spec.delivery));
      run.sweep.push(r);
      if (passes(r)) run.capacity = n;
      else {
        const why = r.connected < r.calls ? `${r.calls - r.connected} calls failed` : r.dropped > 0 ? `${r.dropped} calls dropped` : r.underrunMs > 0 ? `${r.underrunMs} ms underruns` : `p99 uplink ${r.uplink.p99} ms`;
        run.capacityNote = `first failing step ${n} calls (${why})`;
      }
    }
    if (!run.capacityNote) run.capacityNote = `every step passed (≥ ${run.capacity})`;
  });
  if (error !== undefined) run.error = error;
  if (!started) run.capacityNote = "did not start";
  return run;
}

/** Runs the warm-up step (not judged: the first calls of a fresh process pay for JIT compilation, which would land
 *  on the first judged step). Returns the next call index. */
async function warmUp(relay: RelayProc, standin: StandinServer, router: UplinkRouter, spec: RelaySpec): Promise<number> {
  await Bun.sleep(300);
  if (WARMUP_CALLS === 0) return 0;
  await runStep(relay, standin, router, SECRET, periodic(WARMUP_CALLS, "warm-up", false, spec.delivery), 0, log);
  await Bun.sleep(1000); // the warm-up's calls close
  return WARMUP_CALLS;
}

/** One side of a bar round: a fresh process, pinned, warmed up, one BARS_CALLS step. */
async function barStep(spec: RelaySpec): Promise<CapacityStep | null> {
  let step: CapacityStep | null = null;
  await withRelay(spec, { lean: true, pinCpu: 0 }, async (relay, standin, router) => {
    const idx = await warmUp(relay, standin, router, spec);
    const idle = rssTreeMB(relay.pid);
    const r = await runStep(relay, standin, router, SECRET, periodic(BARS_CALLS, "bars", false, spec.delivery), idx, log);
    step = judge(r, idle);
    log(`  ${spec.name.padEnd(8)} ${BARS_CALLS} calls: uplink p99 ${r.uplink.p99} ms, first audio p50/p99 ${r.firstAudio.p50}/${r.firstAudio.p99} ms, ${step.millicoresPerCall} mcores/call`);
  });
  return step;
}

async function runCapacity(spec: RelaySpec): Promise<CapacityRun> {
  const run: CapacityRun = { name: spec.name, label: spec.label, idleRssMB: null, steps: [], capacity: null, benchBound: false, note: "" };
  const { error, started } = await withRelay(spec, { lean: true, pinCpu: 0 }, async (relay, standin, router) => {
    let idx = await warmUp(relay, standin, router, spec);
    // Per-call memory is counted above this: the process warmed up (its JIT code and heap), with no call.
    run.idleRssMB = rssTreeMB(relay.pid);
    for (const n of CAPACITY_STEPS) {
      const t = performance.now();
      if (idx + n > 4000) idx = 0; // the marker's call field holds 12 bits
      const r = await runStep(relay, standin, router, SECRET, periodic(n, "capacity", false, spec.delivery), idx, log);
      idx += n;
      const s = judge(r, run.idleRssMB);
      run.steps.push(s);
      log(
        `  ${spec.name.padEnd(8)} ${String(n).padStart(5)} calls: uplink p99 ${r.uplink.p99} ms, first audio p99 ${r.firstAudio.p99} ms, underrun ${r.underrunMs} ms, ` +
          `delivered err max ${r.deliveredErrPct.max} %, ${s.millicoresPerCall} mcores/call, ${s.rssPerCallKB} KB/call, bench CPU ${r.benchCpuPct} %, ` +
          `gen. late p99 ${r.genLateness.p99} ms → ${s.held ? "held" : s.benchBound ? "LOAD GENERATOR LIMIT" : "broke"} (${((performance.now() - t) / 1000).toFixed(1)} s)`,
      );
      if (s.held && !s.benchBound) {
        run.capacity = n;
        continue;
      }
      if (s.held) {
        run.benchBound = true;
        run.note = `At ${n} calls the service levels held but the load generator's core was saturated (bench CPU ${r.benchCpuPct} %): the relay's ceiling is higher than this bench can show.`;
      } else if (s.benchBound) {
        run.benchBound = true;
        run.note = `At ${n} calls the load generator's core was saturated (bench CPU ${r.benchCpuPct} %) and a service level broke (${s.why}), so this is a floor for the relay's capacity, not its ceiling.`;
      } else {
        run.note = `First failing step: ${n} calls (${s.why}).`;
      }
      break;
    }
    if (run.note === "") run.note = `Every step held (≥ ${run.capacity}).`;
  });
  if (error !== undefined) run.error = error;
  if (!started) run.note = "did not start";
  return run;
}

async function capacityMain(): Promise<void> {
  const n = cpus().length;
  if (n < 2) throw new Error("--capacity needs at least 2 cores: one for the relay, the rest for the load generator");
  // The load generator (this process, every thread) keeps off core 0, which each relay gets to itself.
  const pin = Bun.spawnSync(["taskset", "-a", "-cp", `1-${n - 1}`, String(process.pid)]);
  if (pin.exitCode !== 0) throw new Error(`taskset failed: ${pin.stderr.toString()}`);
  mkdirSync(OUT, { recursive: true });
  log(`Sauti Relay capacity sweep → ${OUT} (relay on core 0, load generator on cores 1-${n - 1})`);
  const specs = chosenSpecs().filter((s) => (ONLY ? ONLY.includes(s.name) : s.name !== "baseline"));
  const runs: CapacityRun[] = [];
  for (const spec of specs) {
    log(`${spec.label}:`);
    runs.push(await runCapacity(spec));
  }
  const rounds: BarRound[] = [];
  const relaySpec = specs.find((s) => s.name === "sauti");
  const floorSpec = specs.find((s) => s.name === "floor");
  if (BAR_ROUNDS > 0 && relaySpec !== undefined && floorSpec !== undefined) {
    log(`Bar rounds (${BAR_ROUNDS}): a fresh relay and a fresh floor, ${BARS_CALLS} calls each, back to back:`);
    for (let i = 0; i < BAR_ROUNDS; i++) {
      const relay = await barStep(relaySpec);
      const floor = await barStep(floorSpec);
      if (relay !== null && floor !== null) rounds.push({ relay, floor });
    }
  }
  const meta = { date: new Date().toISOString(), machine: `${n}× ${cpus()[0]?.model ?? "cpu"}`, bun: Bun.version, warmupCalls: WARMUP_CALLS, periods: PERIODS };
  const md = renderCapacity(runs, meta, rounds);
  console.log("\n" + md);
  writeAtomic(join(OUT, "capacity.md"), md);
  writeAtomic(join(OUT, "capacity.json"), JSON.stringify({ meta, bars: bars(runs, rounds), rounds, runs }, null, 2) + "\n");
  log(`wrote ${join(OUT, "capacity.md")}, capacity.json`);
  if (runs.some((r) => r.error !== undefined)) process.exit(1);
}

async function loadMicro(): Promise<Record<string, number> | null> {
  const path = join(import.meta.dir, "micro.ts");
  if (!existsSync(path)) return null;
  try {
    const mod = (await import(path)) as { runMicro?: () => Promise<Record<string, number>> };
    return mod.runMicro ? await mod.runMicro() : null;
  } catch (e) {
    log(`micro-benchmarks failed: ${String(e)}`);
    return null;
  }
}

function writeAtomic(path: string, text: string): void {
  writeFileSync(path + ".tmp", text);
  renameSync(path + ".tmp", path);
}

async function main(): Promise<void> {
  const started = performance.now();
  mkdirSync(OUT, { recursive: true });
  log(`Sauti Relay bench (${QUICK ? "quick" : "full"}) → ${OUT}`);
  let micro: Record<string, number> | null = null;
  if (!QUICK || flag("--micro")) {
    log("micro-benchmarks …");
    micro = await loadMicro();
    log(micro ? `  ${Object.keys(micro).length} micro-benchmarks` : "  bench/micro.ts not present (skipped)");
  }
  const specs = chosenSpecs().filter((s) => !ONLY || ONLY.includes(s.name));
  const runs: RelayRun[] = [];
  for (const spec of specs) {
    log(`${spec.label}:`);
    runs.push(await runRelay(spec));
  }
  const figs: Record<string, Figures> = {};
  for (const r of runs) figs[r.name] = figures(r, LOAD_CALLS, HIGH_CALLS, TONE_HZ);
  for (const n of ["sauti", "floor", "baseline"]) {
    figs[n] ??= Object.fromEntries(FIGURE_KEYS.map((k) => [k, null])) as Figures;
  }
  const meta: ReportMeta = {
    date: new Date().toISOString(),
    mode: QUICK ? "quick" : "full",
    machine: `${cpus().length}× ${cpus()[0]?.model ?? "cpu"}`,
    bun: Bun.version,
    node: Bun.spawnSync(["node", "--version"]).stdout.toString().trim(),
    loadCalls: LOAD_CALLS,
    highCalls: HIGH_CALLS,
    toneHz: TONE_HZ,
    answerMs: A,
    split: SPLIT,
    durationS: (performance.now() - started) / 1000,
  };
  const md = renderMarkdown(meta, runs, figs, micro);
  console.log("\n" + md);
  writeAtomic(join(OUT, "latest.md"), md);
  writeAtomic(join(OUT, "latest.json"), JSON.stringify({ meta, figures: figs, runs, micro }, null, 2) + "\n");
  writeAtomic(join(OUT, "latest.svg"), renderSvg(runs, `Sauti Relay bench — ${meta.date.slice(0, 10)}, ${meta.machine}`));
  log(`wrote ${join(OUT, "latest.md")}, latest.json, latest.svg`);
  const failed = runs.filter((r) => r.error !== undefined);
  if (failed.length > 0) {
    log(`relay(s) that could not be measured: ${failed.map((r) => `${r.name} (${r.error})`).join("; ")}`);
    process.exit(1);
  }
}

await (CAPACITY ? capacityMain() : main()).catch((e) => {
  console.error(e);
  killAllChildren();
  process.exit(1);
});
process.exit(0);
