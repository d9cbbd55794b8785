// Call ids we already answered with <Stream>. Sautikit re-posts the voice URL on every state change; only the
// first POST may stream (docs/sautikit-stream.md#repeat-posts). Bounded in count and age; Map keeps insertion order, so the
// oldest entries are at the front and eviction is cheap.
export class SeenCalls {
  private readonly expiry = new Map<string, number>();

  constructor(private readonly max: number, private readonly ttlMs: number, private readonly now = () => Date.now()) {}

  /** Records the id; true when it was not seen (or had expired). */
  markIfNew(id: string): boolean {
    const t = this.now();
    this.evict(t);
    const exp = this.expiry.get(id);
    if (exp !== undefined && exp > t) return false;
    this.expiry.delete(id);
    this.expiry.set(id, t + this.ttlMs);
    while (this.expiry.size > this.max) {
      const oldest = this.expiry.keys().next().value as string;
      this.expiry.delete(oldest);
    }
    return true;
  }

  /** Forgets the id: a claim released because its call never started (admission.ts). */
  forget(id: string): void {
    this.expiry.delete(id);
  }

  get size(): number {
    return this.expiry.size;
  }

  private evict(t: number): void {
    for (const [id, exp] of this.expiry) {
      if (exp > t) break;
      this.expiry.delete(id);
    }
  }
}
