// Wall-clock time for outbound work, injected so tests drive hours of a campaign (windows, backoffs, ring timeouts,
// leases) in milliseconds. Unix ms, unlike the pacer's clock (audio/pacer.ts), which is monotonic.

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};
