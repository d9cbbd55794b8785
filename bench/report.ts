// The Markdown table: every figure for all three relays, with the relay's ratio to the floor and baseline.
import type { FigureKey, Figures, RelayRun } from "./figures.ts";
import { ratio } from "./metrics.ts";

export interface ReportMeta {
  date: string;
  mode: "full" | "quick";
  machine: string;
  bun: string;
  node: string;
  loadCalls: number;
  highCalls: number;
  toneHz: number;
  answerMs: number;
  split: boolean;
  durationS: number;
}

type Verdict = (f: Figures, floor: Figures, base: Figures) => boolean | null;

interface Row {
  key: FigureKey;
  label: string;
  unit: string;
  target?: string;
  met?: Verdict;
}

const le = (v: number | null, max: number) => (v === null ? null : v <= max);

function rows(m: ReportMeta): Row[] {
  const L = m.loadCalls;
  const H = m.highCalls;
  return [
    { key: "uplink1_p50", label: "Uplink latency p50, 1 call", unit: "ms" },
    { key: "uplink1_p99", label: "Uplink latency p99, 1 call", unit: "ms", target: "≤ 2 ms", met: (f) => le(f.uplink1_p99, 2) },
    { key: "uplink1_max", label: "Uplink latency max, 1 call", unit: "ms" },
    { key: "uplinkLoad_p50", label: `Uplink latency p50, ${L} calls`, unit: "ms" },
    {
      key: "uplinkLoad_p99", label: `Uplink latency p99, ${L} calls`, unit: "ms", target: "≤ 1.5× floor, < ½ baseline",
      met: (f, fl, b) => (f.uplinkLoad_p99 === null || fl.uplinkLoad_p99 === null || b.uplinkLoad_p99 === null ? null
        : f.uplinkLoad_p99 <= 1.5 * fl.uplinkLoad_p99 && f.uplinkLoad_p99 < 0.5 * b.uplinkLoad_p99),
    },
    { key: "uplinkLoad_max", label: `Uplink latency max, ${L} calls`, unit: "ms" },
    { key: "firstAudio_p50", label: "First audio p50 (stand-in's first chunk → first loud frame at caller)", unit: "ms", target: "≤ 5 ms", met: (f) => le(f.firstAudio_p50, 5) },
    { key: "firstAudio_p99", label: "First audio p99", unit: "ms" },
    { key: "firstAudio_max", label: "First audio max", unit: "ms" },
    { key: "bargeIn_p50", label: "Barge-in: audio heard after `interrupted`, p50", unit: "ms" },
    { key: "bargeIn_p99", label: "Barge-in: audio heard after `interrupted`, p99", unit: "ms", target: "≤ 200 ms", met: (f) => le(f.bargeIn_p99, 200) },
    { key: "bargeIn_max", label: "Barge-in: audio heard after `interrupted`, max", unit: "ms", target: "≤ 200 ms", met: (f) => le(f.bargeIn_max, 200) },
    { key: "underrunMs_func", label: "Playout underruns, function step (silence inside answers)", unit: "ms", target: "0", met: (f) => le(f.underrunMs_func, 0) },
    { key: "underrunMs_load", label: `Playout underruns, ${L} calls`, unit: "ms", target: "0", met: (f) => le(f.underrunMs_load, 0) },
    {
      key: "durationErr_p50", label: `Delivered tone duration − sent (${m.answerMs} ms), p50`, unit: "ms", target: "± 20 ms",
      met: (f) => (f.durationErr_p50 === null ? null : Math.abs(f.durationErr_p50) <= 20),
    },
    {
      key: "durationErr_max", label: "Delivered tone duration − sent, max", unit: "ms", target: "± 20 ms",
      met: (f) => (f.durationErr_max === null ? null : Math.abs(f.durationErr_max) <= 20),
    },
    { key: "delivered_p50", label: "Delivered audio incl. silence tail, p50", unit: "ms" },
    { key: "toneHz_p50", label: `Tone frequency at the caller (sent ${m.toneHz} Hz), p50`, unit: "Hz" },
    {
      key: "toneErrPct", label: "Tone frequency error", unit: "%", target: "within 0.5 %",
      met: (f) => (f.toneErrPct === null ? null : Math.abs(f.toneErrPct) <= 0.5),
    },
    {
      key: "cpuLoad", label: `Relay CPU per call, ${L} calls`, unit: "ms CPU / call-s", target: "≤ ½ baseline",
      met: (f, _fl, b) => (f.cpuLoad === null || b.cpuLoad === null ? null : f.cpuLoad <= 0.5 * b.cpuLoad),
    },
    {
      key: "cpuHigh", label: `Relay CPU per call, ${H} calls`, unit: "ms CPU / call-s", target: "≤ ½ baseline",
      met: (f, _fl, b) => (f.cpuHigh === null || b.cpuHigh === null ? null : f.cpuHigh <= 0.5 * b.cpuHigh),
    },
    { key: "rssIdleMB", label: "RSS idle", unit: "MB" },
    { key: "rssLoadMB", label: `RSS, ${L} calls`, unit: "MB" },
    { key: "rssPerCallKB", label: `RSS per call, ${L} calls`, unit: "KB" },
    { key: "capacity", label: "Capacity: last step with p99 uplink ≤ 20 ms and no underruns", unit: "calls" },
  ];
}

