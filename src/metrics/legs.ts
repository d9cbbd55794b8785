// Measures how model sessions open, without the call layer or the provider knowing: wraps the leg factory and
// times each leg's start(). Only start() and close() are shadowed (own properties on the leg), so sendAudio and the
// rest of the audio path stay direct calls on the provider's object.
import type { ModelLegFactory } from "../call/model-leg.ts";

/** ok = ready for audio; failed = could not be opened; abandoned = closed by us before it answered (not a fault). */
export type LegStartOutcome = "ok" | "failed" | "abandoned";

export type LegStartListener = (outcome: LegStartOutcome, seconds: number) => void;

export function measureLegStarts(factory: ModelLegFactory, listener: LegStartListener): ModelLegFactory {
  return (ctx) => {
    const leg = factory(ctx);
    const start = leg.start.bind(leg);
    const close = leg.close.bind(leg);
    let started: Promise<void> | undefined;
    let settled = false;
    let closedFirst = false;
    const report = (outcome: LegStartOutcome, t0: number) => {
      settled = true;
      try {
        listener(outcome, (performance.now() - t0) / 1000);
      } catch {
        // a metrics fault must not turn into a call fault
      }
    };
    leg.start = () => {
      if (started !== undefined) return started;
      const t0 = performance.now();
      started = start();
      started.then(
        () => report("ok", t0),
        () => report(closedFirst ? "abandoned" : "failed", t0),
      );
      return started;
    };
    leg.close = () => {
      if (!settled) closedFirst = true;
      return close();
    };
    return leg;
  };
}
