// One live socket per call. A stream URL is a bearer credential valid for STREAM_TOKEN_TTL_S; without a mark,
// anyone holding it (or a confused media server) could open a second socket and a second model session for the
// same call, or reopen it after the call ended. The mark: claimed before the upgrade, released when the upgrade
// fails (the URL stays usable), ended when the socket closes (the URL is refused from then on).
// The interface is what the server needs; the in-memory mark below serves one instance, a shared store
// implements the same interface so every instance behind a balancer refuses the URL.

export type ClaimResult = "ok" | "busy" | "ended";

export interface StreamClaims {
  /** Takes the call's stream: "ok", or "busy" while another socket for it is open, or "ended" once its call is over. */
  claim(callId: string): Promise<ClaimResult>;
  /** After a claim: `ended` false when the upgrade failed (the URL may be used again), true when the socket closed. */
  release(callId: string, ended: boolean): Promise<void>;
}

interface Mark {
  state: "open" | "ended";
  expires: number;
}

/**
 * Marks in a Map, bounded in count and age. Every mark lives as long as the stream token (`ttlMs`): past it the
 * token itself is refused, so the mark has nothing left to guard. Insertion order is claim order, so the oldest
 * marks are at the front and eviction is cheap.
 */
export class MemoryStreamClaims implements StreamClaims {
  private readonly marks = new Map<string, Mark>();

  constructor(
    private readonly ttlMs: number,
    private readonly max = 100_000,
    private readonly now = () => Date.now(),
  ) {}

  claim(callId: string): Promise<ClaimResult> {
    return Promise.resolve(this.claimNow(callId));
  }

  release(callId: string, ended: boolean): Promise<void> {
    const m = this.marks.get(callId);
    if (m !== undefined) {
      if (ended) m.state = "ended";
      else this.marks.delete(callId);
    }
    return Promise.resolve();
  }

  get size(): number {
    return this.marks.size;
  }

  /** Synchronous, so two upgrades racing for one URL cannot both see it free. */
  private claimNow(callId: string): ClaimResult {
    const t = this.now();
    this.evict(t);
    const m = this.marks.get(callId);
    if (m !== undefined) return m.state === "open" ? "busy" : "ended";
    this.marks.set(callId, { state: "open", expires: t + this.ttlMs });
    while (this.marks.size > this.max) this.marks.delete(this.marks.keys().next().value as string);
    return "ok";
  }

  private evict(t: number): void {
    for (const [id, m] of this.marks) {
      if (m.expires > t) break;
      this.marks.delete(id);
    }
  }
}
