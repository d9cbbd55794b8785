// The lookup_order service for examples/agents.yaml. Run: DUKA_TOKEN=dev-token bun examples/tool-server.ts
import { createHmac, timingSafeEqual } from "node:crypto";

const ORDERS: Record<string, { delivery: string; eta?: string }> = {
  "1042": { delivery: "out for delivery", eta: "today before 5 pm" }, "1043": { delivery: "being packed", eta: "tomorrow" }, "1044": { delivery: "delivered" },
};
const token = process.env.DUKA_TOKEN; // sent by the relay as "Authorization: Bearer ${DUKA_TOKEN}"
const secret = process.env.TOOL_SIGNING_SECRET; // the relay's TOOL_SIGNING_SECRET, if you set one

/** X-Sauti-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, body + "." + t)>, at most 5 minutes old. */
function signedByRelay(body: string, header: string | null): boolean {
  if (!secret) return true;
  const t = /(?:^|,)t=(\d+)/.exec(header ?? "")?.[1];
  const v1 = /(?:^|,)v1=([0-9a-f]{64})/.exec(header ?? "")?.[1];
  if (!t || !v1 || Math.abs(Date.now() / 1000 - Number(t)) > 300) return false;
  return timingSafeEqual(createHmac("sha256", secret).update(`${body}.${t}`).digest(), Buffer.from(v1, "hex"));
}

const server = Bun.serve({
  port: Number(process.env.PORT ?? 8081),
  async fetch(req) {
    const body = await req.text();
    if (token && req.headers.get("authorization") !== `Bearer ${token}`) return new Response("unauthorized", { status: 401 });
    if (!signedByRelay(body, req.headers.get("x-sauti-signature"))) return new Response("bad signature", { status: 401 });
    const { args } = JSON.parse(body) as { tool: string; args: { order?: string }; call: { id: string } };
    const order = ORDERS[String(args.order ?? "").replace(/\D/g, "")];
    return Response.json(order ? { status: "ok", order: args.order, ...order } : { status: "not_found", message: `There is no order ${args.order}.` });
  },
});
console.log(`lookup_order service on http://127.0.0.1:${server.port}/lookup-order`);
