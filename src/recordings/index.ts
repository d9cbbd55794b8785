// Call recordings for one relay: a recording per call whose agent records (recording.ts), where the files live
// (RECORDINGS_DIR, and with RECORDINGS_URL object storage: uploads.ts), what a stopped process left behind
// (recovery.ts), serving a file to the API with byte ranges or a presigned link (serve.ts), and deleting one.
// None of it is on a call's path but the tape each recorded call feeds.
import { unlink } from "node:fs/promises";
import { basename, join, resolve, sep } from "node:path";
import type { RecordingInfo } from "../call/data.ts";
import type { RecordingFactory } from "../call/recording-tap.ts";
import type { RecordingsSettings } from "../config.ts";
import type { Logger } from "../log.ts";
import { errorText, processTag, WAV } from "./names.ts";
import { CallRecording } from "./recording.ts";
import { sweep } from "./recovery.ts";
import { serveFile } from "./serve.ts";
import { parseS3, Uploader } from "./uploads.ts";

/** How long a presigned link to a recording in object storage stays valid. */
export const LINK_TTL_S = 300;
const SWEEP_EVERY_MS = 5 * 60_000;

export interface RecordingsOptions {
  settings: RecordingsSettings;
  /** CALL_SAMPLE_RATE: the rate of a left-behind file whose header cannot be read. */
  callRate: number;
  log: Logger;
  /** Whether a call still has a record (false: deleted); consulted after each upload. */
  known?: (callId: string) => Promise<boolean | undefined>;
  /** Tests: a shorter staleness, faster retries, another tape batch size, a disk allowed to fall further behind. */
  staleMs?: number;
  retryMinMs?: number;
  batchMs?: number;
  maxBehindS?: number;
}

/** A recording's record changed outside its call (recovered after a restart). */
export type RecordingReport = (callId: string, info: RecordingInfo) => void;

export class Recordings {
  readonly dir: string;
  readonly uploader: Uploader | undefined;
  /** This process's tag in the names of the files it is writing. */
  readonly tag = processTag();
  private readonly log: Logger;
  private readonly open = new Set<Promise<void>>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private sweeping: Promise<number> | undefined;
  /** Where records hear about recordings finished by the sweep; set by whoever keeps the records. */
  onRecovered: RecordingReport | undefined;

  constructor(private readonly o: RecordingsOptions) {
    this.dir = resolve(o.settings.dir);
    this.log = o.log.child({ component: "recordings" });
    const s3 = o.settings.s3;
    this.uploader = s3 === undefined ? undefined : new Uploader({ settings: s3, dir: this.dir, log: this.log, known: o.known, retryMinMs: o.retryMinMs });
    if (s3 !== undefined && (s3.accessKeyId === undefined || s3.secretAccessKey === undefined)) {
      this.log.error(
        { bucket: s3.bucket },
        "RECORDINGS_URL is set but S3_ACCESS_KEY_ID/S3_SECRET_ACCESS_KEY (or AWS_*) are not: uploads will fail and recordings stay in RECORDINGS_DIR, retried",
      );
    }
  }

  /** What the record says for finished recording `name`. */
  private locate(name: string): string {
    return this.uploader?.location(name) ?? join(this.dir, name + WAV);
  }

  /** For the call manager: opens the recording of a call whose agent records. */
  readonly factory: RecordingFactory = (req) => {
    let done!: () => void;
    const closed = new Promise<void>((r) => (done = r));
    this.open.add(closed);
    void closed.then(() => this.open.delete(closed));
    return new CallRecording({
      req,
      dir: this.dir,
      tag: this.tag,
      locate: (name) => this.locate(name),
      batchMs: this.o.batchMs,
      maxBehindS: this.o.maxBehindS,
      closed: (name) => {
        if (name !== undefined) this.uploader?.enqueue(name);
        done();
      },
    });
  };

  /** Recordings being written now. */
  get active(): number {
    return this.open.size;
  }

  /** Finishes what a stopped process left, queues uploads, and repeats every few minutes. */
  start(): void {
    void this.sweep();
    this.timer = setInterval(() => void this.sweep(), SWEEP_EVERY_MS);
    this.timer.unref?.();
  }

  sweep(): Promise<number> {
    this.sweeping ??= sweep({
      dir: this.dir,
      tag: this.tag,
      rate: this.o.callRate,
      staleMs: this.o.staleMs,
      log: this.log,
      recovered: (callId, name, info) => this.onRecovered?.(callId, { ...info, location: this.locate(name) }),
      finished: this.uploader === undefined ? undefined : (name) => this.uploader!.enqueue(name),
    }).finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  /**
   * The recording at `location` for an admin request: the file with byte ranges, a redirect to a short-lived
   * presigned link when it is in object storage, or undefined when this relay cannot find it.
   */
  async serve(location: string, req: Request, callId: string): Promise<Response | undefined> {
    const filename = `${callId}.wav`;
    const obj = parseS3(location);
    if (obj !== undefined) {
      const up = this.uploader;
      if (up === undefined) return undefined;
      // Not uploaded yet: it is still here.
      const local = await serveFile(up.localPath(obj), req, filename);
      if (local !== undefined) return local;
      return new Response(null, { status: 302, headers: { location: up.presign(obj, LINK_TTL_S), "cache-control": "no-store" } });
    }
    const path = this.ownPath(location);
    return path === undefined ? undefined : serveFile(path, req, filename);
  }

  /** A local location inside RECORDINGS_DIR (nothing else is ever served or deleted), else undefined. */
  private ownPath(location: string): string | undefined {
    const p = resolve(location);
    return p.startsWith(this.dir + sep) && basename(p).endsWith(WAV) ? p : undefined;
  }

  /** Deletes the recording at `location` (a file here, or an object); one already gone is fine. Throws when the
   *  storage cannot be reached, so the record is kept for another try. */
  async remove(location: string): Promise<void> {
    const obj = parseS3(location);
    if (obj !== undefined) {
      if (this.uploader === undefined) throw new Error("the recording is in object storage, and RECORDINGS_URL is not set on this relay");
      await this.uploader.remove(obj);
      return;
    }
    const path = this.ownPath(location);
    if (path === undefined) {
      this.log.warn({ location }, "recordings: a record names a file outside RECORDINGS_DIR; not deleting it");
      return;
    }
    try {
      await unlink(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  }

  /** Waits (up to `timeoutMs`) for the recordings being closed to finish, then stops the sweep and the uploads. */
  async stop(timeoutMs = 5000): Promise<void> {
    clearInterval(this.timer);
    const all = Promise.all([...this.open]);
    const timedOut = await Promise.race([all.then(() => false), Bun.sleep(timeoutMs).then(() => true)]);
    if (timedOut) this.log.warn({ open: this.open.size }, "recordings: stopped before every file was closed; they are finished at the next start");
    await this.sweeping?.catch(() => undefined);
    this.uploader?.stop();
  }
}

export { errorText };
