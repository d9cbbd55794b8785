// A voice webhook answered with <Stream> whose audio socket never comes (a wrong PUBLIC_URL does exactly this):
// its record ends as no_media instead of staying open for ever, the metric counts it, one warn line says to check
// PUBLIC_URL. A socket a few seconds late is still a call, and a socket that reached another instance on the same
// database keeps that call's record. Real relays on one SQLite file, real sockets, the real /metrics text.
import { describe, expect, test } from "bun:test";
import { singleAgent } from "../../src/call/agent.ts";
import { NO_MEDIA_MIN_MS } from "../../src/call/manager.ts";
import { Caller, startHarness, until, type Harness } from "../relay/harness.ts";
import { cleanupAfterEach } from "../support/cleanup.ts";
import { parsePrometheusText, valueOf } from "../support/prom-text.ts";
import { removeSqlite, scratchSqliteFile } from "../support/scratch-db.ts";
import { ADMIN_ENV, agent, METADATA, recordWhen } from "./helpers.ts";

const cleanup = cleanupAfterEach();

async function relay(env: Record<string, string>): Promise<Harness> {
  const h = await startHarness({ ...ADMIN_ENV, ...env }, {}, { router: singleAgent(agent) });
  cleanup(() => h.stop());
  await h.records.store.ready;
  return h;
}

/** The stream URL, pointed at relay `h` (what a balancer, or a right PUBLIC_URL, would do). */
function on(url: string, h: Harness): string {
  const u = new URL(url);
  u.protocol = "ws:";
  u.host = `127.0.0.1:${h.relay.port}`;
  return u.toString();
}

async function noMediaCount(h: Harness): Promise<number> {
  const fams = parsePrometheusText(await (await fetch(`${h.base}/metrics`)).text());
  return valueOf(fams, "sauti_calls_total", { agent: "support", end_reason: "no_media" }) ?? 0;
}

/** Warn lines (pino level 40) of this call that tell the operator to check PUBLIC_URL. */
const hints = (h: Harness, id: string) =>
  h.logs.filter((l) => l.includes(`"callId":"${id}"`) && l.includes(`"level":40`) && l.includes("PUBLIC_URL"));

describe("an answered call whose audio socket never comes", () => {
  test(
    "ends as no_media (PREWARM off and on), counted and logged once; a late socket is still a call; a socket on another instance keeps its record",
    async () => {
      const file = scratchSqliteFile("no-media");
      cleanup(() => removeSqlite(file));
      // PREWARM_IDLE_MS at its minimum: the socket may still take a few seconds, so no_media waits longer than that.
      const a = await relay({ DATABASE_URL: `sqlite://${file}`, PREWARM: "false", PREWARM_IDLE_MS: "1000", PUBLIC_URL: "https://wrong-host.example.invalid" });
      const b = await relay({ DATABASE_URL: `sqlite://${file}`, PREWARM: "true", PREWARM_IDLE_MS: "1000" });

      const t0 = Date.now();
      await a.streamUrlFor("HD_nm_off");
      await b.streamUrlFor("HD_nm_on");
      await until(() => b.standin.sessions.length === 1, "B pre-warmed a model session");
      // The webhook reached B, the socket A (one database, as behind a balancer).
      await using split = await new Caller(on(await b.streamUrlFor("HD_nm_split"), a)).open();
      split.ws.send(JSON.stringify({ ...METADATA, callSid: "HD_nm_split" }));
      const lateUrl = on(await a.streamUrlFor("HD_nm_late"), a);
      await Bun.sleep(2500);
      await using late = await new Caller(lateUrl).open();
      late.ws.send(JSON.stringify({ ...METADATA, callSid: "HD_nm_late" }));
      await until(() => a.calls.activeCalls === 2, "late and split calls live on A");

      const off = await recordWhen(a, "HD_nm_off", (r) => r.endedAt !== null, "no_media record (PREWARM off)", 30000);
      const warm = await recordWhen(b, "HD_nm_on", (r) => r.endedAt !== null, "no_media record (PREWARM on)", 30000);
      for (const [r, host] of [
        [off, "wrong-host.example.invalid"],
        [warm, `127.0.0.1:${b.relay.port}`],
      ] as const) {
        expect(r).toMatchObject({ endReason: "no_media", answeredAt: null, agent: "support", caller: "+254700000001" });
        expect(r.endDetail).toContain("the media server never opened the audio socket");
        expect(r.endDetail).toContain(host);
        // Not before the socket could legitimately still come.
        expect(Date.parse(r.endedAt!) - Date.parse(r.startedAt)).toBeGreaterThanOrEqual(NO_MEDIA_MIN_MS - 50);
      }
      expect(Date.now() - t0).toBeGreaterThanOrEqual(NO_MEDIA_MIN_MS);
      // B's pre-warmed session was closed.
      await until(() => b.standin.sessions[0]!.closed !== undefined, "pre-warmed session closed");

      // The late socket and the one on the other instance are calls in progress, not ghosts.
      await Bun.sleep(300); // any wrong no_media write would have landed by now
      for (const id of ["HD_nm_late", "HD_nm_split"]) {
        const r = await recordWhen(a, id, (x) => x.answeredAt !== null, `${id} answered`);
        expect(r.endedAt).toBeNull();
        expect(r.endReason).toBeNull();
      }

      expect(await noMediaCount(a)).toBe(1);
      // B answered the split call's webhook and no socket reached B: B counts it (per instance), but its record,
      // shared with A who took the socket, stays the call A is serving.
      expect(await noMediaCount(b)).toBe(2);
      expect(hints(a, "HD_nm_off")).toHaveLength(1);
      expect(hints(b, "HD_nm_on")).toHaveLength(1);
      expect(hints(a, "HD_nm_late")).toHaveLength(0);

      late.ws.close();
      split.ws.close();
      for (const id of ["HD_nm_late", "HD_nm_split"]) {
        expect((await recordWhen(a, id, (x) => x.endedAt !== null, `${id} ended`)).endReason).toBe("caller_hangup");
      }
    },
    60000,
  );
});
