// Wall-clock time and timers for the database-backed queues (the outbox, the analysis queue): their rows hold Unix
// ms, so now() is Date.now(). Injected so tests drive retries and backoff with a fake clock instead of waiting.
export interface WallClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(h: unknown): void;
}

export const wallClock: WallClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};
