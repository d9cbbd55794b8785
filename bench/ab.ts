// `bun bench/ab.ts A B [--rounds 3] [--calls 200]`: two relays measured at the same time, for choosing changes.
// A and B are each `floor`, or a checkout of this repo (its src/main.ts is run), optionally with settings:
// `../other-checkout`, `.@PLAYOUT_FRAME_MS=40`, `.@PACER_PHASES=4,MODEL_STALL_S=0`.
//
// Why at the same time: this machine's speed drifts by tens of percent over minutes, so two runs one after the
// other compare the drift as much as the code. Here each round starts two capacity runs at once (one step of
// `--calls` calls each, both relays pinned to core 0, their load generators on the other cores), so both relays
// see the same machine. Two runs of the same code agree within about 2 % this way. Sharing the core's caches costs
// the relay with the larger working set a little more than running alone would, so use it to rank changes; the
// performance bars stay with `bun run bench --capacity`, where each relay has the core to itself.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { count, positional } from "./args.ts";
import { BARS_CALLS, median, type CapacityRun } from "./capacity.ts";
import { ROOT } from "./relays.ts";

interface Side {
  label: string;
  dir: string;
  only: "sauti" | "floor";
  set?: string;
}

interface Figures {
  mcores: number;
  uplinkP99: number;
  rssKB: number;
  held: boolean;
}

function side(spec: string): Side {
  if (spec === "floor") return { label: spec, dir: ROOT, only: "floor" };
  const at = spec.indexOf("@");
  const dir = resolve(at < 0 ? spec : spec.slice(0, at));
  return { label: spec, dir, only: "sauti", set: at < 0 ? undefined : spec.slice(at + 1) };
}

async function measure(s: Side, calls: number, out: string): Promise<Figures> {
  const cmd = [process.execPath, join(s.dir, "bench/run.ts"), "--capacity", "--steps", String(calls), "--periods", "3"];
  cmd.push("--bar-rounds", "0", "--only", s.only, "--out", out, ...(s.set === undefined ? [] : ["--set", s.set]));
  const p = Bun.spawn(cmd, { cwd: s.dir, stdout: "pipe", stderr: "pipe" });
  const [code, out1, err1] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]);
  if (code !== 0) throw new Error(`${s.label}: bench exited ${code}\n${(out1 + err1).slice(-1500)}`);
  const { runs } = JSON.parse(readFileSync(join(out, "capacity.json"), "utf8")) as { runs: CapacityRun[] };
  const step = runs[0]?.steps[0];
  const [mcores, uplinkP99, rssKB] = [step?.millicoresPerCall, step?.result.uplink.p99, step?.rssPerCallKB];
  if (step === undefined || mcores == null || uplinkP99 == null || rssKB == null) throw new Error(`${s.label}: no measured step in ${out}/capacity.json`);
  return { mcores, uplinkP99, rssKB, held: step.held };
}

const specs = positional();
if (specs.length !== 2) {
  console.error("usage: bun bench/ab.ts A B [--rounds 3] [--calls 200]   (A, B: floor | checkout[@K=V,...])");
  process.exit(2);
}
const rounds = count("--rounds", 3, 1);
const calls = count("--calls", BARS_CALLS, 1);
const [a, b] = [side(specs[0]!), side(specs[1]!)];
const tmp = mkdtempSync(join(tmpdir(), "sauti-ab-"));
const cpu: number[] = [];
const up: number[] = [];
const rss: number[] = [];
for (let r = 1; r <= rounds; r++) {
  const [fa, fb] = await Promise.all([measure(a, calls, join(tmp, `a${r}`)), measure(b, calls, join(tmp, `b${r}`))]);
  cpu.push(fa.mcores / fb.mcores);
  up.push(fa.uplinkP99 / fb.uplinkP99);
  rss.push(fa.rssKB / fb.rssKB);
  const held = fa.held && fb.held ? "" : `  (a step broke: ${a.label} ${fa.held ? "held" : "broke"}, ${b.label} ${fb.held ? "held" : "broke"})`;
  console.log(
    `round ${r}: CPU/call ${fa.mcores} vs ${fb.mcores} mcores (${cpu[r - 1]!.toFixed(3)}×), p99 uplink ${fa.uplinkP99} vs ${fb.uplinkP99} ms, RSS/call ${fa.rssKB} vs ${fb.rssKB} KB${held}`,
  );
}
const mid = (xs: number[]) => median(xs)!; // one value per round, and there is at least one round
console.log(`${a.label} ÷ ${b.label} at ${calls} calls, median of ${rounds} rounds: CPU/call ${mid(cpu).toFixed(3)}×, p99 uplink ${mid(up).toFixed(2)}×, RSS/call ${mid(rss).toFixed(2)}×`);
