// Handing a caller to a person: the contract between a call and the handoff desk that notifies people and asks
// Sautikit for one on the line (src/handoff), owned here by the call that uses it, and the call's side of a person
// on the line (Handover): the agent announces the person, goes quiet while they are on (no model audio to the
// caller, no caller audio to the model), and when they leave it resumes or the call ends, as the agent says.
import type { HandoffSpec } from "./agent.ts";
import type { CallSource, EndReason, Utterance } from "./data.ts";
import type { Logger } from "../log.ts";

/** Everything the desk needs about one handoff tool call. */
export interface HandoffRequest {
  callId: string;
  agent: string;
  caller: string;
  callee: string;
  source: CallSource;
  reason: string;
  summary: string;
  /** ms from the audio stream's start. */
  atMs: number;
  /** What was said so far (final utterances). */
  transcript: Utterance[];
  spec: HandoffSpec;
}

/** What the desk tells the call about a person on the line. */
export interface HandoffLine {
  /** Sautikit took the request: the agent tells the caller, then goes quiet. */
  joining(): void;
  /** The person is on the line: the agent is quiet from now on. */
  joined(): void;
  /** The person left, or never came (`failed`): the agent takes the call back, or it ends (handoff.live.after). */
  left(failed: boolean): void;
}

export interface HandoffDesk {
  /** Notifies (and with `spec.live`, asks for a person on the line); resolves with the tool's answer by `deadline`
   *  (performance.now()). Never rejects. */
  handOff(req: HandoffRequest, line: HandoffLine, deadline: number): Promise<Record<string, unknown>>;
}

/** After the person left: the model hears nothing of their conversation, only this. */
export const NUDGE_BACK =
  "The colleague has left the call and the caller is with you again. You did not hear their conversation. Ask the caller briefly whether there is anything else you can help with.";
export const NUDGE_NOBODY =
  "The colleague could not be brought onto the call. Tell the caller, apologise briefly, and say that their request has been passed on so someone can get back to them.";

/** The announcement turn is waited for this long before the agent goes quiet anyway. */
export const ANNOUNCE_WAIT_MS = 8000;

export interface HandoverDeps {
  log: Logger;
  after: () => "resume" | "end";
  /** Resolves once the caller heard everything queued. */
  whenDrained(): Promise<void>;
  /** Drops queued model audio and tells the media server to drop its own (a person starts talking). */
  cutAudio(): void;
  sendText(text: string): void;
  hangup(reason: EndReason, detail: string): void;
}

export type HandoverState = "none" | "announcing" | "quiet";

export class Handover implements HandoffLine {
  state: HandoverState = "none";
  /** The model leg failed while the person was on: it cannot take the call back. */
  legLost = false;
  /** Announcing: model audio came since joining (modelAudio), so the next turnComplete ends the announcement
   *  (the turn that carried the tool call may complete before the announcement is even spoken). */
  private spoke = false;
  private turnWaiters: Array<() => void> = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private done = false;

  constructor(private readonly d: HandoverDeps) {}

  /** No model audio to the caller and no caller audio to the model. */
  get quiet(): boolean {
    return this.state === "quiet";
  }

  /** Model audio came: true when it must not be played (a person has the call). While announcing, it is the
   *  announcement, which the next turnComplete then ends. */
  modelAudio(): boolean {
    if (this.state === "none") return false;
    if (this.state === "quiet") return true;
    this.spoke = true;
    return false;
  }

  /** A person is being or has been brought on: the call holds on through a model failure. */
  get active(): boolean {
    return this.state !== "none";
  }

  joining(): void {
    if (this.done || this.state !== "none") return;
    this.state = "announcing";
    this.spoke = false;
    this.d.log.info("handoff: a person is being brought onto the call; the agent announces it, then goes quiet");
    // The answer to the tool call makes the model speak the announcement; quiet once the caller heard it.
    const turn = new Promise<void>((resolve) => {
      this.timer = setTimeout(resolve, ANNOUNCE_WAIT_MS);
      this.turnWaiters.push(resolve);
    });
    void turn
      .then(() => this.d.whenDrained())
      .then(() => {
        if (this.state === "announcing") this.goQuiet();
      });
  }

  joined(): void {
    if (this.done || this.state === "quiet") return;
    this.d.log.info("handoff: the person is on the line; the agent is quiet");
    this.d.cutAudio();
    this.goQuiet();
  }

  left(failed: boolean): void {
    if (this.done || this.state === "none") return;
    this.state = "none";
    clearTimeout(this.timer);
    this.turnWaiters = [];
    if (this.legLost) {
      this.d.log.error("handoff: the person left, and the model session was lost meanwhile; ending the call");
      this.d.hangup("model_failed", "the model session was lost while a person was on the call");
      return;
    }
    if (failed) {
      this.d.log.warn("handoff: the person could not be brought onto the call; the agent takes it back");
      this.d.sendText(NUDGE_NOBODY);
      return;
    }
    if (this.d.after() === "end") {
      this.d.log.info("handoff: the person left the call; ending it (handoff.live.after: end)");
      this.d.hangup("handoff", "the person who took the call over left it");
      return;
    }
    this.d.log.info("handoff: the person left the call; the agent takes it back");
    this.d.sendText(NUDGE_BACK);
  }

  /** The model completed a turn. */
  turnCompleted(): void {
    if (this.state === "announcing" && !this.spoke) return;
    const w = this.turnWaiters;
    this.turnWaiters = [];
    for (const f of w) f();
  }

  /** The call is over. */
  stop(): void {
    this.done = true;
    clearTimeout(this.timer);
    this.turnWaiters = [];
  }

  private goQuiet(): void {
    clearTimeout(this.timer);
    this.turnWaiters = [];
    this.state = "quiet";
  }
}
