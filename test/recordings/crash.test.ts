// The relay as a process, killed (SIGKILL) in the middle of a recorded call: the file it leaves plays up to its
// last write (its header is current after every batch; Python's wave module reads it), and the next relay started
// on the same directory and database finishes it (renamed to .wav) and its record says `partial`.
import { afterAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import type { CallRecord } from "../../src/records/record.ts";
import { parsePart } from "../../src/recordings/names.ts";
import { HEADER_BYTES, readWavHeader } from "../../src/recordings/wav.ts";
import { Caller, streamUrlFrom } from "../support/caller.ts";
import { scratchDir } from "./support.ts";

const root = new URL("../..", import.meta.url).pathname;
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function start(env: Record<string, string>, cmd = ["bun", "src/main.ts"]): Promise<{ proc: Bun.Subprocess; base: string }> {
  const port = 20000 + Math.floor(Math.random() * 30000);
  const proc = Bun.spawn(cmd, { cwd: root, env: { ...process.env, ...env, PORT: String(port), HOST: "127.0.0.1", PUBLIC_URL: `http://127.0.0.1:${port}` }, stdout: "ignore", stderr: "ignore" });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/healthz`)).status === 200) return { proc, base };
    } catch {
      // not yet
    }
    if (i > 300 || proc.exitCode !== null) throw new Error(`relay did not start (exit ${proc.exitCode})`);
    await Bun.sleep(50);
  }
}

/** Python's wave module: what a plain WAV reader makes of the file (channels, rate, frames). */
function pythonReads(path: string): { channels: number; rate: number; frames: number } {
  const py = `import wave,sys,json\nw=wave.open(sys.argv[1],'rb')\nn=w.getnframes()\nd=w.readframes(n)\nprint(json.dumps({"channels":w.getnchannels(),"rate":w.getframerate(),"frames":len(d)//4}))`;
  const r = Bun.spawnSync(["python3", "-c", py, path], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`python3 could not read ${path}: ${r.stderr.toString()}`);
  return JSON.parse(r.stdout.toString()) as { channels: number; rate: number; frames: number };
}

/** One call of `ms` of caller audio on the relay at `base`. */
async function callFor(base: string, callId: string, ms: number): Promise<Caller> {
  const res = await fetch(`${base}/voice`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: `sessionId=${callId}&callerNumber=%2B254700000001&destinationNumber=%2B254700000002`,
  });
  const c = await new Caller(streamUrlFrom(await res.text())).open();
  const frame = new Uint8Array(640).fill(3);
  for (let t = 0; t < ms; t += 20) {
    c.ws.send(frame);
    await Bun.sleep(20);
  }
  return c;
}

describe("a relay killed mid-call", () => {
  test("leaves a WAV that plays to its last write; the next relay finishes it and the record says partial", async () => {
    const d = scratchDir("crash");
    dirs.push(d);
    const env = {
      DATABASE_URL: `sqlite://${join(d, "records.db")}`,
      RECORD_CALLS: "true",
      RECORDINGS_DIR: join(d, "rec"),
      RECORDING_NOTICE: "",
      AGENT_GREETING: "",
      LOG_LEVEL: "warn",
    };
    const first = await start(env);
    let second: Awaited<ReturnType<typeof start>> | undefined;
    try {
      await callFor(first.base, "crash-1", 1500);
      first.proc.kill("SIGKILL");
      await first.proc.exited;

      const left = readdirSync(join(d, "rec"));
      expect(left).toHaveLength(1);
      const part = parsePart(left[0]!)!;
      expect(part.name).toBe("crash-1");
      expect(part.pid).toBe(first.proc.pid);
      const path = join(d, "rec", left[0]!);
      const header = readWavHeader(readFileSync(path))!;
      expect(header).toMatchObject({ rate: 16000, channels: 2 });
      // At least a few batches were written, and the header covers only what is there.
      expect(header.dataBytes).toBeGreaterThan(16000 * 4 * 0.5);
      expect(HEADER_BYTES + header.dataBytes).toBeLessThanOrEqual(statSync(path).size);
      expect(pythonReads(path)).toEqual({ channels: 2, rate: 16000, frames: header.dataBytes / 4 });

      second = await start(env);
      let rec: CallRecord | undefined;
      for (let i = 0; rec?.recording?.status !== "partial"; i++) {
        if (i > 200) throw new Error(`the record never said partial: ${JSON.stringify(rec?.recording)}`);
        await Bun.sleep(50);
        const r = await fetch(`${second.base}/api/calls/crash-1`);
        rec = r.status === 200 ? ((await r.json()) as CallRecord) : undefined;
      }
      const finished = join(d, "rec", "crash-1.wav");
      expect(readdirSync(join(d, "rec"))).toEqual(["crash-1.wav"]);
      expect(rec.recording!.location).toBe(finished);
      expect(rec.recording!.error).toContain("stopped during the call");
      const py = pythonReads(finished);
      expect(py.frames).toBeGreaterThanOrEqual(header.dataBytes / 4);
      expect(rec.recording!.bytes).toBe(statSync(finished).size);
      // The API serves it.
      const got = await fetch(`${second.base}/api/calls/crash-1/recording`);
      expect(got.status).toBe(200);
      expect((await got.arrayBuffer()).byteLength).toBe(rec.recording!.bytes);
    } finally {
      first.proc.kill("SIGKILL");
      second?.proc.kill("SIGTERM");
      await second?.proc.exited;
    }
  }, 60000);

  test("the compiled binary records too (its disk writer thread is built into it)", async () => {
    const build = Bun.spawn(["bun", "run", "build"], { cwd: root, stdout: "pipe", stderr: "pipe" });
    expect(await build.exited).toBe(0);
    const d = scratchDir("binary");
    dirs.push(d);
    const env = { DATABASE_URL: `sqlite://${join(d, "records.db")}`, RECORD_CALLS: "true", RECORDINGS_DIR: join(d, "rec"), RECORDING_NOTICE: "", AGENT_GREETING: "", LOG_LEVEL: "warn" };
    const relay = await start(env, [join(root, "dist/sauti-relay")]);
    try {
      const c = await callFor(relay.base, "binary-1", 600);
      c.ws.close();
      let rec: CallRecord | undefined;
      for (let i = 0; rec?.recording?.status !== "ready"; i++) {
        if (i > 200) throw new Error(`the record never said ready: ${JSON.stringify(rec?.recording)}`);
        await Bun.sleep(50);
        const r = await fetch(`${relay.base}/api/calls/binary-1`);
        rec = r.status === 200 ? ((await r.json()) as CallRecord) : undefined;
      }
      expect(pythonReads(rec.recording!.location!).frames).toBeGreaterThan(16000 * 0.4);
    } finally {
      relay.proc.kill("SIGTERM");
      await relay.proc.exited;
    }
  }, 90000);
});
