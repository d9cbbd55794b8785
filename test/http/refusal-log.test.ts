// Unauthenticated clients cannot fill the log: refusals (forged webhooks, bad stream tokens, ...) are logged the
// first few times per window and then only counted, and the counts are logged at the window's end and at stop.
// A stale signature's line says how far the timestamp was from our clock, and on which side.
import { describe, expect, test } from "bun:test";
import { RefusalLog } from "../../src/log-limit.ts";
import { signBody, verifySignature } from "../../src/signing/sautikit.ts";
import { rawUpgrade } from "../support/caller.ts";
import { captureLog } from "../support/log.ts";
import { SECRET, startHarness, until } from "../relay/harness.ts";

type Line = Record<string, unknown>;
const parsed = (lines: string[]): Line[] => lines.map((l) => JSON.parse(l) as Line);

async function inBatches(n: number, size: number, one: (i: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < n; i += size) await Promise.all(Array.from({ length: Math.min(size, n - i) }, (_, j) => one(i + j)));
}

describe("refusals from unauthenticated clients", () => {
  test("1,000 forged webhooks and 1,000 upgrades with bad tokens: a few lines of each, then counts", async () => {
    await using h = await startHarness();
    const hh = h;
    const statuses = new Map<number, number>();
    const count = (s: number) => statuses.set(s, (statuses.get(s) ?? 0) + 1);
    await inBatches(1000, 50, async (i) => count((await hh.post("/voice", `sessionId=HD_forged_${i}`, { sig: `t=${Math.floor(Date.now() / 1000)},v1=${"0".repeat(64)}` })).status));
    const ws = hh.base.replace(/^http/, "ws");
    await inBatches(1000, 50, async (i) => count((await rawUpgrade(`${ws}/stream?call=HD_tok_${i}&token=1.${"ab".repeat(32)}`)).status));
    expect(statuses.get(401)).toBe(2000); // every one refused all the same

    const during = parsed(hh.logs);
    const forged = during.filter((l) => l.msg === "webhook rejected: signature");
    const tokens = during.filter((l) => l.msg === "stream upgrade rejected: token");
    expect(forged.length).toBeGreaterThan(0);
    expect(forged.length).toBeLessThanOrEqual(5);
    expect(tokens.length).toBeGreaterThan(0);
    expect(tokens.length).toBeLessThanOrEqual(5);
    expect(forged.at(-1)).toMatchObject({ furtherOnlyCounted: true });

    await hh.stop();
    const summaries = parsed(hh.logs).filter((l) => l.msg === "refused requests: lines left out, counted");
    const left = (kind: string) => summaries.reduce((n, s) => n + ((s.counts as Record<string, number>)[kind] ?? 0), 0);
    expect(left("webhook_signature") + forged.length).toBe(1000);
    expect(left("stream_token") + tokens.length).toBe(1000);
    expect(hh.logs.length).toBeLessThan(200);
  }, 60000);

  test("the counts are logged at the end of each window in which lines were left out, then the first few are logged again", async () => {
    const { log, lines } = captureLog();
    const r = new RefusalLog(log, { first: 2, windowMs: 100 });
    for (let i = 0; i < 10; i++) r.warn("webhook_signature", { i }, "webhook rejected: signature");
    r.warn("stream_token", {}, "stream upgrade rejected: token");
    expect(lines).toHaveLength(3);
    await until(() => lines.length === 4, "the window's summary");
    expect(JSON.parse(lines[3]!)).toMatchObject({ level: 40, msg: "refused requests: lines left out, counted", counts: { webhook_signature: 8 }, windowS: 0.1 });
    r.warn("webhook_signature", {}, "webhook rejected: signature");
    expect(lines).toHaveLength(5);
    await Bun.sleep(250);
    expect(lines).toHaveLength(5); // nothing left out: no summary
    r.stop();
  });
});

describe("stale signatures", () => {
  test("the refusal says how far the timestamp was from our clock and on which side", async () => {
    await using h = await startHarness();
    const body = "sessionId=HD_skew";
    const now = Math.floor(Date.now() / 1000);
    expect((await h.post("/voice", body, { sig: signBody(SECRET, body, now - 400) })).status).toBe(401);
    expect((await h.post("/voice", body, { sig: signBody(SECRET, body, now + 1000) })).status).toBe(401);
    const stale = parsed(h.logs).filter((l) => l.msg === "webhook rejected: signature" && l.reason === "stale signature timestamp");
    expect(stale).toHaveLength(2);
    expect(Math.abs((stale[0]!.skewS as number) - 400)).toBeLessThanOrEqual(2);
    expect(stale[0]!.timestamp).toBe("behind our clock");
    expect(Math.abs((stale[1]!.skewS as number) - 1000)).toBeLessThanOrEqual(2);
    expect(stale[1]!.timestamp).toBe("ahead of our clock");
    expect(stale[0]!.windowS).toBe(300);
  });

  test("verifySignature reports the signed skew", () => {
    const sig = signBody("s", "b", 1000);
    expect(verifySignature(sig, Buffer.from("b"), { secret: "s", windowS: 300, allowBareHex: false, nowS: 1400 })).toEqual({ ok: false, reason: "stale signature timestamp", skewS: 400 });
    expect(verifySignature(sig, Buffer.from("b"), { secret: "s", windowS: 300, allowBareHex: false, nowS: 600 })).toEqual({ ok: false, reason: "stale signature timestamp", skewS: -400 });
    expect(verifySignature(sig, Buffer.from("b"), { secret: "s", windowS: 300, allowBareHex: false, nowS: 1200 })).toEqual({ ok: true });
  });
});
