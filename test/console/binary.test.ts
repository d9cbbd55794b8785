// The console from the compiled binary, not only from source: `bun run build` bundles the pages into
// dist/sauti-relay; started offline in an empty directory, it serves them, and a softphone call in Chromium
// hears the echo and leaves a browser record.
import { describe, expect, test } from "bun:test";
import { scratchDatabaseUrl } from "../support/scratch-db.ts";
import { existsSync } from "node:fs";
import { artifactPath, browserAvailable, launch, speechLike, startCall, untilPage, wav } from "../support/browser.ts";

const root = new URL("../..", import.meta.url).pathname;
const run = browserAvailable();

async function healthy(base: string, timeoutMs = 10000): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() - t0 > timeoutMs) throw new Error("binary never answered /healthz");
    await Bun.sleep(50);
  }
}

describe.skipIf(!run)("console in the compiled binary", () => {
  test("serves the bundled pages, and a softphone call through it works", async () => {
    const build = Bun.spawn(["bun", "run", "build"], { cwd: root, stdout: "pipe", stderr: "pipe" });
    expect(await build.exited).toBe(0);
    expect(existsSync(`${root}dist/sauti-relay`)).toBe(true);
    // The binary's first argument `check` validates and prints instead of starting (src/ops/check.ts).
    const checked = async (extra: Record<string, string>) => {
      const c = Bun.spawn([`${root}dist/sauti-relay`, "check"], { cwd: "/tmp", env: { PATH: process.env.PATH ?? "", ...extra }, stdout: "pipe", stderr: "pipe" });
      return { code: await c.exited, out: await new Response(c.stdout).text(), err: await new Response(c.stderr).text() };
    };
    const ok = await checked({ AGENT_LANGUAGE: "sw" });
    expect(ok.code).toBe(0);
    expect(ok.out).toContain("agent default");
    const bad = await checked({ GEMINI_START_SENSITIVITY: "medium" });
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('invalid GEMINI_START_SENSITIVITY="medium"');
    const port = 20000 + Math.floor(Math.random() * 20000);
    const base = `http://127.0.0.1:${port}`;
    const env = { PATH: process.env.PATH ?? "", PORT: String(port), HOST: "127.0.0.1", DATABASE_URL: scratchDatabaseUrl() };
    const p = Bun.spawn([`${root}dist/sauti-relay`], { cwd: "/tmp", env, stdout: "pipe", stderr: "pipe" });
    try {
      await healthy(base);
      // The page names its bundled script and stylesheet; both come out of the binary.
      const html = await (await fetch(`${base}/console/calls`)).text();
      const js = /<script[^>]+src="(\/[^"]+\.js)"/.exec(html)?.[1];
      const css = /<link[^>]+href="(\/[^"]+\.css)"/.exec(html)?.[1];
      expect(js).toBeDefined();
      expect(css).toBeDefined();
      const script = await fetch(base + js);
      expect(script.headers.get("content-type")).toContain("javascript");
      expect(await script.text()).toContain("/api/console/events");
      expect((await fetch(base + css!)).status).toBe(200);

      const wavPath = artifactPath("speech-48k-binary.wav");
      await Bun.write(wavPath, wav(speechLike(48000), 48000));
      await using browser = await launch(wavPath);
      const phone = await browser.newPage();
      const callId = await startCall(phone, base);
      await untilPage(phone, (s) => s.rxBytes > 48000 && s.playedMs > 1000, "echo audio received and played", 20000);
      await phone.click("#call");
      await untilPage(phone, (s) => s.state === "ended", "softphone ended");
      let rec: { id: string; source: string; endReason: string } | undefined;
      for (let i = 0; rec === undefined && i < 100; i++) {
        const r = await fetch(`${base}/api/console/calls/${callId}`);
        if (r.ok) rec = (await r.json()) as typeof rec;
        else await Bun.sleep(50);
      }
      expect(rec).toMatchObject({ id: callId, source: "browser", endReason: "caller_hangup" });
      p.kill("SIGTERM");
      expect(await p.exited).toBe(0);
    } finally {
      p.kill();
    }
  }, 60000);
});
