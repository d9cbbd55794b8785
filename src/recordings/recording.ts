// One call's recording: the tape (tape.ts) places the audio, the file (wav-file.ts) takes it in batches. Feeding
// the tape is the only work on the call's path; opening, writing, closing and renaming happen in the background,
// and a failure of any of them stops this recording (logged once, reported), never the call.
import type { RecordingInfo } from "../call/data.ts";
import type { RecordingRequest, RecordingTap } from "../call/recording-tap.ts";
import { errorText } from "./names.ts";
import { Tape } from "./tape.ts";
import { HEADER_BYTES } from "./wav.ts";
import { WavFile } from "./wav-file.ts";

/** Audio a disk may fall behind by before the recording gives up on it, seconds. */
export const MAX_BEHIND_S = 10;

export interface CallRecordingOptions {
  req: RecordingRequest;
  dir: string;
  /** This process's tag in the names of files being written (names.ts). */
  tag: string;
  /** What the record says for the finished file `name`: its path, or its s3:// URL. */
  locate(name: string): string;
  holdMs?: number;
  batchMs?: number;
  /** See MAX_BEHIND_S (the default). */
  maxBehindS?: number;
  /** The file is closed: `name` is set when it exists (complete, or what was written before a failure). */
  closed(name: string | undefined, info: RecordingInfo): void;
}

export class CallRecording implements RecordingTap {
  private readonly tape: Tape;
  private readonly file: WavFile;
  private readonly clock: { now(): number };
  private readonly rate: number;
  /** Set once the file could not be opened or written: the tape is no longer fed. */
  private off = false;
  private finishing = false;

  constructor(private readonly o: CallRecordingOptions) {
    const r = o.req;
    this.clock = r.clock;
    this.rate = r.callRate;
    this.file = new WavFile({
      dir: o.dir,
      callId: r.callId,
      tag: o.tag,
      rate: r.callRate,
      maxQueuedBytes: r.callRate * 4 * (o.maxBehindS ?? MAX_BEHIND_S),
      failed: (err) => this.failed(err),
    });
    this.tape = new Tape({
      rate: r.callRate,
      agentRate: r.playbackRate,
      start: r.clock.now(),
      aheadMs: r.aheadMs,
      holdMs: o.holdMs,
      batchMs: o.batchMs,
      out: this.file,
    });
    void this.file.ready.then((ok) => {
      if (ok && !this.off && !this.finishing) r.report(this.info("recording", null));
    });
  }

  caller(pcm: Uint8Array): void {
    if (this.off) return;
    this.tape.caller(pcm, this.clock.now());
  }

  agent(frame: Uint8Array, farMs: number): void {
    if (this.off) return;
    this.tape.agent(frame, farMs, this.clock.now());
  }

  cut(): void {
    if (this.off) return;
    this.tape.cut(this.clock.now());
  }

  finish(): void {
    if (this.finishing) return;
    this.finishing = true;
    if (!this.off) this.tape.end(this.clock.now());
    void this.close();
  }

  private async close(): Promise<void> {
    const exists = await this.file.close();
    const error = this.file.error;
    const info = this.info(error === undefined ? "ready" : "failed", error, exists ? this.file.name : undefined);
    if (!exists && this.file.name !== undefined && this.file.written > 0) {
      // The audio is in the part file; the sweep for abandoned ones (recovery.ts) finishes it later.
      this.o.req.log.error({ err: errorText(error) }, "recording: could not rename the finished file; it is recovered later");
    }
    this.o.closed(exists ? this.file.name : undefined, info);
    this.o.req.report(info);
  }

  private failed(err: unknown): void {
    this.off = true;
    this.o.req.log.error(
      { err: errorText(err), dir: this.o.dir },
      "recording stopped: the recordings directory cannot be written (full, read-only or too slow); the call goes on without it",
    );
    // While the call runs the record says so at once; the closing report follows at the call's end.
    if (!this.finishing) this.o.req.report(this.info("failed", err));
  }

  private info(status: RecordingInfo["status"], error: unknown, name: string | undefined = this.file.name): RecordingInfo {
    const data = this.file.written;
    const exists = name !== undefined && !(status === "failed" && data === 0);
    return {
      status,
      durationMs: Math.round((data / 4 / this.rate) * 1000),
      bytes: exists ? HEADER_BYTES + data : 0,
      location: exists ? this.o.locate(name) : null,
      error: error === undefined || error === null ? null : errorText(error),
    };
  }
}
