// Smoke test for `bun run bench --quick`: runs it as a subprocess into a temporary directory and checks
// that the result JSON holds every figure for all three relays. No timing assertions: numbers belong to the bench.
import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FIGURE_KEYS } from "../bench/figures.ts";

const ROOT = join(import.meta.dir, "..");

test(
  "bench --quick writes every figure for the relay, the floor and the baseline",
  async () => {
    const out = mkdtempSync(join(tmpdir(), "bench-smoke-"));
    try {
      const proc = Bun.spawn([process.execPath, join(ROOT, "bench/run.ts"), "--quick", "--out", out], {
        cwd: ROOT,
        stdout: "pipe",
        stderr: "pipe",
      });
      const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
      if (code !== 0) console.error(stdout.slice(-3000), stderr.slice(-3000));
      expect(code).toBe(0);

      const result = JSON.parse(readFileSync(join(out, "latest.json"), "utf8")) as {
        figures: Record<string, Record<string, number | null>>;
        runs: Array<{ name: string; error?: string; sweep: unknown[] }>;
      };
      for (const relay of ["sauti", "floor", "baseline"]) {
        const f = result.figures[relay];
        expect(f).toBeDefined();
        const run = result.runs.find((r) => r.name === relay);
        expect(run?.error).toBeUndefined();
        expect(run?.sweep.length).toBeGreaterThanOrEqual(2);
        // Every figure present, and measured (a number, not null) — quick mode reaches every step.
        const missing = FIGURE_KEYS.filter((k) => typeof f![k] !== "number");
        expect(missing).toEqual([]);
      }
      expect(readFileSync(join(out, "latest.md"), "utf8")).toContain("| Figure |");
      expect(readFileSync(join(out, "latest.svg"), "utf8")).toStartWith("<svg");
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  },
  120_000,
);

test("bench options: a count that is not a whole number in range exits 2 naming the option, before any relay starts", async () => {
  const cases: Array<[string[], string]> = [
    [["bench/run.ts", "--quick", "--steps", "4,x"], "--steps"],
    [["bench/run.ts", "--quick", "--steps", "4,,8"], "--steps"],
    [["bench/run.ts", "--quick", "--periods", "0"], "--periods"],
    [["bench/run.ts", "--capacity", "--bar-rounds", "1.5"], "--bar-rounds"],
    [["bench/ab.ts", ".", "floor", "--rounds", "0"], "--rounds"],
  ];
  for (const [args, option] of cases) {
    const proc = Bun.spawn([process.execPath, ...args.map((a, i) => (i === 0 ? join(ROOT, a) : a))], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
    expect({ args, code }).toEqual({ args, code: 2 });
    expect(stderr).toContain(`${option} must be a whole number`);
  }
});
