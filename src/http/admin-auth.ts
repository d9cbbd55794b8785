// Who may read call records and use the console. With ADMIN_TOKEN set: `Authorization: Bearer <token>`, compared
// in constant time. Without it: only requests whose TCP peer is loopback and that carry no forwarding headers, so
// a user on their own machine can look while nothing is open behind a proxy (a proxy on the same host makes
// every request look local, but it adds forwarding headers).
import { createHash, timingSafeEqual } from "node:crypto";
import type { Server } from "bun";
import type { MiddlewareHandler } from "hono";

export type AdminCheck = { ok: true; by: "token" | "loopback" } | { ok: false; reason: "missing token" | "wrong token" | "not loopback" };

const FORWARDING = ["forwarded", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-real-ip", "via"];

function digest(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}

/** Equal-length digests, so neither the length nor the content of the token leaks through timing. */
export function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

export function isLoopback(ip: string | undefined): boolean {
  if (ip === undefined) return false;
  return ip === "::1" || ip.startsWith("127.") || ip.startsWith("::ffff:127.");
}

export function checkAdmin(headers: Headers, peerIp: string | undefined, adminToken: string | undefined): AdminCheck {
  const auth = headers.get("authorization");
  const bearer = auth !== null && /^bearer /i.test(auth) ? auth.slice(7).trim() : undefined;
  if (adminToken !== undefined) {
    if (bearer === undefined) return { ok: false, reason: "missing token" };
    return sameSecret(bearer, adminToken) ? { ok: true, by: "token" } : { ok: false, reason: "wrong token" };
  }
  if (!isLoopback(peerIp) || FORWARDING.some((h) => headers.has(h))) return { ok: false, reason: "not loopback" };
  return { ok: true, by: "loopback" };
}

/** The TCP peer's address; Hono on Bun passes the Bun server as `c.env` when the app is called as app.fetch(req, server). */
export function peerOf(req: Request, server: unknown): string | undefined {
  const s = server as Server<unknown> | undefined;
  if (s === undefined || typeof s.requestIP !== "function") return undefined;
  return s.requestIP(req)?.address;
}

/** Hono middleware: 401 with a reason unless checkAdmin passes. Sets `c.get("admin")` to how the caller got in. */
export function adminOnly(adminToken: string | undefined): MiddlewareHandler<{ Variables: { admin: "token" | "loopback" } }> {
  return async (c, next) => {
    const r = checkAdmin(c.req.raw.headers, peerOf(c.req.raw, c.env), adminToken);
    if (!r.ok) {
      return c.json({ error: "unauthorized", reason: r.reason }, 401, { "www-authenticate": 'Bearer realm="sauti-relay"' });
    }
    c.set("admin", r.by);
    await next();
  };
}
