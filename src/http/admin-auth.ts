// Guard for the admin surfaces (/api, the console). With ADMIN_TOKEN set, every request needs
// `Authorization: Bearer <ADMIN_TOKEN>` (compared in constant time). Without it, only a request whose TCP peer
// is loopback and that carries no forwarding headers gets in: a user on their own machine can look, and nothing
// is open through a reverse proxy on the same host (which connects from loopback but adds those headers).
import type { Server } from "bun";
import type { MiddlewareHandler } from "hono";
import { createHash, timingSafeEqual } from "node:crypto";
import type { RefusalSink } from "../log-limit.ts";
import type { Logger } from "../log.ts";

/** Headers a proxy or CDN adds when it passes a request on. */
export const FORWARDING_HEADERS = [
  "forwarded",
  "x-forwarded-for",
  "x-forwarded-host",
  "x-forwarded-proto",
  "x-real-ip",
  "via",
  "true-client-ip",
  "cf-connecting-ip",
  "x-client-ip",
  "x-cluster-client-ip",
  "fastly-client-ip",
];

export function isLoopback(address: string): boolean {
  const a = address.toLowerCase();
  if (a === "::1") return true;
  const v4 = a.startsWith("::ffff:") ? a.slice(7) : a;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/** `localhost`, `127.x.y.z` or `[::1]`, with or without a port. */
export function loopbackHost(host: string | null): boolean {
  if (host === null) return false;
  const h = host.toLowerCase().replace(/:\d+$/, "");
  return h === "localhost" || h === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

const digest = (s: string) => createHash("sha256").update(s).digest();

/** Equal-length digests, so neither the length nor the content of a secret leaks through timing. */
export function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** Constant time, whatever the lengths (both sides hashed first). */
export function bearerMatches(expected: string, authorization: string | null): boolean {
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? "");
  return timingSafeEqual(digest(m?.[1] ?? ""), digest(expected)) && m !== null;
}

/** The TCP peer of a request; in Hono on Bun the server arrives as `env` (server.ts passes it to app.fetch). */
export function peerAddress(req: Request, env: unknown): string | undefined {
  const srv = env as Partial<Pick<Server<unknown>, "requestIP">> | undefined;
  return srv?.requestIP?.(req)?.address ?? undefined;
}

export type AdminCheck = { ok: true; by: "token" | "loopback" } | { ok: false; reason: string };

/** The rule itself, for middleware and for sockets that authenticate outside Hono. */
export function checkAdmin(headers: Headers, peer: string | undefined, token: string | undefined): AdminCheck {
  if (token !== undefined) {
    if (bearerMatches(token, headers.get("authorization"))) return { ok: true, by: "token" };
    return { ok: false, reason: headers.has("authorization") ? "wrong token" : "no token" };
  }
  const forwarded = FORWARDING_HEADERS.some((h) => headers.has(h));
  // A loopback Host too: otherwise a web page could rebind its own name to 127.0.0.1 and read the API (DNS rebinding).
  if (!loopbackHost(headers.get("host"))) return { ok: false, reason: "ADMIN_TOKEN unset and the Host is not a loopback name" };
  if (peer !== undefined && isLoopback(peer) && !forwarded) return { ok: true, by: "loopback" };
  return { ok: false, reason: forwarded ? "ADMIN_TOKEN unset and the request was forwarded" : "ADMIN_TOKEN unset and the peer is not loopback" };
}

/** Hono middleware: 401 with the reason unless checkAdmin passes; `c.get("admin")` says how the caller got in. */
/** Refusals go to `refusals` when given (rate-limited: anyone can send them), else to `log`. */
export function adminAuth(token: string | undefined, log: Logger, refusals?: RefusalSink): MiddlewareHandler<{ Variables: { admin: "token" | "loopback" } }> {
  return async (c, next) => {
    const req = c.req.raw;
    const r = checkAdmin(req.headers, peerAddress(req, c.env), token);
    if (r.ok) {
      c.set("admin", r.by);
      return next();
    }
    const obj = { path: c.req.path.slice(0, 64), reason: r.reason };
    if (refusals !== undefined) refusals.warn("admin", obj, "admin request refused");
    else log.warn(obj, "admin request refused");
    return c.json({ error: "unauthorized", reason: r.reason }, 401, { "www-authenticate": 'Bearer realm="sauti-relay"' });
  };
}
