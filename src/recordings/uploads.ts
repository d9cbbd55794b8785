// Recordings to S3-compatible object storage (RECORDINGS_URL), through Bun's built-in client (docs/bun.md#s3).
// A recording is written locally as always; once its file is closed it is uploaded from there and the local file
// removed. A failed upload is retried with backoff, for as long as the file is there: nothing on the audio path or
// in the HTTP API waits for it, and a restart picks the file up again (recovery.ts lists what is left in the
// directory). Each upload is checked against the records afterwards: one whose call was deleted meanwhile (by
// the API or retention, perhaps on another instance) is deleted again rather than left behind.
import { S3Client } from "bun";
import { unlink } from "node:fs/promises";
import { join } from "node:path";
import type { S3Settings } from "../config.ts";
import type { Logger } from "../log.ts";
import { callIdOf, errorText, WAV } from "./names.ts";

const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 5 * 60_000;
/** Uploads at a time. */
const PARALLEL = 2;

export interface ObjectLocation {
  bucket: string;
  key: string;
}

/** s3://bucket/key → its parts; undefined for anything else. */
export function parseS3(location: string): ObjectLocation | undefined {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(location);
  return m === null ? undefined : { bucket: m[1]!, key: m[2]! };
}

export interface UploaderOptions {
  settings: S3Settings;
  /** Where the files wait (RECORDINGS_DIR). */
  dir: string;
  log: Logger;
  /** Whether a call still has a record: false = deleted; undefined = cannot tell now (kept). */
  known?: (callId: string) => Promise<boolean | undefined>;
  retryMinMs?: number;
}

interface Job {
  name: string;
  attempts: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

export class Uploader {
  readonly client: S3Client;
  readonly bucket: string;
  private readonly prefix: string;
  private readonly jobs = new Map<string, Job>();
  private readonly ready: string[] = [];
  private running = 0;
  private stopped = false;
  /** Names deleted while they may have been uploading: whatever an upload put there is deleted again. */
  private readonly deleted = new Set<string>();
  private idleWaiters: Array<() => void> = [];
  /** Uploads done, and attempts that failed. */
  uploaded = 0;
  failures = 0;

  constructor(private readonly o: UploaderOptions) {
    const s = o.settings;
    this.bucket = s.bucket;
    this.prefix = s.prefix;
    this.client = new S3Client({
      bucket: s.bucket,
      accessKeyId: s.accessKeyId,
      secretAccessKey: s.secretAccessKey,
      sessionToken: s.sessionToken,
      region: s.region,
      endpoint: s.endpoint,
    });
  }

  key(name: string): string {
    return `${this.prefix}${name}${WAV}`;
  }

  /** Where the record says recording `name` is. */
  location(name: string): string {
    return `s3://${this.bucket}/${this.key(name)}`;
  }

  /** The local file of an object this relay uploads (while it waits to be uploaded). */
  localPath(loc: ObjectLocation): string {
    return join(this.o.dir, loc.key.slice(loc.key.lastIndexOf("/") + 1));
  }

  /** Queues `<name>.wav` in the directory for upload (once; a name already queued keeps its place). */
  enqueue(name: string): void {
    if (this.stopped || this.jobs.has(name)) return;
    this.deleted.delete(name);
    this.jobs.set(name, { name, attempts: 0, timer: undefined });
    this.ready.push(name);
    this.pump();
  }

  get pending(): number {
    return this.jobs.size;
  }

  /** Resolves when nothing is queued (tests). */
  whenIdle(): Promise<void> {
    if (this.jobs.size === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  presign(loc: ObjectLocation, expiresInS: number): string {
    return this.client.presign(loc.key, { bucket: loc.bucket, expiresIn: expiresInS, method: "GET" });
  }

  /** Deletes the object (and its local file, if it has not gone up yet); an object already gone is fine. */
  async remove(loc: ObjectLocation): Promise<void> {
    const file = loc.key.slice(loc.key.lastIndexOf("/") + 1);
    if (file.endsWith(WAV)) this.deleted.add(file.slice(0, -WAV.length));
    await unlinkIfThere(join(this.o.dir, file));
    await this.client.delete(loc.key, { bucket: loc.bucket });
  }

  private pump(): void {
    while (!this.stopped && this.running < PARALLEL && this.ready.length > 0) {
      const job = this.jobs.get(this.ready.shift()!);
      if (job === undefined) continue;
      this.running++;
      void this.attempt(job).finally(() => {
        this.running--;
        this.pump();
        if (this.jobs.size === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
    }
  }

  private async attempt(job: Job): Promise<void> {
    const path = join(this.o.dir, job.name + WAV);
    const key = this.key(job.name);
    const file = Bun.file(path);
    try {
      if (!(await file.exists())) {
        this.jobs.delete(job.name); // deleted, or uploaded by another process on this host
        return;
      }
      await this.client.write(key, file, { type: "audio/wav" });
      const wanted = this.deleted.has(job.name) ? false : await this.o.known?.(callIdOf(job.name)).catch(() => undefined);
      if (wanted === false) {
        await this.client.delete(key);
        this.o.log.warn({ callId: callIdOf(job.name), key }, "recording: its call's record was deleted during the upload; deleted the upload too");
      }
      await unlinkIfThere(path);
      this.jobs.delete(job.name);
      this.deleted.delete(job.name);
      this.uploaded++;
      if (job.attempts > 0) this.o.log.info({ callId: callIdOf(job.name), key, attempts: job.attempts + 1 }, "recording uploaded after retries");
    } catch (err) {
      this.failures++;
      job.attempts++;
      const delay = Math.min((this.o.retryMinMs ?? RETRY_MIN_MS) * 2 ** (job.attempts - 1), RETRY_MAX_MS);
      if (job.attempts === 1 || job.attempts % 10 === 0) {
        this.o.log.error(
          { callId: callIdOf(job.name), key, err: errorText(err), attempts: job.attempts, retryInMs: delay },
          "recording upload failed; the file stays in RECORDINGS_DIR and is retried",
        );
      }
      if (this.stopped) return;
      job.timer = setTimeout(() => {
        job.timer = undefined;
        this.ready.push(job.name);
        this.pump();
      }, delay);
      job.timer.unref?.();
    }
  }

  /** Stops retrying; files not uploaded stay in the directory for the next start. */
  stop(): void {
    this.stopped = true;
    for (const j of this.jobs.values()) clearTimeout(j.timer);
    this.ready.length = 0;
  }
}

async function unlinkIfThere(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
}
