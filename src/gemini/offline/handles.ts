// Resumption handles for the offline model. A conversation lives while one of its sockets is open, then for
// `retainMs` more so a relay can still resume after a dropped socket; past that (or past `maxEnded` ended
// conversations) its handles are forgotten. Each conversation keeps only its last few handles, so the book stays
// bounded however many calls go through.

export interface Conversation {
  /** Newest last; at most `perConversation`. */
  readonly handles: string[];
  sockets: number;
}

export interface HandleBookLimits {
  retainMs: number;
  maxEnded: number;
  /** A relay resumes with its latest handle; a few older ones cover a handle issued while it was reconnecting. */
  perConversation: number;
}

export const DEFAULT_LIMITS: HandleBookLimits = { retainMs: 10 * 60_000, maxEnded: 2_000, perConversation: 4 };

export class HandleBook {
  private readonly byHandle = new Map<string, Conversation>();
  /** Conversations without an open socket → when the last one closed; insertion order is end order. */
  private readonly ended = new Map<Conversation, number>();
  private readonly limits: HandleBookLimits;

  constructor(
    limits: Partial<HandleBookLimits> = {},
    private readonly now: () => number = () => performance.now(),
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** Handles currently resumable. */
  get size(): number {
    return this.byHandle.size;
  }

  /** Conversations kept for resumption after their last socket closed. */
  get endedCount(): number {
    return this.ended.size;
  }

  open(): Conversation {
    this.prune();
    return { handles: [], sockets: 1 };
  }

  /** The conversation a handle belongs to (now with one more socket), or undefined if unknown or forgotten. */
  resume(handle: string): Conversation | undefined {
    this.prune();
    const c = this.byHandle.get(handle);
    if (c === undefined) return undefined;
    c.sockets++;
    this.ended.delete(c);
    return c;
  }

  issue(c: Conversation): string {
    const h = crypto.randomUUID();
    c.handles.push(h);
    this.byHandle.set(h, c);
    if (c.handles.length > this.limits.perConversation) this.byHandle.delete(c.handles.shift()!);
    return h;
  }

  /** One socket of `c` closed. */
  release(c: Conversation): void {
    c.sockets = Math.max(0, c.sockets - 1);
    if (c.sockets === 0) {
      if (c.handles.length === 0) return; // nothing to resume with: nothing to keep
      this.ended.delete(c);
      this.ended.set(c, this.now());
    }
    this.prune();
  }

  clear(): void {
    this.byHandle.clear();
    this.ended.clear();
  }

  private prune(): void {
    const { retainMs, maxEnded } = this.limits;
    const now = this.now();
    for (const [c, endedAt] of this.ended) {
      if (this.ended.size <= maxEnded && now - endedAt < retainMs) break; // the rest ended later
      for (const h of c.handles) this.byHandle.delete(h);
      this.ended.delete(c);
    }
  }
}
