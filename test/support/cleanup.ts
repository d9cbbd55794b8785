// Undo what a test started (servers, sockets, sessions), newest first, after each test of the calling file, even
// when the test failed. For single values prefer `await using`; this serves helpers that start several things.
import { afterEach } from "bun:test";

export function cleanupAfterEach(): (undo: () => unknown) => void {
  const stack: Array<() => unknown> = [];
  afterEach(async () => {
    for (const f of stack.splice(0).reverse()) await f();
  });
  return (undo) => void stack.push(undo);
}
