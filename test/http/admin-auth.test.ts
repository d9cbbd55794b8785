// The admin guard over real loopback HTTP (Hono app on Bun.serve), plus the non-loopback rule on its own
// (no test may send traffic to a non-loopback address, so that peer is given as data).
import { describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { adminAuth, checkAdmin } from "../../src/http/admin-auth.ts";
import { silentLog } from "../support/log.ts";

function serve(adminToken: string | undefined) {
  const app = new Hono();
  app.use("/api/*", adminAuth(adminToken, silentLog));
  app.get("/api/x", (c) => c.json({ by: c.get("admin" as never) }));
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (req, srv) => app.fetch(req, srv) });
  return { base: `http://127.0.0.1:${server.port}`, [Symbol.dispose]: () => void server.stop(true) };
}

describe("admin guard", () => {
  test("no ADMIN_TOKEN: a loopback peer without forwarding headers gets in; with them it does not", async () => {
    using s = serve(undefined);
    const ok = await fetch(`${s.base}/api/x`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ by: "loopback" });
    for (const h of ["x-forwarded-for", "forwarded", "x-real-ip"]) {
      const r = await fetch(`${s.base}/api/x`, { headers: { [h]: "203.0.113.9" } });
      expect(r.status).toBe(401);
      expect(((await r.json()) as { reason: string }).reason).toBe("ADMIN_TOKEN unset and the request was forwarded");
    }
  });

  test("with ADMIN_TOKEN: missing or wrong Bearer → 401, right one → 200, even from loopback", async () => {
    using s = serve("s3cret-token");
    expect((await fetch(`${s.base}/api/x`)).status).toBe(401);
    expect((await fetch(`${s.base}/api/x`, { headers: { authorization: "Bearer nope" } })).status).toBe(401);
    expect((await fetch(`${s.base}/api/x`, { headers: { authorization: "Bearer s3cret-token-longer" } })).status).toBe(401);
    const ok = await fetch(`${s.base}/api/x`, { headers: { authorization: "Bearer s3cret-token" } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ by: "token" });
  });

  test("no ADMIN_TOKEN: a request naming another host is refused even from loopback (DNS rebinding)", async () => {
    using s = serve(undefined);
    const r = await fetch(`${s.base}/api/x`, { headers: { host: "evil.example:80" } });
    expect(r.status).toBe(401);
    expect(checkAdmin(new Headers({ host: "localhost:8080" }), "127.0.0.1", undefined)).toEqual({ ok: true, by: "loopback" });
    expect(checkAdmin(new Headers({ host: "[::1]:8080" }), "::1", undefined)).toEqual({ ok: true, by: "loopback" });
  });

  test("a non-loopback peer without a token is refused; with the token it is let in", () => {
    const none = new Headers({ host: "127.0.0.1:8080" });
    expect(checkAdmin(none, "192.0.2.10", undefined)).toEqual({ ok: false, reason: "ADMIN_TOKEN unset and the peer is not loopback" });
    expect(checkAdmin(none, undefined, undefined)).toEqual({ ok: false, reason: "ADMIN_TOKEN unset and the peer is not loopback" });
    expect(checkAdmin(none, "::ffff:127.0.0.1", undefined)).toEqual({ ok: true, by: "loopback" });
    expect(checkAdmin(new Headers({ authorization: "Bearer t" }), "192.0.2.10", "t")).toEqual({ ok: true, by: "token" });
  });
});
