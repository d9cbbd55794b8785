// The relay as an operator runs it: `bun src/main.ts` in a process of its own, on a loopback port, with its memory
// read from outside (/proc/<pid>/status VmRSS, what `ps -o rss` shows). Used by the memory tests and
// bench/memory.ts, so both measure the same way and nothing inside the relay forces a collection.
import { readFileSync } from "node:fs";
import type { Subprocess } from "bun";
import { Caller, streamUrlFrom } from "./caller.ts";
import { tmpdir } from "node:os";
import { removeSqlite } from "./scratch-db.ts";

const root = new URL("../..", import.meta.url).pathname;

export const MiB = 1024 * 1024;

export interface RelayProcess {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  pid: number;
  base: string;
  /** Everything the relay wrote to stdout so far (pino JSON lines), and to stderr. */
  out(): string;
  err(): string;
  /** Posts the voice webhook and opens the caller's audio socket on the stream URL it answers with. */
  dial(callId: string): Promise<Caller>;
  /** Resident set size now, bytes (VmRSS); throws once the process is gone. */
  rss(): number;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** VmRSS of `pid` in bytes, read from /proc as `ps` does. */
export function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (m === null) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}

async function freePort(): Promise<number> {
  const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = s.port!;
  await s.stop(true);
  return port;
}

/** Starts the relay with `env` on top of a minimal environment (no GEMINI_API_KEY unless given: offline mode). */
export async function spawnRelay(env: Record<string, string>): Promise<RelayProcess> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const db = `${tmpdir()}/sauti-relay-process-${process.pid}-${port}.db`;
  const proc = Bun.spawn([process.execPath, "src/main.ts"], {
    cwd: root,
    env: {
      DATABASE_URL: `sqlite://${db}`,
      PATH: process.env.PATH ?? "",
      PORT: String(port),
      HOST: "127.0.0.1",
      PUBLIC_URL: base,
      STREAM_TOKEN_SECRET: "relay-process-secret",
      ...env,
    },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  // Read stdout as it comes, so a full pipe never blocks the relay's logging.
  let text = "";
  let errText = "";
  void (async () => {
    const dec = new TextDecoder();
    for await (const chunk of proc.stdout) text += dec.decode(chunk, { stream: true });
  })();
  void (async () => {
    const dec = new TextDecoder();
    for await (const chunk of proc.stderr) errText += dec.decode(chunk, { stream: true });
  })();
  const t0 = Date.now();
  for (;;) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (proc.exitCode !== null || Date.now() - t0 > 15000) {
      proc.kill("SIGKILL");
      removeSqlite(db);
      await proc.exited;
      throw new Error(`relay did not start: ${errText}`);
    }
    await Bun.sleep(50);
  }
  const stop = async () => {
    proc.kill("SIGKILL");
    await proc.exited;
    removeSqlite(db);
  };
  return {
    proc,
    pid: proc.pid,
    base,
    out: () => text,
    err: () => errText,
    async dial(callId) {
      const res = await fetch(`${base}/voice`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: `sessionId=${encodeURIComponent(callId)}&callerNumber=%2B254700000001&destinationNumber=%2B254700000002`,
      });
      if (res.status !== 200) throw new Error(`webhook answered ${res.status}`);
      return new Caller(streamUrlFrom(await res.text())).open();
    },
    rss: () => rssOf(proc.pid),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/**
 * Reads RSS every `everyMs` from `fromMs` to `toMs` after now, and returns as soon as a reading is at or under
 * `bound` (or every reading, when none is). Polling rather than one late reading: the allocator and the collector
 * give memory back on their own schedule, and the question is whether they do within the window.
 */
export async function settledRss(
  relay: RelayProcess,
  bound: number,
  opts: { fromMs?: number; toMs?: number; everyMs?: number } = {},
): Promise<{ rss: number; atMs: number; readings: number[] }> {
  const { fromMs = 3000, toMs = 8000, everyMs = 250 } = opts;
  const t0 = performance.now();
  const readings: number[] = [];
  await Bun.sleep(fromMs);
  for (;;) {
    const rss = relay.rss();
    readings.push(rss);
    const atMs = performance.now() - t0;
    if (rss <= bound || atMs >= toMs) return { rss, atMs, readings };
    await Bun.sleep(everyMs);
  }
}
