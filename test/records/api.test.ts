// GET /api/calls and /api/calls/:id over real HTTP: the admin guard (ADMIN_TOKEN, or loopback peers without
// forwarding headers), newest-first pages with a cursor, filters, 404 and bad input.
import { afterEach, describe, expect, test } from "bun:test";
import { checkAdmin, isLoopback } from "../../src/http/admin-auth.ts";
import type { CallRecord, CallSummary } from "../../src/records/record.ts";
import { startHarness, type Harness } from "../relay/harness.ts";
import { ADMIN_ENV } from "./helpers.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
}, 20000);

const TOKEN = "admin-token-0123456789abcdef";

type Page = { calls: CallSummary[]; next: string | null };

describe("admin guard", () => {
  test("with ADMIN_TOKEN: a missing or wrong token is refused with 401, the right one gets in", async () => {
    h = await startHarness({ ADMIN_TOKEN: TOKEN });
    await h.records.store.ready;
    const get = (auth?: string) => fetch(`${h!.base}/api/calls`, { headers: auth === undefined ? {} : { authorization: auth } });
    for (const bad of [undefined, "Bearer wrong-token-0123456789abcdef", `Bearer ${TOKEN}x`, `Basic ${TOKEN}`, TOKEN, "Bearer "]) {
      const res = await get(bad);
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toContain("Bearer");
    }
    expect((await fetch(`${h.base}/api/calls/HD_x`)).status).toBe(401);
    const ok = await get(`Bearer ${TOKEN}`);
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as Page).calls).toEqual([]);
    expect(h.logs.join("\n")).not.toContain(TOKEN);
  });

  test("without ADMIN_TOKEN: loopback peers get in, a non-loopback peer or a forwarded request gets 401", async () => {
    h = await startHarness();
    await h.records.store.ready;
    const port = h.relay.port;
    expect((await fetch(`http://127.0.0.1:${port}/api/calls`)).status).toBe(200);
    // No test may send traffic to a non-loopback address, so that peer is simulated: a request handed to the
    // server in-process has no TCP peer at all, and the rule itself is checked with a non-loopback address as data.
    const remote = await h.relay.server.fetch(new Request(`http://127.0.0.1:${port}/api/calls`, { headers: { host: `127.0.0.1:${port}` } }));
    expect(remote.status).toBe(401);
    expect(((await remote.json()) as { reason: string }).reason).toContain("not loopback");
    expect((await h.relay.server.fetch(new Request(`http://127.0.0.1:${port}/api/calls/HD_x`, { headers: { host: `127.0.0.1:${port}` } }))).status).toBe(401);
    expect(checkAdmin(new Headers({ host: `127.0.0.1:${port}` }), "192.0.2.10", undefined).ok).toBe(false);
    // A reverse proxy on the same host connects from loopback but says it forwarded the request.
    for (const header of ["x-forwarded-for", "forwarded", "x-real-ip", "via"]) {
      const res = await fetch(`http://127.0.0.1:${port}/api/calls`, { headers: { [header]: "203.0.113.9" } });
      expect(res.status).toBe(401);
    }
    // Webhooks and health are not behind the guard.
    expect((await h.relay.server.fetch(new Request(`http://127.0.0.1:${port}/healthz`))).status).toBe(200);
  });

  test("loopback addresses", () => {
    for (const a of ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"]) expect(isLoopback(a)).toBe(true);
    for (const a of ["192.0.2.2", "10.0.0.1", "::ffff:10.0.0.1", "fe80::1", "128.0.0.1", "::"]) expect(isLoopback(a)).toBe(false);
  });
});

