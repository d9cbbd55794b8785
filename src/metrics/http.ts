// GET /metrics: the Prometheus text exposition, behind `Authorization: Bearer $METRICS_TOKEN` when that is set;
// and the HTTP side's request counters backed by the metrics.
import { createHash, timingSafeEqual } from "node:crypto";
import type { Counter } from "prom-client";
import type { HttpCounters } from "../http/counters.ts";

export interface Exposition {
  expose(): Promise<string>;
  readonly contentType: string;
}

/** Compares digests so neither the token's length nor its prefix leaks through timing. */
function sameToken(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

export function bearer(req: Request): string | undefined {
  const h = req.headers.get("authorization");
  const m = h === null ? null : /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m?.[1];
}

export function metricsHandler(metrics: Exposition, token: string | undefined): (req: Request) => Promise<Response> {
  return async (req) => {
    if (token !== undefined) {
      const given = bearer(req);
      if (given === undefined || !sameToken(given, token)) {
        return new Response("unauthorized\n", { status: 401, headers: { "www-authenticate": 'Bearer realm="metrics"' } });
      }
    }
    return new Response(await metrics.expose(), { headers: { "content-type": metrics.contentType } });
  };
}

/** The HTTP side's counters (src/http/counters.ts), backed by the relay's metrics. */
export function httpCounters(m: { webhooks: Counter<"route" | "status">; streamUpgrades: Counter<"outcome"> }): HttpCounters {
  return {
    webhook: (route, status) => m.webhooks.inc({ route, status: String(status) }),
    upgrade: (outcome) => m.streamUpgrades.inc({ outcome }),
  };
}
