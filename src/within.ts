// Bounding a wait: a slow dependency (database, claim store, a flusher at shutdown) must not hold up a call or
// the process longer than its budget.

/** `p`'s value, or "timeout" after `ms` (the timer is cleared either way, so nothing lingers). */
export async function within<T>(p: Promise<T>, ms: number): Promise<T | "timeout"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), ms)));
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
