// Sautikit-style signatures (docs/sautikit-stream.md#signatures): the webhook check verifies them, HTTP tools
// sign their requests with them (src/tools/http-tool.ts).
//   X-Sautikit-Signature: t=<unix>,v1=<hex>   with  v1 = HMAC-SHA256(secret, rawBody + "." + t)
// Per-event pages also show a bare hex HMAC(body) with no timestamp; that form is accepted only when configured.
import { createHmac, timingSafeEqual } from "node:crypto";

/** `skewS` (stale timestamps only): our clock minus the signature's timestamp, in seconds; positive when the
 *  timestamp is in our past (a replay, or the sender's clock behind), negative when it is in our future. */
export type SignatureResult = { ok: true } | { ok: false; reason: string; skewS?: number };

export interface SignatureOptions {
  secret: string;
  windowS: number;
  allowBareHex: boolean;
  nowS?: number;
}

const HEX = /^[0-9a-f]{64}$/i;

function hmacHex(secret: string, parts: Uint8Array[]): Buffer {
  const h = createHmac("sha256", secret);
  for (const p of parts) h.update(p);
  return h.digest();
}

function sameDigest(expected: Buffer, givenHex: string): boolean {
  if (!HEX.test(givenHex)) return false;
  return timingSafeEqual(expected, Buffer.from(givenHex, "hex"));
}

export function verifySignature(header: string | null, rawBody: Uint8Array, o: SignatureOptions): SignatureResult {
  if (!header) return { ok: false, reason: "missing X-Sautikit-Signature" };
  const value = header.trim();
  if (!value.includes("=")) {
    if (!o.allowBareHex) return { ok: false, reason: "malformed signature header" };
    return sameDigest(hmacHex(o.secret, [rawBody]), value) ? { ok: true } : { ok: false, reason: "bad signature" };
  }
  let t: string | undefined;
  const v1: string[] = [];
  for (const part of value.split(",")) {
    const eq = part.indexOf("=");
    if (eq < 0) return { ok: false, reason: "malformed signature header" };
    const k = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    if (k === "t") t = v;
    else if (k === "v1") v1.push(v);
  }
  if (t === undefined || !/^\d{1,12}$/.test(t) || v1.length === 0) return { ok: false, reason: "malformed signature header" };
  const now = o.nowS ?? Math.floor(Date.now() / 1000);
  const skewS = now - Number(t);
  if (Math.abs(skewS) > o.windowS) return { ok: false, reason: "stale signature timestamp", skewS };
  const expected = hmacHex(o.secret, [rawBody, Buffer.from("." + t)]);
  // Several v1 entries may be present during a secret rotation; any match is enough.
  return v1.some((sig) => sameDigest(expected, sig)) ? { ok: true } : { ok: false, reason: "bad signature" };
}

/** Builds a header value the way Sautikit does; HTTP tools sign their requests with it, the tests sign webhooks
 *  with it (bench/caller.ts signs with its own sign()). */
export function signBody(secret: string, rawBody: string | Uint8Array, tS = Math.floor(Date.now() / 1000)): string {
  const body = typeof rawBody === "string" ? Buffer.from(rawBody) : rawBody;
  return `t=${tS},v1=${hmacHex(secret, [body, Buffer.from("." + tS)]).toString("hex")}`;
}
