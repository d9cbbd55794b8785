// One rule for phone numbers (src/phone-numbers.ts): the records API and the console's API show them the same
// way, whole to a viewer holding ADMIN_TOKEN and "…001" to any other viewer the guard lets in; logs mask them.
import { describe, expect, test } from "bun:test";
import { maskNumber, showNumbersIn } from "../../src/phone-numbers.ts";
import { Caller, startHarness, until, type Harness } from "../relay/harness.ts";

const TOKEN = "mask-test-token-0123456789";

/** One phone call through the relay, its metadata carrying the numbers as a media server sends them. */
async function oneCall(hh: Harness, id: string): Promise<void> {
  const c = await new Caller(await hh.streamUrlFor(id)).open();
  c.ws.send(JSON.stringify({ streamSid: "MZ1", from: "+254700000001", to: "+254700000002" }));
  await until(() => hh.calls.activeCalls === 1, "call up");
  c.ws.close();
  const headers = hh.config.records.adminToken ? { authorization: `Bearer ${TOKEN}` } : undefined;
  await until(() => hh.relay.console.hub.recentCalls(true, 10).calls.length === 1, "call ended");
  for (;;) {
    const res = await fetch(`${hh.base}/api/calls/${id}`, { headers });
    // 404 until the recorder's first batch lands.
    const r = res.status === 200 ? ((await res.json()) as { endedAt: string | null; metadata: unknown }) : undefined;
    if (r !== undefined && r.endedAt !== null && r.metadata !== null) return;
    await Bun.sleep(20);
  }
}

async function views(hh: Harness, id: string, headers?: Record<string, string>): Promise<string[]> {
  const get = async (path: string) => {
    const res = await fetch(hh.base + path, { headers });
    expect(res.status).toBe(200);
    return res.text();
  };
  return [await get("/api/calls"), await get(`/api/calls/${id}`), await get("/api/console/calls"), await get(`/api/console/calls/${id}`)];
}

describe("phone numbers on the APIs", () => {
  test("without the token (a loopback viewer): the records API and the console's API all show …001, nowhere the whole number", async () => {
    await using h = await startHarness();
    await oneCall(h, "HD_mask_loop");
    for (const body of await views(h, "HD_mask_loop")) {
      expect(body).toContain('"caller":"…001"');
      expect(body).toContain('"callee":"…002"');
      expect(body).not.toContain("254700000001");
      expect(body).not.toContain("254700000002");
    }
    // The record itself keeps whole numbers (and the number filter finds them).
    expect((await h.records.store.getCall("HD_mask_loop"))?.caller).toBe("+254700000001");
    const found = (await (await fetch(`${h.base}/api/calls?number=${encodeURIComponent("+254700000001")}`)).json()) as { calls: unknown[] };
    expect(found.calls).toHaveLength(1);
  });

  test("with the token: whole numbers on both APIs", async () => {
    await using h = await startHarness({ ADMIN_TOKEN: TOKEN });
    await oneCall(h, "HD_mask_token");
    for (const body of await views(h, "HD_mask_token", { authorization: `Bearer ${TOKEN}` })) {
      expect(body).toContain('"caller":"+254700000001"');
      expect(body).toContain('"callee":"+254700000002"');
    }
  });

  test("the mask itself", () => {
    expect(maskNumber("+254700000001")).toBe("…001");
    expect(maskNumber("12")).toBe("…");
    expect(maskNumber("browser")).toBe("browser");
    expect(maskNumber("")).toBe("");
    expect(maskNumber(undefined)).toBeUndefined();
    expect(showNumbersIn({ from: "+254 700 000 001", streamSid: "MZ1", n: 5 }, false)).toEqual({ from: "…001", streamSid: "MZ1", n: 5 });
    expect(showNumbersIn({ from: "+254700000001" }, true)).toEqual({ from: "+254700000001" });
  });
});
