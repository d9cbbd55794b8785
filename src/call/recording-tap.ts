// The contract between a call and its recording (src/recordings implements it), owned here by the side that uses
// it. A call that does not record has no tap at all: it pays one null check per frame. A recorded call hands the
// tap each caller frame as it arrives and each frame the caller is sent, with the playout's far-buffer estimate at
// that moment (so the tap can place it where it plays, not where it was sent), and tells it about barge-ins.
import type { PlayoutSink } from "../audio/playout.ts";
import type { Logger } from "../log.ts";
import type { RecordingInfo } from "./data.ts";

export interface RecordingTap {
  /** A caller frame (S16LE mono at the call's rate), as received. Copied before returning. */
  caller(pcm: Uint8Array): void;
  /** A frame handed to the caller's socket (S16LE mono at the playback rate), `farMs` of audio ahead of it in the
   *  media server's buffer. Copied before returning. */
  agent(frame: Uint8Array, farMs: number): void;
  /** Barge-in, and the media server was told to drop what it buffered: what had not played is not in the recording. */
  cut(): void;
  /** The call is over: the rest is written and the file closed, off the call's path; the outcome is reported. */
  finish(): void;
}

export interface RecordingRequest {
  callId: string;
  /** The caller's audio rate: the recording's. */
  callRate: number;
  /** The rate of the frames sent to the caller. */
  playbackRate: number;
  /** The most the playout keeps ahead of real time, ms (lead plus a frame). */
  aheadMs: number;
  /** The pacer's clock, the one the far-buffer estimate runs on. */
  clock: { now(): number };
  log: Logger;
  /** Told of each change of state (opened, failed, closed), possibly after the call ended. */
  report(info: RecordingInfo): void;
}

/** Opens the recording of one call. Never throws and never waits: the file is opened in the background. */
export type RecordingFactory = (r: RecordingRequest) => RecordingTap;

/** The caller's socket as the playout sees it, with every frame it takes also handed to the recording. */
export class RecordedSink implements PlayoutSink {
  constructor(
    private readonly socket: PlayoutSink,
    private readonly tap: RecordingTap,
    /** The playout: its farBufferMs, read before the frame is added to it. */
    private readonly far: { readonly farBufferMs: number },
  ) {}

  sendAudio(frame: Uint8Array): number {
    const r = this.socket.sendAudio(frame);
    // 0: dropped by the socket, never heard (the playout does not count it either).
    if (r !== 0) this.tap.agent(frame, this.far.farBufferMs);
    return r;
  }

  cork(fn: () => void): void {
    this.socket.cork(fn);
  }
}
