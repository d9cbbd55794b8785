// Recordings in object storage against a real S3-compatible server (s3rver on loopback): uploaded when the call
// ends and removed locally; retried through an outage; picked up again by a new process (a finished file a
// failed upload left, and a part file a dead process left); deleted again when its record went meanwhile.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RecordingInfo } from "../../src/call/data.ts";
import { partName } from "../../src/recordings/names.ts";
import { HEADER_BYTES, readWavHeader, wavHeader } from "../../src/recordings/wav.ts";
import { startS3, type S3Server } from "../support/s3.ts";
import { until } from "../support/wait.ts";
import { marked, onsets, recordedCall, recordingsIn, scratchDir } from "./support.ts";

let s3: S3Server;
const dirs: string[] = [];
beforeAll(async () => {
  s3 = await startS3();
});
afterAll(async () => {
  await s3.dispose();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function dir(label: string): string {
  const d = scratchDir(label);
  dirs.push(d);
  return d;
}

const FRAME = Buffer.alloc(640);

/** A short recorded call with one agent marker; resolves with its closing report. */
async function shortCall(recordings: Parameters<typeof recordedCall>[0]["recordings"], callId: string): Promise<RecordingInfo> {
  const c = recordedCall({ recordings, callId });
  for (let k = 1; k <= 50; k++) {
    if (k === 10) c.leg.play(marked(400, [100], 16000));
    c.clock.advance(20);
    c.call.onAudio(FRAME);
  }
  c.call.onClose(1000, "");
  await until(() => c.reports().some((r) => r.status !== "recording"), "recording closed");
  return c.reports().at(-1)!;
}

async function object(key: string): Promise<Uint8Array | undefined> {
  const f = s3.client.file(key);
  return (await f.exists()) ? new Uint8Array(await f.arrayBuffer()) : undefined;
}

describe("recordings in object storage", () => {
  test("uploaded when the call ends, then removed locally; the record names the object", async () => {
    const d = dir("up");
    const { recordings } = recordingsIn(d, { s3: s3.settings("calls/") });
    const final = await shortCall(recordings, "s3-call-1");
    expect(final.status).toBe("ready");
    expect(final.location).toBe(`s3://${s3.bucket}/calls/s3-call-1.wav`);
    await until(() => recordings.uploader!.pending === 0, "uploaded");
    expect(readdirSync(d)).toEqual([]);
    const bytes = (await object("calls/s3-call-1.wav"))!;
    expect(bytes.length).toBe(final.bytes);
    const h = readWavHeader(bytes)!;
    expect(h).toMatchObject({ rate: 16000, channels: 2, dataBytes: final.bytes - HEADER_BYTES });
    const pcm = new Int16Array(bytes.buffer.slice(HEADER_BYTES));
    expect(onsets(pcm.filter((_, i) => i % 2 === 1))).toHaveLength(1);
    await recordings.stop();
  });

  test("an outage: the upload fails (logged once), is retried with backoff, and goes up when the server is back", async () => {
    const d = dir("outage");
    const { recordings, lines } = recordingsIn(d, { s3: s3.settings("calls/") }, { retryMinMs: 50 });
    await s3.stop();
    try {
      await shortCall(recordings, "s3-outage");
      await until(() => recordings.uploader!.failures >= 3, "several failed attempts");
      expect(existsSync(join(d, "s3-outage.wav"))).toBe(true);
      expect(lines.filter((l) => l.includes("recording upload failed")).length).toBe(1);
    } finally {
      await s3.restart();
    }
    await until(() => recordings.uploader!.pending === 0, "uploaded after the outage", 20_000);
    expect(existsSync(join(d, "s3-outage.wav"))).toBe(false);
    expect(await object("calls/s3-outage.wav")).toBeDefined();
    await recordings.stop();
  }, 30_000);

  test("a new process picks up what an old one left: a finished file whose upload failed, and a dead process's part file", async () => {
    const d = dir("restart");
    // The old process: its storage unreachable (nothing listens on port 9), so its upload never went up.
    const old = recordingsIn(d, { s3: { ...s3.settings("calls/"), endpoint: "http://127.0.0.1:9" } }, { retryMinMs: 60_000 });
    await shortCall(old.recordings, "left-finished");
    await until(() => old.recordings.uploader!.failures >= 1, "the old process's upload failed");
    await old.recordings.stop();
    expect(existsSync(join(d, "left-finished.wav"))).toBe(true);
    // And a part file whose writer died mid-call (pid 2^22+1 is above Linux's pid_max default, so not running).
    const header = wavHeader({ rate: 16000, channels: 2 }, 6400);
    writeFileSync(join(d, partName("left-part", "4194305-abc")), Buffer.concat([header, Buffer.alloc(6400 + 4 * 250 + 3, 1)]));

    const fresh = recordingsIn(d, { s3: s3.settings("calls/") });
    const recovered: Array<{ callId: string; info: RecordingInfo }> = [];
    fresh.recordings.onRecovered = (callId, info) => void recovered.push({ callId, info });
    fresh.recordings.start();
    await until(() => recovered.length === 1, "the part file finished");
    expect(recovered[0]!.callId).toBe("left-part");
    // The torn last frame is dropped; the header covers every whole frame that was written.
    expect(recovered[0]!.info).toMatchObject({ status: "partial", bytes: HEADER_BYTES + 6400 + 1000, location: `s3://${s3.bucket}/calls/left-part.wav` });
    await until(() => fresh.recordings.uploader!.uploaded === 2 && fresh.recordings.uploader!.pending === 0, "both uploaded", 20_000);
    expect(readdirSync(d)).toEqual([]);
    const part = (await object("calls/left-part.wav"))!;
    expect(readWavHeader(part)!.dataBytes).toBe(7400);
    expect(part.length).toBe(HEADER_BYTES + 7400);
    expect(await object("calls/left-finished.wav")).toBeDefined();
    await fresh.recordings.stop();
  }, 30_000);

  test("a recording whose record was deleted during its upload is deleted from the bucket again", async () => {
    const d = dir("gone");
    const { recordings } = recordingsIn(d, { s3: s3.settings("calls/") }, { known: async (id) => id !== "s3-deleted" });
    await shortCall(recordings, "s3-deleted");
    await until(() => recordings.uploader!.pending === 0, "upload handled");
    expect(await object("calls/s3-deleted.wav")).toBeUndefined();
    expect(readdirSync(d)).toEqual([]);
    await recordings.stop();
  });

  test("serving an uploaded recording redirects to a short-lived presigned link that answers ranges; deleting removes the object", async () => {
    const d = dir("serve");
    const { recordings } = recordingsIn(d, { s3: s3.settings("calls/") });
    const final = await shortCall(recordings, "s3-serve");
    await until(() => recordings.uploader!.pending === 0, "uploaded");
    const res = await recordings.serve(final.location!, new Request("http://relay/x", { headers: { range: "bytes=0-43" } }), "s3-serve");
    expect(res!.status).toBe(302);
    const link = res!.headers.get("location")!;
    expect(link).toContain("X-Amz-Expires=300");
    const got = await fetch(link, { headers: { range: "bytes=0-43" } });
    expect(got.status).toBe(206);
    expect(readWavHeader(new Uint8Array(await got.arrayBuffer()))!.dataBytes).toBe(final.bytes - HEADER_BYTES);
    // Deleting removes the object; deleting again is fine.
    await recordings.remove(final.location!);
    expect(await object("calls/s3-serve.wav")).toBeUndefined();
    await recordings.remove(final.location!);
    await recordings.stop();
  });
});
