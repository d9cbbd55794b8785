// Helpers for the recording tests: a media server that plays what it is sent the way the far-buffer model says a
// real one does (each frame after the one before, at real-time pace, and killAudio drops what has not played), a
// recorded Call on a fake clock, and reading a recording back.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Pacer } from "../../src/audio/pacer.ts";
import type { Agent } from "../../src/call/agent.ts";
import { Call, type CallSettings } from "../../src/call/call.ts";
import type { RecordingInfo } from "../../src/call/data.ts";
import { CallEventHub, type CallEvent } from "../../src/call/events.ts";
import type { RecordingsSettings } from "../../src/config.ts";
import { Recordings, type RecordingsOptions } from "../../src/recordings/index.ts";
import { HEADER_BYTES, readWavHeader, type WavInfo } from "../../src/recordings/wav.ts";
import { SocketDouble } from "../support/call-socket.ts";
import { FakeClock } from "../support/fake-clock.ts";
import { captureLog } from "../support/log.ts";
import { ScriptedLeg } from "../support/model-leg.ts";

export const MARK = 20000;

interface Played {
  start: number;
  pcm: Int16Array;
  /** Clock time from which the rest of this frame was dropped (killAudio). */
  cutAt: number;
}

/** The media server as the far-buffer estimate models it, on the test's clock. */
export class MediaServer extends SocketDouble {
  readonly played: Played[] = [];
  private playEnd = 0;
  /** Every marker sent: when it plays, and the frame it is in (whose cut may drop it). */
  private readonly markers: Array<{ t: number; frame: Played }> = [];
  private prev = 0;

  constructor(
    private readonly clock: FakeClock,
    private readonly rate: number,
    /** false: a media server that ignores killAudio (SEND_KILL_AUDIO=false). */
    private readonly honoursKill = true,
  ) {
    super();
  }

  override sendAudio(frame: Uint8Array): number {
    const now = this.clock.now();
    const start = Math.max(now, this.playEnd);
    const pcm = new Int16Array(new Uint8Array(frame).buffer);
    this.playEnd = start + (pcm.length / this.rate) * 1000;
    const played = { start, pcm, cutAt: Infinity };
    this.played.push(played);
    for (let i = 0; i < pcm.length; i++) {
      const v = Math.abs(pcm[i]!);
      if (v >= MARK / 2 && this.prev < MARK / 2) this.markers.push({ t: start + (i / this.rate) * 1000, frame: played });
      this.prev = v;
    }
    return super.sendAudio(frame);
  }

  override clearAudio(): boolean {
    super.clearAudio();
    if (!this.honoursKill) return false;
    const now = this.clock.now();
    for (const p of this.played) if (p.cutAt === Infinity && p.start + (p.pcm.length / this.rate) * 1000 > now) p.cutAt = Math.max(now, p.start);
    this.playEnd = Math.min(this.playEnd, now);
    return true;
  }

  /** Clock times at which each marker (a rise to ≥ MARK/2) was heard, in order; dropped ones are not. */
  heardMarkers(): number[] {
    return this.markers.filter((m) => m.t < m.frame.cutAt).map((m) => m.t);
  }
}

/** `ms` of silence with a 2 ms burst at each of `marks` (ms from the start), S16LE mono. */
export function marked(ms: number, marks: number[], rate: number): Buffer {
  const b = Buffer.alloc(Math.round((rate * ms) / 1000) * 2);
  for (const m of marks) {
    const at = Math.round((rate * m) / 1000);
    for (let i = 0; i < (rate * 2) / 1000; i++) b.writeInt16LE(MARK, (at + i) * 2);
  }
  return b;
}

/** Where each marker starts in a lane, in samples. */
export function onsets(lane: Int16Array): number[] {
  const out: number[] = [];
  let prev = 0;
  for (let i = 0; i < lane.length; i++) {
    const v = Math.abs(lane[i]!);
    if (v >= MARK / 2 && prev < MARK / 2) out.push(i);
    prev = v;
  }
  return out;
}

export interface WavFileRead extends WavInfo {
  size: number;
  left: Int16Array;
  right: Int16Array;
}

export function readRecording(path: string): WavFileRead {
  const bytes = readFileSync(path);
  const info = readWavHeader(bytes);
  if (info === undefined) throw new Error(`${path}: not a WAV this relay wrote`);
  const frames = info.dataBytes / 4;
  const pcm = new Int16Array(bytes.buffer.slice(bytes.byteOffset + HEADER_BYTES, bytes.byteOffset + HEADER_BYTES + info.dataBytes));
  const left = new Int16Array(frames);
  const right = new Int16Array(frames);
  for (let i = 0; i < frames; i++) {
    left[i] = pcm[2 * i]!;
    right[i] = pcm[2 * i + 1]!;
  }
  return { ...info, size: bytes.length, left, right };
}

export const SETTINGS: CallSettings = {
  callSampleRate: 16000,
  playbackRate: 16000,
  playoutLeadMs: 160,
  playoutFrameMs: 60,
  uplinkBatchMs: 0,
  turnTailMs: 200,
  maxQueuedAudioS: 60,
  modelStallS: 0,
};

export const AGENT: Agent = {
  name: "rec",
  model: "gemini-3.8-live",
  voice: "Kore",
  prompt: "Test.",
  greeting: "",
  tools: [],
  maxCallSeconds: 0,
  idleSeconds: 0,
  record: true,
  recordingNotice: "",
};

export function recordingsIn(dir: string, extra: Partial<RecordingsSettings> = {}, opts: Partial<RecordingsOptions> = {}) {
  const { log, lines } = captureLog("debug");
  const settings: RecordingsSettings = { recordByDefault: false, notice: "", dir, s3: undefined, ...extra };
  return { recordings: new Recordings({ settings, callRate: 16000, log, ...opts }), log, lines };
}

export function scratchDir(label: string): string {
  return mkdtempSync(join(tmpdir(), `sauti-rec-${label}-`));
}

/** A Call on a fake clock whose socket is a MediaServer, recorded into `recordings` when the agent records. */
export function recordedCall(o: {
  recordings: Recordings | undefined;
  agent?: Partial<Agent>;
  settings?: Partial<CallSettings>;
  honoursKill?: boolean;
  callId?: string;
}) {
  const clock = new FakeClock();
  const pacer = new Pacer({ clock });
  const settings = { ...SETTINGS, ...o.settings };
  const leg = new ScriptedLeg({ outputRate: settings.playbackRate });
  const media = new MediaServer(clock, settings.playbackRate, o.honoursKill ?? true);
  const { log, lines } = captureLog("debug");
  const hub = new CallEventHub(log);
  const events: CallEvent[] = [];
  hub.subscribe((e) => void events.push(e));
  const call = new Call({
    settings,
    info: { callId: o.callId ?? "rec-1", caller: "+254700000001", callee: "+254700000002", agent: { ...AGENT, ...o.agent }, source: "phone" },
    socket: media,
    leg,
    pacer,
    events: hub,
    log,
    onEnd: () => undefined,
    recordings: o.recordings?.factory,
  });
  const reports = (): RecordingInfo[] => {
    hub.flush();
    return events.flatMap((e) => (e.type === "recording" ? [e.recording] : []));
  };
  return { call, clock, pacer, leg, media, lines, reports, events: () => (hub.flush(), events), settings };
}
