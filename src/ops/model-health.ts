// Is the model endpoint failing? True while every model session opened within the window failed (and at least
// one did): a bad key, an exhausted quota or an unreachable endpoint. Instances that cannot reach the model report
// not ready, so a load balancer sends calls to those that can; once the window passes without new failures the
// instance reports ready again and the next call is the probe.

export const MODEL_HEALTH_WINDOW_MS = 60_000;

export class ModelHealth {
  private lastOk = -Infinity;
  private lastFailure = -Infinity;

  constructor(
    private readonly windowMs = MODEL_HEALTH_WINDOW_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** A session opened (true) or could not be opened (false). Sessions abandoned before the answer are not told. */
  record(ok: boolean): void {
    if (ok) this.lastOk = this.now();
    else this.lastFailure = this.now();
  }

  get failing(): boolean {
    const since = this.now() - this.windowMs;
    return this.lastFailure > since && this.lastOk <= since;
  }
}
