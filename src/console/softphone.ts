// Tickets for the browser softphone's audio socket. An authenticated POST /api/softphone mints one; the browser
// opens /softphone?call=<id>&token=<ticket> with it. A browser cannot put an Authorization header on a WebSocket
// (docs/browser-audio.md#authentication-from-a-browser), so the URL carries a ticket instead of the admin token: random, good for
// one upgrade within TICKET_TTL_MS, then gone. Kept in memory and bounded, so the socket must reach the process
// that minted it (the console and its softphone talk to one relay instance).
import { randomBytes } from "node:crypto";
import type { CallParties } from "../call/agent.ts";
import { sameSecret } from "../http/admin-auth.ts";

export const TICKET_TTL_MS = 60_000;
/** Unused tickets kept at once; minting past this drops the oldest. Each one also holds a pre-warmed model session. */
export const MAX_TICKETS = 64;

interface Ticket {
  token: string;
  parties: CallParties;
  expiresAt: number;
}

export type Claim = { ok: true; parties: CallParties } | { ok: false; reason: "unknown" | "expired" | "mismatch" };

export class SoftphoneTickets {
  /** By call id, oldest first (Map keeps insertion order). */
  private readonly unused = new Map<string, Ticket>();
  /** Claimed at upgrade, taken when the socket opens and the call starts. */
  private readonly opening = new Map<string, { parties: CallParties; at: number }>();

  constructor(
    private readonly ttlMs = TICKET_TTL_MS,
    private readonly max = MAX_TICKETS,
  ) {}

  mint(callId: string, parties: CallParties, now = Date.now()): { token: string; expiresAt: number } {
    this.prune(now);
    while (this.unused.size >= this.max) this.unused.delete(this.unused.keys().next().value!);
    const t: Ticket = { token: randomBytes(24).toString("base64url"), parties, expiresAt: now + this.ttlMs };
    this.unused.set(callId, t);
    return { token: t.token, expiresAt: t.expiresAt };
  }

  /** Single use: a ticket is gone once claimed (or found expired); a wrong token leaves it for its owner. */
  claim(callId: string, token: string, now = Date.now()): Claim {
    const t = this.unused.get(callId);
    if (t === undefined) return { ok: false, reason: "unknown" };
    if (!sameSecret(token, t.token)) return { ok: false, reason: "mismatch" };
    this.unused.delete(callId);
    if (t.expiresAt < now) return { ok: false, reason: "expired" };
    this.prune(now);
    this.opening.set(callId, { parties: t.parties, at: now });
    return { ok: true, parties: t.parties };
  }

  /** The parties of a call whose socket just opened (once). */
  take(callId: string): CallParties | undefined {
    const o = this.opening.get(callId);
    this.opening.delete(callId);
    return o?.parties;
  }

  get size(): number {
    return this.unused.size;
  }

  private prune(now: number): void {
    for (const [id, t] of this.unused) if (t.expiresAt < now) this.unused.delete(id);
    // An upgrade that never reached open (client vanished mid-handshake) leaves an entry; they go after one TTL.
    for (const [id, o] of this.opening) if (now - o.at > this.ttlMs) this.opening.delete(id);
  }
}
