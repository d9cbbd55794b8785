// The relay as an operator runs it: `bun src/main.ts` in a process of its own on a loopback port, for tests that
// signal it, start two of them, watch how it exits, or read its memory from outside (/proc/<pid>/status VmRSS,
// what `ps -o rss` shows; nothing inside the relay forces a collection). Its stdout (pino JSON lines) is read as
// it comes, so a full pipe never blocks it. bench/memory.ts uses it too, so both measure the same way.
import { readFileSync } from "node:fs";
import type { Subprocess } from "bun";
import { signBody } from "../../src/signing/sautikit.ts";
import { Caller, streamUrlFrom } from "./caller.ts";
import { removeSqlite, scratchSqliteFile } from "./scratch-db.ts";

const root = new URL("../..", import.meta.url).pathname;

/** The webhook secret every spawned relay gets unless the test says otherwise. */
export const PROCESS_SECRET = "whsec_process_test_secret";

export const MiB = 1024 * 1024;

export interface RelayProcess {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  pid: number;
  port: number;
  base: string;
  out: () => string;
  err: () => string;
  exited: () => number | null;
  /** The stdout lines parsed (each is one JSON object). */
  lines: () => Array<Record<string, unknown>>;
  kill: (signal?: NodeJS.Signals) => void;
  /** Posts the signed voice webhook and opens the caller's audio socket on the stream URL it answers with. */
  dial(callId: string): Promise<Caller>;
  /** Resident set size now, bytes (VmRSS); throws once the process is gone. */
  rss(): number;
  /** SIGKILL, wait for the exit, remove the scratch database. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** VmRSS of `pid` in bytes, read from /proc as `ps` does. */
export function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (m === null) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}

export async function freePort(): Promise<number> {
  const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = s.port!;
  await s.stop(true);
  return port;
}

/** The environment every test relay starts from: loopback, a scratch database, a key and a webhook secret. */
export function baseEnv(port: number, db = scratchSqliteFile("process")): Record<string, string> {
  return {
    DATABASE_URL: `sqlite://${db}`,
    PATH: process.env.PATH ?? "",
    PORT: String(port),
    HOST: "127.0.0.1",
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    GEMINI_API_KEY: "test-key",
    // Nothing listens there: a test that wants a model gives its stand-in's URL; none reaches the real service.
    GEMINI_LIVE_URL: "ws://127.0.0.1:9/live",
    SAUTIKIT_WEBHOOK_SECRET: PROCESS_SECRET,
    STREAM_TOKEN_SECRET: "process-test-stream-secret",
    AGENT_GREETING: "",
  };
}

/**
 * Spawns the relay. `env` is laid over baseEnv (a value of undefined removes a setting). Unless `wait` is false, resolves
 * once it logged that it listens and /healthz answers, and throws with its stderr if it exits or does not answer within 15 s.
 */
export async function spawnRelay(
  env: Record<string, string | undefined> = {},
  o: { cleanup?: Array<() => unknown>; wait?: boolean; port?: number } = {},
): Promise<RelayProcess> {
  const port = o.port ?? (env.PORT !== undefined ? Number(env.PORT) : await freePort());
  const db = scratchSqliteFile("process");
  const merged: Record<string, string | undefined> = { ...baseEnv(port, db), ...env };
  for (const [k, v] of Object.entries(merged)) if (v === undefined) delete merged[k];
  const proc = Bun.spawn([process.execPath, "src/main.ts"], { cwd: root, env: merged, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  o.cleanup?.push(() => proc.kill("SIGKILL"));
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
  let code: number | null = null;
  void proc.exited.then((c) => (code = c));
  const base = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    proc.kill("SIGKILL");
    await proc.exited;
    removeSqlite(db);
  };
  const r: RelayProcess = {
    proc,
    pid: proc.pid,
    port,
    base,
    out: () => text,
    err: () => errText,
    exited: () => code,
    lines: () =>
      text
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    kill: (signal = "SIGTERM") => proc.kill(signal),
    async dial(callId) {
      const res = await postVoice(base, callId, merged.SAUTIKIT_WEBHOOK_SECRET ?? PROCESS_SECRET);
      if (res.status !== 200) throw new Error(`webhook answered ${res.status}`);
      return new Caller(streamUrlFrom(await res.text())).open();
    },
    rss: () => rssOf(proc.pid),
    stop,
    [Symbol.asyncDispose]: stop,
  };
  if (o.wait === false) return r;
  // Its own "listening" line, not just /healthz: another process may share the port (REUSE_PORT).
  const t0 = Date.now();
  for (;;) {
    if (text.includes('"msg":"sauti-relay listening"')) {
      try {
        if ((await fetch(`${base}/healthz`)).ok) break;
      } catch {
        // not answering yet
      }
    }
    if (code !== null || Date.now() - t0 > 15000) {
      await proc.exited.catch(() => undefined);
      throw new Error(`relay did not start (exit ${code}): ${errText}`);
    }
    await Bun.sleep(50);
  }
  return r;
}

/** Headers for a voice webhook signed with `secret`. */
export function signedHeaders(body: string, secret = PROCESS_SECRET): Record<string, string> {
  return { "content-type": "application/x-www-form-urlencoded", "x-sautikit-signature": signBody(secret, body) };
}

export function voiceBody(callId: string): string {
  return `sessionId=${callId}&callerNumber=%2B254700000001&destinationNumber=%2B254700000002`;
}

/** POSTs the voice webhook for `callId`, signed. */
export function postVoice(base: string, callId: string, secret = PROCESS_SECRET): Promise<Response> {
  const body = voiceBody(callId);
  return fetch(`${base}/voice`, { method: "POST", headers: signedHeaders(body, secret), body });
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
