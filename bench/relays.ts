// The three relays measured side by side, each started as its own process on loopback.
import { closeSync, existsSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export type RelayName = "sauti" | "floor" | "baseline";

export interface RelaySpec {
  name: RelayName;
  label: string;
  cmd: string[];
  /** The baseline speaks the deprecated mediaChunks: the stand-in must accept it. */
  lenient: boolean;
  /** How its downlink maps to the model's audio (see StepPlan.delivery). */
  delivery: { bytesPerMs: number };
  env: (port: number, liveUrl: string) => Record<string, string>;
}

export const ROOT = join(import.meta.dir, "..");
export const SECRET = "bench-webhook-secret";
export const API_KEY = "bench-key";

/** Where a bench relay on `port` records (when RECORD_CALLS=true); startRelay removes it when the relay stops. */
export function benchRecordingsDir(port: number): string {
  return join(tmpdir(), `sauti-bench-rec-${process.pid}-${port}`);
}

export function relaySpecs(opts: { binary: boolean; set?: Record<string, string>; profileDir?: string }): RelaySpec[] {
  // --profile: Bun's sampling profiler on Sauti Relay, a markdown report per run in that folder.
  const prof = opts.profileDir === undefined || opts.binary ? [] : ["--cpu-prof", "--cpu-prof-md", `--cpu-prof-dir=${opts.profileDir}`];
  return [
    {
      name: "sauti",
      label: opts.binary ? "Sauti Relay (dist/sauti-relay)" : "Sauti Relay (bun src/main.ts)",
      cmd: opts.binary ? [join(ROOT, "dist/sauti-relay")] : [process.execPath, ...prof, join(ROOT, "src/main.ts")],
      lenient: false,
      delivery: { bytesPerMs: 32 }, // 24 kHz resampled to 16 kHz
      env: (port, liveUrl) => ({
        PORT: String(port),
        HOST: "127.0.0.1",
        PUBLIC_URL: `http://127.0.0.1:${port}`,
        GEMINI_LIVE_URL: liveUrl,
        GEMINI_API_KEY: API_KEY,
        SAUTIKIT_WEBHOOK_SECRET: SECRET,
        STREAM_TOKEN_SECRET: "bench-stream-token-secret-0123456789",
        // Records are part of the measured path; one throwaway file per relay start, outside the repo.
        DATABASE_URL: `sqlite://${tmpdir()}/sauti-bench-${process.pid}-${port}.db`,
        // With --set RECORD_CALLS=true every call is recorded: into a throwaway directory, removed at the relay's
        // stop, and without the recording notice (the stand-in would answer it with a tone nobody asked for).
        RECORDINGS_DIR: benchRecordingsDir(port),
        RECORDING_NOTICE: "",
        LOG_LEVEL: "warn",
        // Pre-warm opens the Live session during the webhook; the sweep dials hundreds of calls at once.
        PREWARM: "false",
        // No greeting: the stand-in would answer it with a tone the bench did not ask for.
        AGENT_GREETING: "",
        // The sweep measures capacity, so it must go past the admission limit (MAX_CALLS, default 300).
        MAX_CALLS: "100000",
        ...opts.set,
      }),
    },
    {
      name: "floor",
      label: "Floor (bench/floor.ts, Bun)",
      cmd: [process.execPath, join(ROOT, "bench/floor.ts")],
      lenient: false,
      delivery: { bytesPerMs: 48 }, // forwards the model's 24 kHz PCM as is
      env: (port, liveUrl) => ({ PORT: String(port), HOST: "127.0.0.1", GEMINI_LIVE_URL: liveUrl, GEMINI_API_KEY: API_KEY }),
    },
    {
      name: "baseline",
      label: "Tutorial baseline (Node + ws + express)",
      cmd: ["node", join(ROOT, "bench/baseline/relay.mjs")],
      lenient: true,
      delivery: { bytesPerMs: 48 }, // forwards the model's 24 kHz PCM as is
      env: (port, liveUrl) => ({ PORT: String(port), HOST: "127.0.0.1", GEMINI_LIVE_URL: liveUrl, GEMINI_API_KEY: API_KEY }),
    },
  ];
}

export interface RelayProc {
  spec: RelaySpec;
  pid: number;
  base: string;
  logPath: string;
  stop(): Promise<void>;
}

const children = new Set<{ pid: number; kill: (sig?: number) => void }>();

/** Kills every child still running; wired to exit, SIGINT, SIGTERM and fatal errors by run.ts. */
export function killAllChildren(): void {
  for (const c of children) {
    try {
      c.kill(9);
    } catch {
      // already gone
    }
  }
  children.clear();
}

export async function freePort(): Promise<number> {
  const s = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const p = s.port!;
  await s.stop(true);
  return p;
}

/** `pinCpu`: run the relay on that one core only (`taskset -c`), for the capacity sweep. */
export async function startRelay(spec: RelaySpec, liveUrl: string, logDir: string, pinCpu?: number): Promise<RelayProc> {
  const entry = spec.cmd[spec.cmd.length - 1]!;
  if (!existsSync(entry)) throw new Error(`${spec.label}: ${entry} does not exist${entry.endsWith("sauti-relay") ? " (run `bun run build` first)" : ""}`);
  const port = await freePort();
  const logPath = join(logDir, `${spec.name}.log`);
  const fd = openSync(logPath, "w");
  const cmd = pinCpu === undefined ? spec.cmd : ["taskset", "-c", String(pinCpu), ...spec.cmd];
  const proc = Bun.spawn(cmd, {
    cwd: ROOT,
    env: { ...process.env, ...spec.env(port, liveUrl) },
    stdin: "ignore",
    stdout: fd,
    stderr: fd,
  });
  closeSync(fd);
  const child = { pid: proc.pid, kill: (sig?: number) => proc.kill(sig) };
  children.add(child);
  const base = `http://127.0.0.1:${port}`;
  const stop = async () => {
    proc.kill("SIGTERM");
    const exited = await Promise.race([proc.exited.then(() => true), Bun.sleep(3000).then(() => false)]);
    if (!exited) proc.kill(9);
    children.delete(child);
    rmSync(benchRecordingsDir(port), { recursive: true, force: true });
  };
  const deadline = performance.now() + 15_000;
  while (performance.now() < deadline) {
    if (proc.exitCode !== null) break;
    try {
      const r = await fetch(`${base}/healthz`);
      if (r.status === 200) return { spec, pid: proc.pid, base, logPath, stop };
    } catch {
      // not listening yet
    }
    await Bun.sleep(50);
  }
  await stop();
  const tail = readFileSync(logPath, "utf8").slice(-1500);
  throw new Error(`${spec.label} did not become ready (exit ${proc.exitCode}); log tail:\n${tail}`);
}
