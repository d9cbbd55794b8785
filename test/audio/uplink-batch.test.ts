// UPLINK_BATCH_MS: caller audio gathered into model-sized batches, in order, with nothing lost or duplicated.
import { describe, expect, test } from "bun:test";
import { UplinkBatcher } from "../../src/audio/uplink-batch.ts";

function frame(seq: number, bytes = 640): Uint8Array {
  const f = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) f[i] = (seq + i) & 0xff;
  return f;
}

describe("uplink batching", () => {
  test("40 ms batches of 20 ms frames: every second frame sends one 1280-byte chunk holding both, in order", () => {
    const sent: Uint8Array[] = [];
    const b = new UplinkBatcher(1280, (c) => void sent.push(new Uint8Array(c)));
    for (let i = 0; i < 10; i++) b.push(frame(i));
    expect(sent.length).toBe(5);
    expect(sent.every((c) => c.byteLength === 1280)).toBe(true);
    for (let i = 0; i < 10; i++) expect([...sent[i >> 1]!.subarray((i & 1) * 640, (i & 1) * 640 + 640)]).toEqual([...frame(i)]);
  });

  test("odd-sized coalesced frames keep the byte stream exact; flush sends the rest", () => {
    const all: number[] = [];
    const b = new UplinkBatcher(1280, (c) => void all.push(...c));
    const input: number[] = [];
    for (const n of [640, 1920, 320, 66000, 640, 100]) {
      const f = frame(input.length, n);
      input.push(...f);
      b.push(f);
    }
    b.flush();
    expect(all.length).toBe(input.length);
    expect(all).toEqual(input);
  });
});
