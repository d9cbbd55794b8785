// Model stall detection for one call (MODEL_STALL_S). Once the caller finishes an utterance the model owes an
// answer. If nothing at all comes from it for stallMs, the call resumes the leg on a fresh socket, once per wait;
// if the model stays silent after that, the call ends rather than leave the caller in silence.
// One timer per wait, not per event: model events only stamp a time, and the timer compares when it fires.
// Signs of caller speech are the call's speech probe and the caller's transcript (a dead model sends no transcript,
// so the probe is what notices one).

/** What the call does when the watch decides. */
export interface StallActions {
  /** False once the call is ending or ended: no wait starts, and a pending one is dropped. */
  live(): boolean;
  /** The first stall of a wait: resume the model leg (and nudge it); false if it could not be resumed. */
  resume(silentMs: number): boolean;
  /** Still silent after the resume, or no resume was possible: end the call. */
  fail(silentMs: number, resumed: boolean): void;
}

export class StallWatch {
  // When the caller's current utterance began (first sign since the model's last event), when it finished
  // (-1: not waiting for the model), the model's last event of any kind, and whether this wait resumed the leg.
  private callerSpokeAt = -1;
  private waitingSince = -1;
  private modelAt = 0;
  private resumed = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Waits that hit stallMs (each one resumed the leg or ended the call). */
  stalls = 0;

  /** `stallMs` 0 turns the watch off. */
  constructor(
    private readonly stallMs: number,
    private readonly act: StallActions,
  ) {}

  /** Any event from the model (audio, transcript, turn signal, tool call, usage). */
  heardModel(now = performance.now()): void {
    this.modelAt = now;
  }

  /** A sign of caller speech; the first since the model's last event starts an utterance. */
  callerSpeaking(): void {
    if (this.callerSpokeAt < 0 || this.callerSpokeAt < this.modelAt) this.callerSpokeAt = performance.now();
  }

  /** The caller's utterance ended: the model owes an answer, unless it has said anything since the caller began. */
  callerFinished(): void {
    if (this.callerSpokeAt < 0 || this.modelAt >= this.callerSpokeAt) return;
    if (this.stallMs <= 0 || !this.act.live()) return;
    this.waitingSince = performance.now();
    if (this.timer === undefined) this.arm(this.stallMs);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.check(), ms);
  }

  private check(): void {
    this.timer = undefined;
    if (!this.act.live() || this.waitingSince < 0) return;
    if (this.modelAt >= this.waitingSince) {
      // The model spoke up: this wait is over, and a later one may resume again.
      this.waitingSince = -1;
      this.resumed = false;
      return;
    }
    const silentMs = performance.now() - this.waitingSince;
    if (silentMs < this.stallMs) {
      this.arm(this.stallMs - silentMs);
      return;
    }
    this.stalls++;
    if (!this.resumed && this.act.resume(silentMs)) {
      this.resumed = true;
      this.waitingSince = performance.now();
      this.arm(this.stallMs);
      return;
    }
    this.act.fail(silentMs, this.resumed);
  }
}
