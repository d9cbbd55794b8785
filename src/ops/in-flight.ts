// HTTP requests this process is answering, so the drain exits only once each has its answer (a webhook still
// reading its body, or waiting on a pre-warm, would otherwise be cut when the server stops). A request counts
// from the moment its headers are in until its Response exists: a streamed body (the console's event stream)
// is not waited for, and a WebSocket upgrade counts until it is accepted or refused.
export class InFlight {
  private n = 0;
  private waiters: Array<() => void> = [];

  get count(): number {
    return this.n;
  }

  /** Runs one request's handler, counted until it returns (or its promise settles). */
  track<T>(handler: () => T | Promise<T>): T | Promise<T> {
    this.n++;
    let r: T | Promise<T>;
    try {
      r = handler();
    } catch (err) {
      this.done();
      throw err;
    }
    if (r instanceof Promise) return r.finally(() => this.done());
    this.done();
    return r;
  }

  /** Resolves when no request is in flight. */
  whenIdle(): Promise<void> {
    if (this.n === 0) return Promise.resolve();
    return new Promise((r) => this.waiters.push(r));
  }

  private done(): void {
    this.n--;
    if (this.n === 0) for (const w of this.waiters.splice(0)) w();
  }
}
