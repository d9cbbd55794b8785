// What a stopped process left in RECORDINGS_DIR. A part file whose writer is gone (its pid is not running, or is
// this process under a tag that is not its own, or it has not been written for STALE_MS) is finished as it is: its
// header is set to the whole sample frames it holds (normally already so: the header is rewritten after every
// batch), it is renamed to <name>.wav and its record says `partial`. With object storage, every finished file in
// the directory is (re)queued for upload: the ones a crash or a failed upload left behind. Run at start and then
// every few minutes; the directory must be this host's own (pids mean nothing on another host's files).
import { open, readdir, rename, stat } from "node:fs/promises";
import { join } from "node:path";
import type { RecordingInfo } from "../call/data.ts";
import type { Logger } from "../log.ts";
import { callIdOf, errorText, finishedName, parsePart, WAV } from "./names.ts";
import { HEADER_BYTES, readWavHeader, wavHeader } from "./wav.ts";

/** A part file of a live process that has not been written for this long is taken to be abandoned. */
export const STALE_MS = 5 * 60_000;

export interface SweepOptions {
  dir: string;
  /** This process's tag (names.ts): its own part files are never touched. */
  tag: string;
  /** The rate of a file whose header is unreadable (CALL_SAMPLE_RATE). */
  rate: number;
  staleMs?: number;
  now?: () => number;
  log: Logger;
  /** A recording was finished here: its record is updated. */
  recovered(callId: string, name: string, info: Omit<RecordingInfo, "location">): void;
  /** A finished file waits in the directory (object storage: upload it). */
  finished?(name: string): void;
}

export const PARTIAL_ERROR = "the relay stopped during the call; the recording ends at its last write";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: running, as another user.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** One pass over the directory; returns how many part files it finished. Never throws (a failure is logged). */
export async function sweep(o: SweepOptions): Promise<number> {
  let files: string[];
  try {
    files = await readdir(o.dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") o.log.warn({ dir: o.dir, err: errorText(err) }, "recordings: cannot list the directory");
    return 0;
  }
  const now = (o.now ?? Date.now)();
  let n = 0;
  for (const f of files) {
    const part = parsePart(f);
    if (part !== undefined) {
      if (part.tag === o.tag) continue;
      const abandoned = part.pid === process.pid || !alive(part.pid);
      try {
        if (!abandoned && now - (await stat(join(o.dir, f))).mtimeMs < (o.staleMs ?? STALE_MS)) continue;
        const info = await finishPart(join(o.dir, f), join(o.dir, part.name + WAV), o.rate);
        o.log.warn({ callId: callIdOf(part.name), file: part.name + WAV, durationMs: info.durationMs }, "recordings: finished a recording its relay left unfinished");
        o.recovered(callIdOf(part.name), part.name, info);
        o.finished?.(part.name);
        n++;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") o.log.warn({ file: f, err: errorText(err) }, "recordings: cannot finish an abandoned recording");
      }
      continue;
    }
    const name = finishedName(f);
    if (name !== undefined) o.finished?.(name);
  }
  return n;
}

/** Sets the header to the whole frames the file holds, drops a torn last frame, renames it. */
async function finishPart(path: string, to: string, defaultRate: number): Promise<Omit<RecordingInfo, "location">> {
  const fh = await open(path, "r+");
  let data: number;
  let rate = defaultRate;
  try {
    const size = (await fh.stat()).size;
    const head = Buffer.alloc(HEADER_BYTES);
    const { bytesRead } = await fh.read(head, 0, HEADER_BYTES, 0);
    const info = bytesRead === HEADER_BYTES ? readWavHeader(head) : undefined;
    if (info !== undefined && info.channels === 2) rate = info.rate;
    data = Math.max(0, Math.floor((size - HEADER_BYTES) / 4) * 4);
    await fh.truncate(HEADER_BYTES + data);
    await fh.write(wavHeader({ rate, channels: 2 }, data), 0, HEADER_BYTES, 0);
  } finally {
    await fh.close();
  }
  await rename(path, to);
  return { status: "partial", durationMs: Math.round((data / 4 / rate) * 1000), bytes: HEADER_BYTES + data, error: PARTIAL_ERROR };
}
