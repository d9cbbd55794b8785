// Model stall detection for one call (MODEL_STALL_S). Once the caller finishes an utterance the model owes an
// answer. If nothing at all comes from it for stallMs, the call resumes the leg on a fresh socket, once per wait;
// if the model stays silent after that, the call ends rather than leave the caller in silence.
// One timer per wait, not per event: model events only stamp a time, and the timer compares when it fires.
// Signs of caller speech are the call's speech probe and the caller's transcript (a dead model sends no transcript,
// so the probe is what notices one).
// A model can also answer with nothing: turns it ends as refused or broken, with no audio (Gemini's
// RESPONSE_REJECTED, MALFORMED_FUNCTION_CALL; seen 27 in a row on one call). Such a turn is a model event, so the
// silence above never starts; instead EMPTY_TURNS_STALL of them in a row count as a stall, through the same
// resume-then-end path.
import type { LogLimit } from "../log-limit.ts";
import type { Logger } from "../log.ts";
import type { ModelLeg } from "./model-leg.ts";

/** Empty turns in a row that count as a stall. */
export const EMPTY_TURNS_STALL = 2;

/** Why the watch acts: the model said nothing at all, or kept ending its turns with nothing. */
export type StallCause = "silence" | "empty_turns";

/** What the call does when the watch decides. */
export interface StallActions {
  /** False once the call is ending or ended: no wait starts, and a pending one is dropped. */
  live(): boolean;
  /** The first stall of a wait: resume the model leg (and nudge it); false if it could not be resumed. */
  resume(silentMs: number, cause: StallCause): boolean;
  /** Still silent after the resume, or no resume was possible: end the call. */
  fail(silentMs: number, resumed: boolean, cause: StallCause): void;
}

export class StallWatch {
  // When the caller's current utterance began (first sign since the model's last event), when it finished
  // (-1: not waiting for the model), the model's last event of any kind, and whether this wait resumed the leg.
  private callerSpokeAt = -1;
  private waitingSince = -1;
  private modelAt = 0;
  private resumed = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  // Empty turns since the model's last turn with audio, when the first of them came, and whether that run resumed.
  private emptyRun = 0;
  private emptySince = 0;
  private emptyResumed = false;
  /** Waits that hit stallMs, and runs of empty turns (each one resumed the leg or ended the call). */
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

  /** The model ended a turn as refused or broken, with no audio. */
  emptyTurn(now = performance.now()): void {
    if (this.emptyRun++ === 0) this.emptySince = now;
    if (this.emptyRun < EMPTY_TURNS_STALL || this.stallMs <= 0 || !this.act.live()) return;
    const silentMs = now - this.emptySince;
    this.emptyRun = 0;
    this.stalls++;
    if (!this.emptyResumed && this.act.resume(silentMs, "empty_turns")) {
      this.emptyResumed = true;
      return;
    }
    this.act.fail(silentMs, this.emptyResumed, "empty_turns");
  }

  /** A model turn with audio: any run of empty turns is over. */
  answered(): void {
    this.emptyRun = 0;
    this.emptyResumed = false;
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
    if (!this.resumed && this.act.resume(silentMs, "silence")) {
      this.resumed = true;
      this.waitingSince = performance.now();
      this.arm(this.stallMs);
      return;
    }
    this.act.fail(silentMs, this.resumed, "silence");
  }
}

/** After a stall resume: the fresh socket may not have heard the caller's last words (nothing is replayed). */
export const NUDGE_STALL =
  "The caller finished speaking a moment ago and is waiting for your answer. Answer them, or if you did not catch what they said, briefly ask them to repeat it.";

export interface StallPolicyDeps {
  live(): boolean;
  leg: Pick<ModelLeg, "resume" | "sendText">;
  log: Logger;
  limit: LogLimit;
  /** Turns the model ended with nothing to say, so far. */
  rejectedTurns(): number;
  hangup(reason: "model_failed", detail: string): void;
}

/** What a call does about a stalled model: resume the leg once, with a nudge; still nothing, end the call. */
export function stallPolicy(d: StallPolicyDeps): StallActions {
  return {
    live: d.live,
    resume: (silentMs, cause) => {
      const why = cause === "silence" ? "model silent after the caller finished" : "model ended turns in a row with nothing to say";
      if (!d.leg.resume(why)) return false;
      d.limit.warn("model_stall", { silentMs: Math.round(silentMs), cause }, `${why}: resuming it on a fresh socket`);
      d.leg.sendText(NUDGE_STALL);
      return true;
    },
    fail: (silentMs, resumed, cause) => {
      const secs = Math.round(silentMs / 1000);
      d.log.error({ silentMs: Math.round(silentMs), resumed, cause }, cause === "silence" ? "model stays silent: ending the call" : "model keeps ending its turns with nothing: ending the call");
      d.hangup("model_failed", cause === "silence" ? `model silent for ${secs} s after the caller finished` : `model ended ${d.rejectedTurns()} turns with nothing to say`);
    },
  };
}
