// Waiting without wall-clock assertions: poll a condition, fail with a label after a generous timeout (the
// machines are shared and noisy; speed is the bench's business, not the tests').
export async function until(pred: () => boolean, label: string, timeoutMs = 10000): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for: ${label}`);
    await Bun.sleep(5);
  }
}
