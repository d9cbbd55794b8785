// The relay as a real process (`bun src/main.ts`) on a loopback port, for tests that signal it, start two of
// them, or watch how it exits. Its stdout (pino JSON lines) is read as it comes, so a full pipe never blocks it.
import type { Subprocess } from "bun";
import { signBody } from "../../src/signing/sautikit.ts";
import { scratchDatabaseUrl } from "./scratch-db.ts";

const root = new URL("../..", import.meta.url).pathname;

/** The webhook secret every spawned relay gets unless the test says otherwise. */
export const PROCESS_SECRET = "whsec_process_test_secret";

export interface RelayProcess {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  port: number;
  base: string;
  out: () => string;
  err: () => string;
  exited: () => number | null;
  /** The stdout lines parsed (each is one JSON object). */
  lines: () => Array<Record<string, unknown>>;
  kill: (signal?: NodeJS.Signals) => void;
}

export async function freePort(): Promise<number> {
  const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = s.port!;
  await s.stop(true);
  return port;
}

/** The environment every test relay starts from: loopback, a scratch database, a key and a webhook secret. */
export function baseEnv(port: number): Record<string, string> {
  return {
    DATABASE_URL: scratchDatabaseUrl(),
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
  const merged: Record<string, string | undefined> = { ...baseEnv(port), ...env };
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
  const r: RelayProcess = {
    proc,
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
