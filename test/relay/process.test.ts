// The relay as a process: config errors exit 2; the compiled binary starts, answers /healthz, stops on SIGTERM.
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { removeSqlite } from "../support/scratch-db.ts";

const root = new URL("../..", import.meta.url).pathname;

async function waitHealthy(port: number, timeoutMs = 10000): Promise<Response> {
  const t0 = Date.now();
  for (;;) {
    try {
      return await fetch(`http://127.0.0.1:${port}/healthz`);
    } catch {
      if (Date.now() - t0 > timeoutMs) throw new Error("relay never answered /healthz");
      await Bun.sleep(50);
    }
  }
}

describe("process", () => {
  test("a bad PORT exits 2 with a message naming the variable", async () => {
    const p = Bun.spawn(["bun", "src/main.ts"], { cwd: root, env: { ...process.env, PORT: "eighty" }, stderr: "pipe", stdout: "pipe" });
    expect(await p.exited).toBe(2);
    const err = await new Response(p.stderr).text();
    expect(err).toContain("PORT");
    expect(err).toContain("integer");
  });

  test("other bad settings exit 2 too", async () => {
    for (const env of [{ PLAYBACK_RATE: "44100" }, { PUBLIC_URL: "not a url" }, { PREWARM: "maybe" }, { IDLE_GC: "maybe" }]) {
      const p = Bun.spawn(["bun", "src/main.ts"], { cwd: root, env: { ...process.env, ...env }, stderr: "pipe", stdout: "pipe" });
      expect(await p.exited).toBe(2);
      expect(await new Response(p.stderr).text()).toContain(Object.keys(env)[0]!);
    }
  });

  test("the compiled binary starts offline, answers /healthz and shuts down on SIGTERM", async () => {
    const build = Bun.spawn(["bun", "run", "build"], { cwd: root, stdout: "pipe", stderr: "pipe" });
    expect(await build.exited).toBe(0);
    expect(existsSync(`${root}dist/sauti-relay`)).toBe(true);
    const port = 20000 + Math.floor(Math.random() * 20000);
    const db = `/tmp/sauti-process-test-${process.pid}.db`;
    const env: Record<string, string> = { PATH: process.env.PATH ?? "", PORT: String(port), HOST: "127.0.0.1", DATABASE_URL: `sqlite://${db}` };
    const p = Bun.spawn([`${root}dist/sauti-relay`], { cwd: "/tmp", env, stdout: "pipe", stderr: "pipe" });
    try {
      const res = await waitHealthy(port);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { model: string }).model).toBe("offline");
      // The console's pages and the icon they ask for are in the binary.
      expect((await fetch(`http://127.0.0.1:${port}/console`)).status).toBe(200);
      const icon = await fetch(`http://127.0.0.1:${port}/favicon.ico`);
      expect(icon.status).toBe(200);
      expect(icon.headers.get("content-type")).toBe("image/svg+xml");
      p.kill("SIGTERM");
      expect(await p.exited).toBe(0);
      const out = await new Response(p.stdout).text();
      expect(out).toContain("OFFLINE MODE");
      expect(out).toContain("drain: not ready for new calls");
      expect(out).toContain('"msg":"exiting"');
      for (const line of out.trim().split("\n")) expect(() => JSON.parse(line)).not.toThrow();
    } finally {
      p.kill();
      removeSqlite(db);
    }
  }, 60000);
});
