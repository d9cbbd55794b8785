// What a call the relay placed does on top of any call: its greeting waits for the callee (outbound-line.ts says
// when), and an answering machine is hung up on or gets the agent's message (the voicemail tool). The call hands
// the line its frames while `watching` says it needs them, and asks `holdingAudio` for each model chunk.
import type { Logger } from "../log.ts";
import type { Agent, VoicemailAnswer } from "./agent.ts";
import type { EndReason } from "./data.ts";
import type { CallVoicemailEvent } from "./events.ts";
import { OutboundLine, VOICEMAIL_MAX_WAIT_MS, type MessageTrigger } from "./outbound-line.ts";

/** The voicemail message: said once, word for word, then the call ends. */
export const voicemailNudge = (message: string): string =>
  `An answering machine is recording now. Leave this voicemail message, exactly as written, then stop talking: "${message}"`;
/** A voicemail message may run this long before the call is cut whatever happens. */
export const VOICEMAIL_HARD_STOP_MS = 60_000;
/** Greeting and voicemail: how much later than their audio-time deadline the wall clock steps in (a socket that
 *  stops sending frames stops audio time). */
const FALLBACK_SLACK_MS = 1000;

export interface OutboundCallDeps {
  agent: Agent;
  rate: number;
  log: Logger;
  /** ms since the call started. */
  now(): number;
  /** Neither ending nor ended. */
  live(): boolean;
  sendText(text: string): void;
  /** Stops what the agent is saying, here and at the media server. */
  silence(): void;
  /** The call's voicemail event (it adds its id). */
  emit(e: Omit<CallVoicemailEvent, "type" | "callId">): void;
  hangup(reason: EndReason, detail: string): void;
  endPolitely(reason: EndReason, detail: string, nudge: string, hardStopMs: number): void;
  /** The line needs the caller's frames (again): the call hands them to it until `watching` is false. */
  watch(line: OutboundLine | null): void;
}

export class OutboundCall {
  readonly line: OutboundLine;
  /** Voicemail: the model's audio goes nowhere while the relay waits for the beep. */
  holdingAudio = false;
  private asked = false;
  /** The callee's current utterance has transcript text. */
  private words = false;
  private readonly timers: Array<ReturnType<typeof setTimeout>> = [];

  constructor(private readonly d: OutboundCallDeps) {
    const a = d.agent;
    const greetAfterMs = a.outbound?.greetAfterMs ?? 1500;
    this.line = new OutboundLine({
      rate: d.rate,
      greeting: a.greeting,
      greetAfterMs,
      voicemail: a.voicemail,
      greet: (text, why) => {
        d.log.info({ why, afterMs: Math.round(d.now()) }, "outbound: greeting the callee");
        d.sendText(text);
      },
      leaveMessage: (trigger) => this.leaveMessage(trigger),
    });
    if (a.greeting !== "") this.timers.push(setTimeout(() => this.line.timeout(), greetAfterMs + FALLBACK_SLACK_MS));
    d.watch(this.line.watching ? this.line : null);
  }

  /** The model's transcript of the callee: once an utterance with words in it is finished, the greeting may go. */
  callerTranscript(text: string, finished: boolean): void {
    // An empty `finished` (a late one after the model already answered) is not words.
    if (text !== "") this.words = true;
    if (!finished) return;
    if (this.words) this.line.callerFinished();
    this.words = false;
  }

  /**
   * The voicemail tool: the model heard an answering machine. Whatever the agent was saying stops; then the
   * agent's `voicemail.action`: hang up now, or hold the model's audio, wait for the beep and say the message.
   */
  voicemail(): VoicemailAnswer {
    const d = this.d;
    if (!d.live()) return { ok: false, reason: "The call is already ending." };
    const vm = d.agent.voicemail;
    const action = vm?.action === "leave_message" && vm.message !== "" ? "leave_message" : "hangup";
    if (this.asked) return { ok: true, action };
    this.asked = true;
    d.silence();
    if (action === "hangup") {
      this.line.stop();
      d.watch(null);
      d.emit({ atMs: d.now(), left: false, trigger: null, message: "" });
      d.hangup("voicemail", "an answering machine answered: hung up without a message");
      return { ok: true, action };
    }
    this.holdingAudio = true;
    this.line.awaitBeep();
    d.watch(this.line.watching ? this.line : null);
    this.timers.push(setTimeout(() => this.line.messageTimeout(), VOICEMAIL_MAX_WAIT_MS + FALLBACK_SLACK_MS));
    return { ok: true, action };
  }

  stop(): void {
    for (const t of this.timers) clearTimeout(t);
    this.line.stop();
  }

  /** The beep ended (or the machine went quiet, or waiting was long enough): the agent says the message, then hang-up. */
  private leaveMessage(trigger: MessageTrigger): void {
    const d = this.d;
    if (!d.live()) return;
    const message = d.agent.voicemail?.message ?? "";
    this.holdingAudio = false;
    d.log.info({ trigger, afterMs: Math.round(d.now()) }, "voicemail: leaving the message");
    d.emit({ atMs: d.now(), left: true, trigger, message });
    const after = trigger === "beep" ? "beep" : trigger === "silence" ? "machine's greeting ended" : "longest wait";
    d.endPolitely("voicemail", `left the voicemail message (after the ${after})`, voicemailNudge(message), VOICEMAIL_HARD_STOP_MS);
  }
}
