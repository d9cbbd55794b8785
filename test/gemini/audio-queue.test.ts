// The caller-audio queue keeps its own copy: callers hand it views of buffers they reuse (the socket's scratch,
// the uplink resampler's output), and those are Buffers, whose slice() would share memory.
import { expect, test } from "bun:test";
import { AudioQueue } from "../../src/gemini/audio-queue.ts";

test("a queued Buffer view is copied: reusing the caller's buffer does not change what was queued", () => {
  const q = new AudioQueue(64000);
  const reused = Buffer.alloc(640, 1);
  q.push(reused.subarray(0, 320));
  reused.fill(2);
  q.push(reused.subarray(0, 320));
  reused.fill(3);
  const out = q.drain();
  expect(out.map((c) => [c.byteLength, c[0], c[319]])).toEqual([
    [320, 1, 1],
    [320, 2, 2],
  ]);
});
