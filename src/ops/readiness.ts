// Whether this instance should be sent new calls (GET /readyz). Readiness is a set of named reasons not to be
// ready, each a check read at request time: "draining" (ops/drain.ts), "modelFailing" (ops/model-health.ts), and
// whatever else comes (e.g. "atCapacity" for admission control). Liveness (/healthz) is a separate question.

export class Readiness {
  private readonly checks = new Map<string, () => boolean>();

  /** Adds a reason; `holds()` returns true while it keeps the instance out of rotation. Names are unique. */
  add(reason: string, holds: () => boolean): this {
    if (this.checks.has(reason)) throw new Error(`readiness reason ${reason} already added`);
    this.checks.set(reason, holds);
    return this;
  }

  /** The reasons that hold now, in the order they were added; empty when ready. */
  reasons(): string[] {
    const out: string[] = [];
    for (const [name, holds] of this.checks) if (holds()) out.push(name);
    return out;
  }

  get ready(): boolean {
    return this.reasons().length === 0;
  }
}