describe("listing and reading", () => {
  test("newest first, pages joined by the next cursor, filters by agent and number, 404 and 400", async () => {
    h = await startHarness();
    await h.records.store.ready;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const id = `HD_list_${i}`;
      const from = i % 2 === 0 ? "%2B254711000001" : "%2B254711000002";
      const res = await h.post("/voice", `sessionId=${id}&callerNumber=${from}&destinationNumber=%2B254700000002`);
      expect(await res.text()).toContain("<Stream");
      ids.push(id);
      await Bun.sleep(3); // distinct start times
    }
    const seen: string[] = [];
    let next: string | null = "";
    let pages = 0;
    while (next !== null) {
      const res = await fetch(`${h.base}/api/calls?limit=2${next ? `&before=${next}` : ""}`);
      expect(res.status).toBe(200);
      const page = (await res.json()) as Page;
      expect(page.calls.length).toBeLessThanOrEqual(2);
      seen.push(...page.calls.map((c) => c.id));
      next = page.next;
      pages++;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual([...ids].reverse());

    const first = ((await (await fetch(`${h.base}/api/calls?limit=1`)).json()) as Page).calls[0]!;
    // Loopback without ADMIN_TOKEN: the last 3 digits only (src/phone-numbers.ts); the filter takes whole numbers.
    expect(first).toMatchObject({ id: "HD_list_4", caller: "…001", callee: "…002", agent: "default", endedAt: null, answeredAt: null });

    const byNumber = (await (await fetch(`${h.base}/api/calls?number=${encodeURIComponent("+254711000002")}`)).json()) as Page;
    expect(byNumber.calls.map((c) => c.id)).toEqual(["HD_list_3", "HD_list_1"]);
    const byCallee = (await (await fetch(`${h.base}/api/calls?number=${encodeURIComponent("+254700000002")}`)).json()) as Page;
    expect(byCallee.calls).toHaveLength(5);
    const byAgent = (await (await fetch(`${h.base}/api/calls?agent=default`)).json()) as Page;
    expect(byAgent.calls).toHaveLength(5);
    expect(((await (await fetch(`${h.base}/api/calls?agent=nobody`)).json()) as Page).calls).toEqual([]);

    const missing = await fetch(`${h.base}/api/calls/HD_never`);
    expect(missing.status).toBe(404);
    for (const q of ["limit=0", "limit=201", "limit=ten", "before=%%%", `before=${Buffer.from("nonsense").toString("base64url")}`]) {
      expect((await fetch(`${h.base}/api/calls?${q}`)).status).toBe(400);
    }
  });

  test("numbers are stored in E.164 whatever form the webhook sent (that form kept in metadata.raw); the number filter takes any form; a non-number is a 400 naming number", async () => {
    h = await startHarness(ADMIN_ENV);
    const auth = { headers: { authorization: `Bearer ${ADMIN_ENV.ADMIN_TOKEN}` } };
    await h.records.store.ready;
    const forms: Array<[string, string]> = [
      ["HD_e164_plain", "+254711000001"],
      ["HD_e164_bare", "254711000001"],
      ["HD_e164_spaced", "+254 711 000 001"],
    ];
    for (const [id, from] of forms) {
      const res = await h.post("/voice", `sessionId=${id}&callerNumber=${encodeURIComponent(from)}&destinationNumber=254700000002`);
      expect(await res.text()).toContain("<Stream");
      await Bun.sleep(3);
    }
    const ids = forms.map(([id]) => id).reverse();
    for (const q of ["+254711000001", "254711000001", "+254 711-000-001", "tel:+254711000001", "00254711000001"]) {
      const res = await fetch(`${h.base}/api/calls?number=${encodeURIComponent(q)}`, auth);
      expect(res.status).toBe(200);
      expect(((await res.json()) as Page).calls.map((c) => c.id)).toEqual(ids);
    }
    expect(((await (await fetch(`${h.base}/api/calls?number=${encodeURIComponent("+254700000002")}`, auth)).json()) as Page).calls).toHaveLength(3);
    const spaced = (await (await fetch(`${h.base}/api/calls/HD_e164_spaced`, auth)).json()) as CallRecord;
    expect(spaced).toMatchObject({ caller: "+254711000001", callee: "+254700000002", metadata: { raw: { caller: "+254 711 000 001", callee: "254700000002" } } });
    const plain = (await (await fetch(`${h.base}/api/calls/HD_e164_plain`, auth)).json()) as CallRecord;
    expect(plain.metadata).toEqual({ raw: { callee: "254700000002" } });

    for (const q of ["abc", "DROP TABLE calls", "+2547110000O1", "anonymous"]) {
      const res = await fetch(`${h.base}/api/calls?number=${encodeURIComponent(q)}`, auth);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toContain("number");
    }
  });
});

