// The flat figure set the report, the JSON and the smoke test share: one entry per relay.
import type { Dist } from "./metrics.ts";
import { round } from "./metrics.ts";
import type { StepResult } from "./scenario.ts";

export interface RelayRun {
  name: string;
  label: string;
  idleRssMB: number | null;
  solo: StepResult | null;
  func: StepResult | null;
  sweep: StepResult[];
  capacity: number | null;
  capacityNote: string;
  error?: string;
}

/** Every figure the issue asks for; null when the relay never reached that step. */
export const FIGURE_KEYS = [
  "uplink1_p50", "uplink1_p99", "uplink1_max",
  "uplinkLoad_p50", "uplinkLoad_p99", "uplinkLoad_max",
  "firstAudio_p50", "firstAudio_p99", "firstAudio_max",
  "bargeIn_p50", "bargeIn_p99", "bargeIn_max",
  "underrunMs_func", "underrunMs_load",
  "durationErr_p50", "durationErr_max", "delivered_p50",
  "toneHz_p50", "toneErrPct",
  "cpuLoad", "cpuHigh",
  "rssIdleMB", "rssLoadMB", "rssPerCallKB",
  "capacity",
] as const;
export type FigureKey = (typeof FIGURE_KEYS)[number];
export type Figures = Record<FigureKey, number | null>;

export function passes(s: StepResult): boolean {
  return s.connected === s.calls && s.dropped === 0 && s.uplink.p99 !== null && s.uplink.p99 <= 20 && s.underrunMs === 0;
}

export function figures(r: RelayRun, loadCalls: number, highCalls: number, toneHz: number): Figures {
  const load = r.sweep.find((s) => s.calls === loadCalls) ?? null;
  const high = r.sweep.find((s) => s.calls === highCalls) ?? null;
  const d = (x: Dist | undefined, k: "p50" | "p99" | "max") => (x ? x[k] : null);
  const hz = r.func?.toneHz.p50 ?? null;
  const rssPer =
    load?.rssMB != null && r.idleRssMB != null && load.connected > 0 ? round(((load.rssMB - r.idleRssMB) * 1024) / load.connected, 1) : null;
  return {
    uplink1_p50: d(r.solo?.uplink, "p50"),
    uplink1_p99: d(r.solo?.uplink, "p99"),
    uplink1_max: d(r.solo?.uplink, "max"),
    uplinkLoad_p50: d(load?.uplink, "p50"),
    uplinkLoad_p99: d(load?.uplink, "p99"),
    uplinkLoad_max: d(load?.uplink, "max"),
    firstAudio_p50: d(r.func?.firstAudio, "p50"),
    firstAudio_p99: d(r.func?.firstAudio, "p99"),
    firstAudio_max: d(r.func?.firstAudio, "max"),
    bargeIn_p50: d(r.func?.bargeIn, "p50"),
    bargeIn_p99: d(r.func?.bargeIn, "p99"),
    bargeIn_max: d(r.func?.bargeIn, "max"),
    underrunMs_func: r.func?.underrunMs ?? null,
    underrunMs_load: load?.underrunMs ?? null,
    durationErr_p50: d(r.func?.durationErrMs, "p50"),
    durationErr_max: d(r.func?.durationErrMs, "max"),
    delivered_p50: d(r.func?.deliveredMs, "p50"),
    toneHz_p50: hz,
    toneErrPct: hz === null ? null : round(((hz - toneHz) / toneHz) * 100, 2),
    cpuLoad: load?.cpuMsPerCallS ?? null,
    cpuHigh: high?.cpuMsPerCallS ?? null,
    rssIdleMB: r.idleRssMB,
    rssLoadMB: load?.rssMB ?? null,
    rssPerCallKB: rssPer,
    capacity: r.capacity,
  };
}
