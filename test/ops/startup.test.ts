// Refusals at start, with the real process: a port another process already listens on (unless REUSE_PORT says
// share it), and a real Gemini key with no webhook secret (unless ALLOW_UNSIGNED_WEBHOOKS says so). Both exit 2
// with a message naming what to change; offline mode needs no secret.
import { afterEach, describe, expect, test } from "bun:test";
import { ConfigError, loadConfig } from "../../src/config.ts";
import { localBaseUrl } from "../../src/http/local-url.ts";
import { Caller, streamUrlFrom } from "../support/caller.ts";
import { signedHeaders, spawnRelay, voiceBody, type RelayProcess } from "../support/relay-process.ts";
import { slowPost } from "../support/slow-post.ts";
import { until } from "../support/wait.ts";

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** The exit code, or null if the process is still running after `ms`. */
async function exitWithin(r: RelayProcess, ms: number): Promise<number | null> {
  return Promise.race([r.proc.exited, Bun.sleep(ms).then(() => null)]);
}

describe("a port already in use", () => {
  test("a second instance on the same port and host exits 2 naming both; the first keeps serving", async () => {
    const a = await spawnRelay({}, { cleanup });
    const b = await spawnRelay({ PORT: String(a.port) }, { cleanup, wait: false });
    expect(await exitWithin(b, 10000)).toBe(2);
    const err = b.err();
    expect(err).toContain(`port ${a.port}`);
    expect(err).toContain("127.0.0.1");
    expect(err).toContain("REUSE_PORT=true");
    expect(err.trim().split("\n")).toHaveLength(1);
    expect((await fetch(`${a.base}/healthz`)).status).toBe(200);
    expect(a.exited()).toBeNull();
  }, 30000);

  test("the wildcard address on a port taken on loopback is refused too", async () => {
    const a = await spawnRelay({}, { cleanup });
    const b = await spawnRelay({ PORT: String(a.port), HOST: "0.0.0.0" }, { cleanup, wait: false });
    expect(await exitWithin(b, 10000)).toBe(2);
    expect(b.err()).toContain(`port ${a.port} on 0.0.0.0`);
  }, 30000);

  test("REUSE_PORT=true on both: they share the port on purpose and both answer", async () => {
    const a = await spawnRelay({ REUSE_PORT: "true", PREWARM: "false" }, { cleanup });
    const b = await spawnRelay({ REUSE_PORT: "true", PREWARM: "false", PORT: String(a.port) }, { cleanup });
    expect(b.exited()).toBeNull();
    // The kernel spreads new connections between the two: each process answers some of them.
    for (let i = 0; i < 40; i++) {
      const body = voiceBody(`HD_share_${i}`);
      // A new TCP connection each time (the request says connection: close).
      const res = await slowPost(a.port, "/voice", signedHeaders(body), body, { firstBytes: body.length, between: async () => {} });
      expect(res.status).toBe(200);
    }
    const answered = (r: RelayProcess) => r.lines().filter((l) => String(l.msg).startsWith("new call")).length;
    await until(() => answered(a) + answered(b) === 40, "a log line for each call");
    expect(answered(a)).toBeGreaterThan(0);
    expect(answered(b)).toBeGreaterThan(0);
  }, 30000);
});

describe("webhook signatures with a real key", () => {
  test("GEMINI_API_KEY without SAUTIKIT_WEBHOOK_SECRET exits 2, saying why and naming both settings", async () => {
    const r = await spawnRelay({ SAUTIKIT_WEBHOOK_SECRET: undefined }, { cleanup, wait: false });
    expect(await exitWithin(r, 10000)).toBe(2);
    const err = r.err();
    expect(err).toContain("SAUTIKIT_WEBHOOK_SECRET");
    expect(err).toContain("ALLOW_UNSIGNED_WEBHOOKS=true");
    expect(err).toContain("GEMINI_API_KEY");
    expect(err).toContain("billed");
  }, 30000);

  test("ALLOW_UNSIGNED_WEBHOOKS=true starts it on purpose (and says so); offline mode starts without a secret", async () => {
    const r = await spawnRelay({ SAUTIKIT_WEBHOOK_SECRET: undefined, ALLOW_UNSIGNED_WEBHOOKS: "true" }, { cleanup });
    expect(r.lines().some((l) => l.level === 40 && String(l.msg).includes("ALLOW_UNSIGNED_WEBHOOKS"))).toBe(true);
    const offline = await spawnRelay({ SAUTIKIT_WEBHOOK_SECRET: undefined, GEMINI_API_KEY: undefined }, { cleanup });
    expect(((await (await fetch(`${offline.base}/healthz`)).json()) as { model: string }).model).toBe("offline");
  }, 30000);
});

