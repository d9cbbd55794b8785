// What an outbound call does differently at its start: the callee speaks first, and an answering machine may
// take the call.
//   Greeting: nothing goes into a ringing line or over the callee's "Hello?". The agent's greeting is sent once
//   the callee's first words have ended (an utterance of MIN_SPEECH_MS, then GREET_GAP_MS quiet, by the energy of
//   the call's one scan of each frame; or the model's transcript of it finished), or after `greetAfterMs` of
//   silence since the socket opened, whichever comes first. Time is audio time (the frames' length), which the
//   media server delivers every 20 ms, silence included; a wall-clock fallback covers a socket that stops sending.
//   Voicemail (leave_message): once the model says a machine answered, the message starts at the end of the beep
//   (audio/beep.ts), or after VOICEMAIL_QUIET_MS of silence (a machine without a beep), or VOICEMAIL_MAX_WAIT_MS at
//   the latest. The beep detector runs from the socket's opening (a beep heard before the model decided counts)
//   until the message starts, or for BEEP_WATCH_MS if the model never says "voicemail".
// The call asks `watching` after each frame: once nothing here needs frames, it stops calling (no per-frame work).
import { BeepDetector } from "../audio/beep.ts";
import type { FrameLevel } from "../audio/frame-level.ts";
import { MIN_SPEECH_MS, SPEECH_RMS, UTTERANCE_GAP_MS } from "../audio/speech-end.ts";
import type { VoicemailSettings } from "./agent.ts";

/** Quiet after the callee's first utterance that ends it. */
export const GREET_GAP_MS = UTTERANCE_GAP_MS;
/** No beep: this much silence after the machine's greeting starts the message. */
export const VOICEMAIL_QUIET_MS = 2000;
/** The message starts this long after the model said "voicemail", beep or not. */
export const VOICEMAIL_MAX_WAIT_MS = 30_000;
/** Without a voicemail tool call, the beep detector stops after this much of the call's audio. */
export const BEEP_WATCH_MS = 45_000;

export type MessageTrigger = "beep" | "silence" | "timeout";

export interface OutboundLineDeps {
  rate: number;
  /** The agent's greeting ("" = it never speaks first: no gate). */
  greeting: string;
  greetAfterMs: number;
  voicemail: VoicemailSettings | undefined;
  /** Sends the greeting to the model. */
  greet(text: string, why: "words_ended" | "transcript" | "silence"): void;
  /** The voicemail message is due now. */
  leaveMessage(trigger: MessageTrigger): void;
}

export class OutboundLine {
  private readonly meanSquare = SPEECH_RMS * SPEECH_RMS;
  private readonly msPerSample: number;
  private greeted: boolean;
  private audioMs = 0;
  private loudMs = 0;
  private quietMs = 0;
  private beep: BeepDetector | null;
  /** Audio ms when the model said "voicemail" (leave_message), -1 before. */
  private waitingSince = -1;
  private messageDue = false;

  constructor(private readonly d: OutboundLineDeps) {
    this.msPerSample = 1000 / d.rate;
    this.greeted = d.greeting === "";
    this.beep = d.voicemail?.action === "leave_message" ? new BeepDetector(d.rate) : null;
  }

  /** Something here still needs the caller's frames. */
  get watching(): boolean {
    return !this.greeted || this.beep !== null || this.waitingSince >= 0;
  }

  /** The greeting has gone (or there is none). */
  get hasGreeted(): boolean {
    return this.greeted;
  }

  /** The voicemail message has been set off. */
  get leavingMessage(): boolean {
    return this.messageDue;
  }

  /** One caller frame and the call's scan of it. */
  observe(pcm: Uint8Array, f: FrameLevel): void {
    const ms = f.samples * this.msPerSample;
    this.audioMs += ms;
    if (f.taken > 0 && f.sumSquares > this.meanSquare * f.taken) {
      if (this.quietMs >= GREET_GAP_MS) this.loudMs = 0;
      this.loudMs += ms;
      this.quietMs = 0;
    } else {
      this.quietMs += ms;
    }
    if (!this.greeted) {
      if (this.loudMs >= MIN_SPEECH_MS && this.quietMs >= GREET_GAP_MS) this.sendGreeting("words_ended");
      else if (this.quietMs >= this.d.greetAfterMs) this.sendGreeting("silence");
    }
    const beep = this.beep;
    if (beep !== null) {
      beep.observe(pcm, f);
      if (this.waitingSince < 0 && beep.audioMs >= BEEP_WATCH_MS) this.beep = null;
    }
    if (this.waitingSince >= 0) this.checkMessage();
  }

  /** The model's transcript of the callee's words finished. */
  callerFinished(): void {
    if (!this.greeted) this.sendGreeting("transcript");
  }

  /** Wall-clock fallback (frames stopped coming): greet unless the callee is in the middle of speaking. */
  timeout(): void {
    if (this.greeted) return;
    const speaking = this.loudMs > 0 && this.quietMs < GREET_GAP_MS;
    if (!speaking) this.sendGreeting("silence");
  }

  /** The model heard a machine and the agent leaves a message: wait for the beep, the silence, or the limit. */
  awaitBeep(): void {
    if (this.waitingSince >= 0 || this.messageDue) return;
    this.greeted = true; // a greeting still held back would only talk over the machine
    this.waitingSince = this.audioMs;
    // Past BEEP_WATCH_MS the detector was dropped; a late "voicemail" starts a fresh one.
    this.beep ??= new BeepDetector(this.d.rate);
    this.checkMessage();
  }

  /** Wall-clock fallback for the message (frames stopped coming). */
  messageTimeout(): void {
    if (this.waitingSince >= 0) this.startMessage("timeout");
  }

  stop(): void {
    this.greeted = true;
    this.beep = null;
    this.waitingSince = -1;
  }

  private sendGreeting(why: "words_ended" | "transcript" | "silence"): void {
    this.greeted = true;
    this.d.greet(this.d.greeting, why);
  }

  private checkMessage(): void {
    const beep = this.beep;
    if (beep !== null && beep.lastEndMs >= 0 && !beep.sounding) return this.startMessage("beep");
    if (beep?.sounding) return;
    if (this.quietMs >= VOICEMAIL_QUIET_MS) return this.startMessage("silence");
    if (this.audioMs - this.waitingSince >= VOICEMAIL_MAX_WAIT_MS) this.startMessage("timeout");
  }

  private startMessage(trigger: MessageTrigger): void {
    if (this.messageDue) return;
    this.messageDue = true;
    this.waitingSince = -1;
    this.beep = null;
    this.d.leaveMessage(trigger);
  }
}
