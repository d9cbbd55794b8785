// The pieces behind the hardening, on their own: the stream mark, the silence watch, the log limit, call ids and
// the new settings. The same behaviour over real sockets is in hardening.test.ts and model-legs.test.ts.
import { describe, expect, test } from "bun:test";
import pino from "pino";
import { ConfigError, DEFAULT_MAX_CALLS, loadConfig } from "../../src/config.ts";
import { LOG_FIRST, LogLimit } from "../../src/log-limit.ts";
import { clip } from "../../src/log.ts";
import { CALL_ID_MAX, isSafeCallId } from "../../src/telephony/call-id.ts";
import { SilenceWatch } from "../../src/telephony/silence-watch.ts";
import { MemoryStreamClaims } from "../../src/telephony/stream-claims.ts";

describe("MemoryStreamClaims", () => {
  test("ok, then busy while open, ended once closed; a failed upgrade frees the URL", async () => {
    const c = new MemoryStreamClaims(600_000);
    expect(await c.claim("A")).toBe("ok");
    expect(await c.claim("A")).toBe("busy");
    expect(await c.claim("B")).toBe("ok");
    await c.release("B", false); // B's upgrade failed
    expect(await c.claim("B")).toBe("ok");
    await c.release("A", true);
    expect(await c.claim("A")).toBe("ended");
    expect(await c.claim("A")).toBe("ended");
  });

  test("marks live as long as the stream token, and the map is bounded", async () => {
    let now = 0;
    const c = new MemoryStreamClaims(1000, 3, () => now);
    expect(await c.claim("A")).toBe("ok");
    await c.release("A", true);
    now = 999;
    expect(await c.claim("A")).toBe("ended");
    now = 1000; // the token has expired too: nothing left to guard
    expect(await c.claim("A")).toBe("ok");
    for (const id of ["B", "C", "D", "E"]) await c.claim(id);
    expect(c.size).toBe(3);
  });
});

describe("SilenceWatch", () => {
  test("fires once for an item whose frame counter stops, never for one that moves; off at 0", () => {
    let now = 0;
    const fired: string[] = [];
    const frames = new Map([["quiet", 0], ["busy", 0]]);
    const w = new SilenceWatch<string>(1000, (k) => frames.get(k)!, (k) => fired.push(k), 1_000_000, () => now);
    w.add("quiet");
    w.add("busy");
    for (let t = 0; t <= 3000; t += 250) {
      now = t;
      frames.set("busy", frames.get("busy")! + 1);
      w.sweep();
    }
    expect(fired).toEqual(["quiet"]);
    expect(w.size).toBe(1);
    w.remove("busy");
    expect(w.size).toBe(0);

    const off = new SilenceWatch<string>(0, () => 0, () => fired.push("off"));
    off.add("x");
    expect(off.size).toBe(0);
  });

  test("a socket that sent frames and then stops is caught a timeout after its last frame", () => {
    let now = 0;
    let n = 0;
    const fired: number[] = [];
    const w = new SilenceWatch<string>(1000, () => n, () => fired.push(now), 1_000_000, () => now);
    w.add("s");
    for (now = 0; now <= 5000; now += 250) {
      if (now < 2000) n++;
      w.sweep();
    }
    expect(fired).toEqual([1750 + 1000]); // the last frame came at 1750
  });
});

describe("LogLimit", () => {
  test("the first few lines of a kind are logged, the rest counted", () => {
    const lines: string[] = [];
    const log = pino({ level: "info" }, { write: (s: string) => void lines.push(s) });
    const limit = new LogLimit(log);
    for (let i = 0; i < 100; i++) limit.warn("garbage", { i }, "garbage frame");
    limit.info("other", {}, "other thing");
    expect(lines.length).toBe(LOG_FIRST + 1);
    expect(lines[LOG_FIRST - 1]).toContain('"furtherOnlyCounted":true');
    expect(limit.suppressed()).toEqual({ garbage: 100 - LOG_FIRST });
    expect(new LogLimit(log).suppressed()).toBeUndefined();
  });

  test("clip bounds a field and says how long it was", () => {
    expect(clip("short")).toBe("short");
    expect(clip("x".repeat(100_000), 10)).toBe(`${"x".repeat(10)}…(100000)`);
    expect(clip(undefined)).toBeUndefined();
  });
});

describe("call ids", () => {
  test("Sautikit's shapes pass; long, empty or escaping-prone ids do not", () => {
    for (const ok of ["HD_1234abcd", "3f2b8c1e-9d4a-4b7e-8f00-123456789abc", "CA.x:y@z+1=2", "a".repeat(CALL_ID_MAX)]) {
      expect(isSafeCallId(ok)).toBe(true);
    }
    for (const bad of ["", "a".repeat(CALL_ID_MAX + 1), "a b", 'a"b', "a<b", "a&b", "a/b", "-lead", "a\nb", "é"]) {
      expect(isSafeCallId(bad)).toBe(false);
    }
  });
});

describe("settings", () => {
  test("defaults", () => {
    const c = loadConfig({});
    expect(c.maxQueuedAudioS).toBe(60);
    expect(c.maxWebhookBytes).toBe(65536);
    expect(c.callerSilenceTimeoutS).toBe(10);
    expect(c.modelStallS).toBe(12);
    expect(c.maxCalls).toBe(DEFAULT_MAX_CALLS);
    expect(DEFAULT_MAX_CALLS).toBe(300);
  });

  test("bad values name the variable", () => {
    for (const [name, value] of [
      ["MAX_QUEUED_AUDIO_S", "0"],
      ["MAX_WEBHOOK_BYTES", "100"],
      ["CALLER_SILENCE_TIMEOUT_S", "-1"],
      ["MODEL_STALL_S", "ten"],
      ["MAX_CALLS", "0"],
    ] as const) {
      let err: unknown;
      try {
        loadConfig({ [name]: value });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).variable).toBe(name);
    }
  });
});