describe("offline mode", () => {
  test("every line about offline mode says OFFLINE MODE, the first one included", async () => {
    const r = await spawnRelay({ GEMINI_API_KEY: undefined, GEMINI_LIVE_URL: undefined, LOG_LEVEL: "debug" }, { cleanup });
    const body = voiceBody("HD_offline_lines");
    const xml = await (await fetch(`${r.base}/voice`, { method: "POST", headers: signedHeaders(body), body })).text();
    const c = await new Caller(streamUrlFrom(xml)).open();
    await until(() => r.out().includes("using pre-warmed model session"), "the call on the echo model");
    c.ws.close();
    await until(() => r.out().includes("socket closed"), "the echo model's socket closed");
    r.kill("SIGTERM");
    expect(await r.proc.exited).toBe(0);
    const about = r.lines().filter((l) => /offline/i.test(String(l.msg)));
    expect(about.length).toBeGreaterThanOrEqual(3);
    for (const l of about) expect(String(l.msg)).toContain("OFFLINE MODE");
  }, 30000);
});

describe("the console's address", () => {
  test("HOST=0.0.0.0: the start says the console's URL on loopback, and that URL serves the console", async () => {
    const r = await spawnRelay({ HOST: "0.0.0.0" }, { cleanup });
    const line = r.lines().find((l) => String(l.msg).startsWith("console:"));
    expect(line).toMatchObject({ level: 30, url: `http://127.0.0.1:${r.port}/console`, access: "loopback only (ADMIN_TOKEN unset)" });
    const page = await fetch(String(line!.url));
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("<html");
  }, 30000);

  test("the local URL for each kind of HOST", () => {
    expect(localBaseUrl("0.0.0.0", 8080)).toBe("http://127.0.0.1:8080");
    expect(localBaseUrl("::", 8080)).toBe("http://[::1]:8080");
    expect(localBaseUrl("[::]", 8080)).toBe("http://[::1]:8080");
    expect(localBaseUrl("::1", 8080)).toBe("http://[::1]:8080");
    expect(localBaseUrl("127.0.0.1", 9000)).toBe("http://127.0.0.1:9000");
    expect(localBaseUrl("localhost", 9000)).toBe("http://localhost:9000");
    expect(localBaseUrl("192.168.1.20", 80)).toBe("http://192.168.1.20:80");
  });
});

describe("the two new settings", () => {
  test("defaults, values and refusals", () => {
    const c = loadConfig({});
    expect(c.reusePort).toBe(false);
    expect(c.allowUnsignedWebhooks).toBe(false);
    expect(loadConfig({ REUSE_PORT: "true" }).reusePort).toBe(true);
    expect(() => loadConfig({ REUSE_PORT: "sometimes" })).toThrow(ConfigError);
    expect(() => loadConfig({ ALLOW_UNSIGNED_WEBHOOKS: "maybe" })).toThrow("ALLOW_UNSIGNED_WEBHOOKS");
    try {
      loadConfig({ GEMINI_API_KEY: "k" });
      throw new Error("no refusal");
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).variable).toBe("SAUTIKIT_WEBHOOK_SECRET");
    }
    expect(loadConfig({ GEMINI_API_KEY: "k", SAUTIKIT_WEBHOOK_SECRET: "s" }).webhookSecret).toBe("s");
    expect(loadConfig({ GEMINI_API_KEY: "k", ALLOW_UNSIGNED_WEBHOOKS: "true" }).allowUnsignedWebhooks).toBe(true);
  });
});
