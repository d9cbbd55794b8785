// A caller frame's way through a call: one scan of the frame (audio/frame-level.ts) that three cheap detectors
// read (the console's peak meter, the speech-end detector behind the response-time metric, the speech probe the
// stall watch needs), the recording when the call has one, then the uplink: the call's rate to the model leg's,
// batched when UPLINK_BATCH_MS says so. An outbound call's line (outbound-line.ts) gets the same scan until it
// needs frames no more; every other call pays one null check for it, as for the recording.
import { measureFrame } from "../audio/frame-level.ts";
import { PeakMeter } from "../audio/level.ts";
import { SpeechEndDetector } from "../audio/speech-end.ts";
import { PROBE_NONE, PROBE_START, SpeechProbe } from "../audio/speech-probe.ts";
import { Uplink } from "../audio/uplink.ts";
import { UplinkBatcher } from "../audio/uplink-batch.ts";
import type { ModelLeg } from "./model-leg.ts";
import type { OutboundLine } from "./outbound-line.ts";
import type { RecordingTap } from "./recording-tap.ts";
import type { StallWatch } from "./stall-watch.ts";

export interface CallerPathDeps {
  callRate: number;
  uplinkBatchMs: number;
  leg: Pick<ModelLeg, "inputRate" | "sendAudio">;
  /** Told when the caller starts and stops speaking; null when MODEL_STALL_S is 0 (no probe at all then). */
  stall: StallWatch | null;
  recording: RecordingTap | null;
  /** While a person has the call (handoff.ts), the caller is heard by them and recorded, not sent to the model. */
  muted: { readonly quiet: boolean };
}

export class CallerPath {
  /** The caller's level for the console, sampled by readers a few times a second. */
  readonly level = new PeakMeter();
  /** Frames that arrived, the call's end included. */
  frames = 0;
  /** The outbound line while it needs frames (set by the call), then null. */
  watch: OutboundLine | null = null;
  private stopped = false;
  // The deps as fields of their own: read on every frame, one load each rather than two.
  private readonly recording: RecordingTap | null;
  private readonly stall: StallWatch | null;
  private readonly muted: { readonly quiet: boolean };
  private readonly leg: Pick<ModelLeg, "sendAudio">;
  private readonly speech: SpeechEndDetector;
  private readonly probe: SpeechProbe | null;
  private readonly uplink: Uplink;
  private readonly batcher: UplinkBatcher | null;

  constructor(d: CallerPathDeps) {
    this.recording = d.recording;
    this.stall = d.stall;
    this.muted = d.muted;
    this.leg = d.leg;
    this.speech = new SpeechEndDetector(d.callRate);
    this.probe = d.stall !== null ? new SpeechProbe(d.callRate) : null;
    this.uplink = new Uplink(d.callRate, d.leg.inputRate);
    const batchBytes = (d.leg.inputRate / 1000) * d.uplinkBatchMs * 2;
    this.batcher = batchBytes > 0 ? new UplinkBatcher(batchBytes, (chunk) => d.leg.sendAudio(chunk)) : null;
  }

  frame(pcm: Uint8Array): void {
    this.frames++;
    const level = measureFrame(pcm);
    this.level.note(level.peak);
    if (this.stopped) return;
    const rec = this.recording;
    if (rec !== null) rec.caller(pcm);
    this.speech.observe(level);
    const probe = this.probe;
    if (probe !== null) {
      const r = probe.observe(level);
      if (r === PROBE_START) this.stall!.callerSpeaking();
      else if (r !== PROBE_NONE) this.stall!.callerFinished();
    }
    if (this.muted.quiet) return;
    const toLeg = this.uplink.process(pcm);
    if (this.batcher === null) this.leg.sendAudio(toLeg);
    else this.batcher.push(toLeg);
    // After the frame went on: what it sets off (the greeting, the voicemail message) follows the audio it answers.
    const w = this.watch;
    if (w !== null) {
      w.observe(pcm, level);
      if (!w.watching) this.watch = null;
    }
  }

  /** performance.now() at the end of the caller's latest utterance, consumed (-1: none since the last answer). */
  takeSpeechEnd(): number {
    return this.speech.takeSpeechEnd();
  }

  /** The call ended: frames are counted and metered, nothing more. */
  stop(): void {
    this.stopped = true;
    this.watch = null;
  }
}
