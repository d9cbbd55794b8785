// A recording on a disk that fills up, and on a read-only one: the recording stops (logged once, the record says
// failed and why), the call does not notice. Real filesystems: a small tmpfs and a read-only bind mount (root only;
// the tests need it, as CI runs as root).
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { HEADER_BYTES } from "../../src/recordings/wav.ts";
import { until } from "../support/wait.ts";
import { readRecording, recordedCall, recordingsIn, scratchDir } from "./support.ts";

const FRAME = Buffer.alloc(640);
const mounts: string[] = [];
const dirs: string[] = [];

function sh(cmd: string[]): void {
  const r = Bun.spawnSync(cmd, { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed (these tests need root to mount): ${r.stderr.toString()}`);
}

afterAll(() => {
  // Lazy: a file a failed test left open must not keep the mount (or the directory) around.
  for (const m of mounts.reverse()) Bun.spawnSync(["umount", "-l", m]);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Runs a recorded call on a fake clock for `seconds`, the caller sending frames throughout; checks the call goes on. */
async function talk(c: ReturnType<typeof recordedCall>, seconds: number): Promise<void> {
  const before = c.leg.audio.length;
  for (let k = 1; k <= seconds * 50; k++) {
    c.clock.advance(20);
    c.call.onAudio(FRAME);
    if (k % 10 === 0) await Bun.sleep(1);
  }
  // Every caller frame still reached the model: the call did not notice.
  expect(c.leg.audio.length - before).toBe(seconds * 50);
}

describe("recording on a bad disk", () => {
  test("a disk that fills up mid-call: the recording stops once, says ENOSPC; the file plays up to its last write; the call goes on", async () => {
    const mnt = scratchDir("full");
    dirs.push(mnt);
    sh(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", mnt]);
    mounts.push(mnt);
    const { recordings, lines } = recordingsIn(mnt, {}, { maxBehindS: 3600 });
    const c = recordedCall({ recordings });
    // 64 KB/s of stereo 16 kHz: 256 KiB is full after about 4 s.
    await talk(c, 8);
    await until(() => c.reports().some((r) => r.status === "failed"), "the failure reported while the call runs");
    const during = c.reports().find((r) => r.status === "failed")!;
    expect(during.error).toContain("ENOSPC");
    await talk(c, 2);
    c.call.onClose(1000, "");
    await until(() => c.reports().filter((r) => r.status === "failed").length === 2, "the closing report");
    const final = c.reports().at(-1)!;
    expect(final.status).toBe("failed");
    expect(final.error).toContain("ENOSPC");
    expect(c.lines.concat(lines).filter((l) => l.includes("recording stopped")).length).toBe(1);
    expect(c.events().some((e) => e.type === "ended" && e.reason === "caller_hangup")).toBe(true);
    // What was written is a WAV that plays: header sizes match whole batches in the file.
    expect(final.location).not.toBeNull();
    const w = readRecording(final.location!);
    expect(w.dataBytes).toBeGreaterThan(64_000);
    expect(w.dataBytes % 4).toBe(0);
    expect(HEADER_BYTES + w.dataBytes).toBeLessThanOrEqual(statSync(final.location!).size);
    expect(final.durationMs).toBe(Math.round((w.dataBytes / 4 / 16000) * 1000));
  }, 60_000);

  test("a read-only directory: no file, the record says failed with EROFS, the call goes on", async () => {
    const src = scratchDir("ro-src");
    const mnt = scratchDir("ro");
    dirs.push(src, mnt);
    mkdirSync(src, { recursive: true });
    sh(["mount", "--bind", src, mnt]);
    mounts.push(mnt);
    sh(["mount", "-o", "remount,bind,ro", mnt]);
    const { recordings } = recordingsIn(mnt);
    const c = recordedCall({ recordings });
    await talk(c, 2);
    await until(() => c.reports().some((r) => r.status === "failed"), "the failure reported");
    c.call.onClose(1000, "");
    await until(() => c.reports().filter((r) => r.status === "failed").length === 2, "the closing report");
    const final = c.reports().at(-1)!;
    expect(final.error).toContain("EROFS");
    expect(final.location).toBeNull();
    expect(final.bytes).toBe(0);
    expect(c.lines.filter((l) => l.includes("recording stopped")).length).toBe(1);
    expect(readdirSync(mnt)).toEqual([]);
  }, 30_000);

  test("a disk too slow to keep up: past the bound the recording gives up rather than hold more audio", async () => {
    const d = scratchDir("slow");
    dirs.push(d);
    // The fake clock runs the call faster than any disk: with no pause for the writes, 10 s of audio wait.
    const { recordings } = recordingsIn(d, {}, { maxBehindS: 2 });
    const c = recordedCall({ recordings });
    for (let k = 1; k <= 500; k++) {
      c.clock.advance(20);
      c.call.onAudio(FRAME);
    }
    expect(c.leg.audio.length).toBe(500);
    await until(() => c.reports().some((r) => r.status === "failed"), "failed");
    expect(c.reports().find((r) => r.status === "failed")!.error).toContain("fell behind");
    c.call.onClose(1000, "");
  });
});
