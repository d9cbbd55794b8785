// Hand-written SVG (no deps): p99 uplink latency and CPU per call against concurrent calls, three relays.
import type { RelayRun } from "./figures.ts";

const COLORS: Record<string, string> = { sauti: "#1b7f3b", floor: "#6b6b6b", baseline: "#c0392b" };

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

interface Panel {
  title: string;
  unit: string;
  pick: (s: RelayRun["sweep"][number]) => number | null;
  limit?: number;
}

export function renderSvg(runs: RelayRun[], title: string): string {
  const W = 920;
  const H = 380;
  const panels: Panel[] = [
    { title: "Uplink latency p99", unit: "ms", pick: (s) => s.uplink.p99, limit: 20 },
    { title: "Relay CPU per call", unit: "ms CPU per call-second", pick: (s) => s.cpuMsPerCallS },
  ];
  const steps = [...new Set(runs.flatMap((r) => r.sweep.map((s) => s.calls)))].sort((a, b) => a - b);
  const pw = 400;
  const ph = 250;
  const top = 60;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`);
  panels.forEach((p, pi) => {
    const left = 60 + pi * (pw + 60);
    const values = runs.flatMap((r) => r.sweep.map(p.pick)).filter((v): v is number => v !== null);
    let ymax = Math.max(1e-6, ...values, p.limit ?? 0) * 1.1;
    const mag = 10 ** Math.floor(Math.log10(ymax));
    ymax = Math.ceil(ymax / mag) * mag;
    const x = (i: number) => left + (steps.length <= 1 ? pw / 2 : (i * pw) / (steps.length - 1));
    const y = (v: number) => top + ph - (v / ymax) * ph;
    parts.push(`<text x="${left + pw / 2}" y="${top - 14}" text-anchor="middle" font-weight="bold">${esc(p.title)} (${esc(p.unit)})</text>`);
    parts.push(`<line x1="${left}" y1="${top + ph}" x2="${left + pw}" y2="${top + ph}" stroke="black"/>`);
    parts.push(`<line x1="${left}" y1="${top}" x2="${left}" y2="${top + ph}" stroke="black"/>`);
    for (let k = 0; k <= 4; k++) {
      const v = (ymax * k) / 4;
      parts.push(`<line x1="${left}" y1="${y(v)}" x2="${left + pw}" y2="${y(v)}" stroke="#ddd"/>`);
      parts.push(`<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${+v.toPrecision(3)}</text>`);
    }
    steps.forEach((c, i) => parts.push(`<text x="${x(i)}" y="${top + ph + 16}" text-anchor="middle">${c}</text>`));
    parts.push(`<text x="${left + pw / 2}" y="${top + ph + 34}" text-anchor="middle">concurrent calls</text>`);
    if (p.limit !== undefined && p.limit <= ymax) {
      parts.push(`<line x1="${left}" y1="${y(p.limit)}" x2="${left + pw}" y2="${y(p.limit)}" stroke="#e67e22" stroke-dasharray="5,4"/>`);
      parts.push(`<text x="${left + pw - 4}" y="${y(p.limit) - 4}" text-anchor="end" fill="#e67e22">capacity limit ${p.limit} ms</text>`);
    }
    for (const r of runs) {
      const pts = r.sweep
        .map((s) => ({ i: steps.indexOf(s.calls), v: p.pick(s) }))
        .filter((q): q is { i: number; v: number } => q.v !== null);
      const color = COLORS[r.name] ?? "black";
      if (pts.length > 1) {
        parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map((q) => `${x(q.i).toFixed(1)},${y(q.v).toFixed(1)}`).join(" ")}"/>`);
      }
      for (const q of pts) parts.push(`<circle cx="${x(q.i).toFixed(1)}" cy="${y(q.v).toFixed(1)}" r="3.5" fill="${color}"/>`);
    }
  });
  runs.forEach((r, i) => {
    const lx = 60 + i * 260;
    parts.push(`<rect x="${lx}" y="${H - 26}" width="14" height="4" fill="${COLORS[r.name] ?? "black"}"/>`);
    parts.push(`<text x="${lx + 20}" y="${H - 20}">${esc(r.label)}</text>`);
  });
  parts.push("</svg>");
  return parts.join("\n");
}