function fmt(v: number | null): string {
  if (v === null) return "n/a";
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function fmtRatio(v: number | null): string {
  return v === null ? "–" : `${v.toFixed(2)}×`;
}

export function renderMarkdown(
  meta: ReportMeta,
  runs: RelayRun[],
  figs: Record<string, Figures>,
  micro: Record<string, number> | null,
): string {
  const s = figs.sauti!;
  const f = figs.floor!;
  const b = figs.baseline!;
  const out: string[] = [];
  out.push(`# Sauti Relay bench (${meta.mode})`, "");
  out.push(
    `${meta.date} · ${meta.machine} · Bun ${meta.bun} · Node ${meta.node} · run took ${meta.durationS.toFixed(0)} s` +
      (meta.split ? " · caller frames split at odd byte offsets" : ""),
    "",
    "All three relays were measured in this one run, with the same load generator and Live stand-in on one clock. " +
      "Compare figures within this table only; the machine is a noisy shared VM.",
    "",
    "| Figure | Unit | Sauti Relay | Floor | Baseline | Relay ÷ floor | Relay ÷ baseline | Target | Met |",
    "|---|---|---:|---:|---:|---:|---:|---|---|",
  );
  for (const r of rows(meta)) {
    const verdict = r.met ? r.met(s, f, b) : null;
    out.push(
      `| ${r.label} | ${r.unit} | ${fmt(s[r.key])} | ${fmt(f[r.key])} | ${fmt(b[r.key])} | ${fmtRatio(ratio(s[r.key], f[r.key]))} | ${fmtRatio(ratio(s[r.key], b[r.key]))} | ${r.target ?? ""} | ${r.met ? (verdict === null ? "n/a" : verdict ? "yes" : "**no**") : ""} |`,
    );
  }
  out.push("", "## Concurrency sweep", "");
  out.push("Each call answered 2 s of every 5 s. A relay's sweep stops at its first step with p99 uplink > 20 ms, underruns, or failed calls. The load generator and the stand-in share one Bun process (one core): when its CPU nears 100 % its own lateness shows up in every relay's figures, which is what the floor's column measures.", "");
  out.push(
    "| Calls | Uplink p99 ms (relay / floor / baseline) | Underruns ms | CPU ms per call-s | RSS MB | First audio p50 ms | Load generator lateness p99 ms | Bench process CPU % |",
    "|---:|---|---|---|---|---|---|---|",
  );
  const steps = [...new Set(runs.flatMap((r) => r.sweep.map((x) => x.calls)))].sort((x, y) => x - y);
  const cell = (calls: number, pick: (x: RelayRun["sweep"][number]) => number | null) =>
    runs.map((r) => {
      const st = r.sweep.find((x) => x.calls === calls);
      return st ? fmt(pick(st)) : "–";
    }).join(" / ");
  for (const c of steps) {
    out.push(
      `| ${c} | ${cell(c, (x) => x.uplink.p99)} | ${cell(c, (x) => x.underrunMs)} | ${cell(c, (x) => x.cpuMsPerCallS)} | ${cell(c, (x) => x.rssMB)} | ${cell(c, (x) => x.firstAudio.p50)} | ${cell(c, (x) => x.genLateness.p99)} | ${cell(c, (x) => x.benchCpuPct)} |`,
    );
  }
  out.push("");
  for (const r of runs) {
    out.push(`- **${r.label}**: capacity ${r.capacity ?? "n/a"} calls — ${r.capacityNote}${r.error ? ` (error: ${r.error})` : ""}`);
  }
  if (micro) {
    out.push("", "## Micro-benchmarks (mitata, ns/op)", "", "| Benchmark | ns/op |", "|---|---:|");
    for (const [k, v] of Object.entries(micro)) out.push(`| ${k} | ${fmt(v)} |`);
  }
  out.push(
    "",
    "## How it is measured",
    "",
    "- One Bun process holds the Sautikit-like callers (signed webhook, `<Stream>` XML, `audio.drachtio.org` socket, 20 ms frames from one absolute-deadline timer) and the Live stand-in (`test/support/gemini-spy.ts`); each relay runs as its own process.",
    "- Uplink: every caller frame carries a marker (magic, call, sequence) in ten quiet samples; the stand-in's `onCallerAudio` hook reassembles each session's bytes and times each marker.",
    "- First audio: the stand-in sends an answer's first chunk inside `speak()`; the time until the first frame above the silence threshold reaches the caller.",
    "- Barge-in and underruns come from a model of the media server: it plays received audio at real time in 20 ms ticks, buffers what arrives early and empties the buffer on `{\"type\":\"killAudio\"}`.",
    "- Tone: the stand-in answers with a sine at 24 kHz; frequency from interpolated zero crossings of the received 16 kHz stream, duration from first to last loud sample.",
    "- Each relay process first runs one step of 100 calls that is not measured (none with `--quick`), so the steps measure a warmed-up process, not its JIT compiling; RSS idle is taken before it.",
    "- CPU: utime+stime of the relay process from `/proc/<pid>/stat` over the steady part of each step, divided by calls × seconds. RSS from `/proc/<pid>/status`.",
    "- The floor is the least a Bun relay can do (forward at once, no resampling, pacing or checks): its figures show what the machine and the load generator cost. The baseline is the tutorial design (Node, ws, express, `mediaChunks`, no resampling/pacing/flush).",
    "",
  );
  return out.join("\n");
}
