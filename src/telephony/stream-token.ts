// The `token` in our <Stream url>: proves the socket belongs to a call we answered, without shared state, so any
// instance behind a load balancer can check it (given the same STREAM_TOKEN_SECRET).
//   token = <expiry unix s>.<hex HMAC-SHA256(secret, callId + "." + expiry)>
import { createHmac, timingSafeEqual } from "node:crypto";

function mac(secret: string, callId: string, exp: number): Buffer {
  return createHmac("sha256", secret).update(`${callId}.${exp}`).digest();
}

export function mintStreamToken(secret: string, callId: string, ttlS: number, nowS = Math.floor(Date.now() / 1000)): string {
  const exp = nowS + ttlS;
  return `${exp}.${mac(secret, callId, exp).toString("hex")}`;
}

export type TokenCheck = { ok: true } | { ok: false; reason: "malformed" | "expired" | "mismatch" };

export function checkStreamToken(secret: string, callId: string, token: string, nowS = Math.floor(Date.now() / 1000)): TokenCheck {
  const m = /^(\d{1,12})\.([0-9a-f]{64})$/.exec(token);
  if (!m) return { ok: false, reason: "malformed" };
  const exp = Number(m[1]);
  const given = Buffer.from(m[2]!, "hex");
  if (!timingSafeEqual(mac(secret, callId, exp), given)) return { ok: false, reason: "mismatch" };
  if (exp < nowS) return { ok: false, reason: "expired" };
  return { ok: true };
}
