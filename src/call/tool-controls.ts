// What a running tool may do to its call (CallControl): end it, hand the caller to a person, deal with an answering
// machine, put the number on the do-not-call list. Each is a request: a call that is already ending ignores it.
import type { Logger } from "../log.ts";
import { INBOUND, type EndReason } from "./data.ts";
import type { CallControl, CallInfo, VoicemailAnswer } from "./agent.ts";
import { HARD_STOP_MS } from "./ending.ts";
import type { CallOptOutEvent } from "./events.ts";
import type { Handover, HandoffDesk } from "./handoff.ts";
import type { OutboundCall } from "./outbound-call.ts";
import { toolError } from "./tool-runner.ts";
import type { TranscriptAggregator } from "./transcript.ts";

export interface ToolControlsDeps {
  info: CallInfo;
  log: Logger;
  /** Neither ending nor ended. */
  live(): boolean;
  /** ms since the call started. */
  now(): number;
  /** See Call.endPolitely. */
  endPolitely(reason: EndReason, detail: string, nudge: undefined, hardStopMs: number, turns: number): void;
  emit(e: CallOptOutEvent): void;
  transcript: Pick<TranscriptAggregator, "saidSoFar">;
  handover: Handover;
  /** Where the handoff tool's work is done; absent: the tool answers that it is not available. */
  desk: HandoffDesk | undefined;
  /** Outbound calls only. */
  outbound: OutboundCall | null;
}

export class ToolControls implements CallControl {
  private optedOut = false;

  constructor(private readonly d: ToolControlsDeps) {}

  /**
   * end_call. The function call is part of a model turn (the goodbye is usually spoken in it, or right after the
   * answer), so that turn's turnComplete is awaited; then the caller hears everything queued, then hang-up.
   */
  endCall(reason: "agent_end_call", detail?: string): void {
    this.d.endPolitely(reason, detail ?? "", undefined, HARD_STOP_MS, 1);
  }

  /** The handoff tool: the desk notifies a person (and with `handoff.live` asks for one on the line, driving the
   *  call's Handover); resolves with the tool's answer. */
  handOff(reason: string, summary: string, deadline: number): Promise<Record<string, unknown>> {
    const { info: i, desk, handover } = this.d;
    const spec = i.agent.handoff;
    if (spec === undefined || desk === undefined) return Promise.resolve(toolError("handoff is not set up for this agent"));
    if (handover.active) return Promise.resolve(toolError("a person is already being brought onto this call"));
    const req = { callId: i.callId, agent: i.agent.name, caller: i.caller, callee: i.callee, source: i.source, reason, summary, spec };
    return desk.handOff({ ...req, atMs: this.d.now(), transcript: this.d.transcript.saidSoFar() }, handover, deadline);
  }

  /** The voicemail tool: an answering machine took the call (outbound-call.ts). */
  voicemail(): VoicemailAnswer {
    if (this.d.outbound === null) return { ok: false, reason: "This call was not placed by the relay: there is no voicemail here. Carry on with the conversation." };
    return this.d.outbound.voicemail();
  }

  /** The opt_out tool: the number goes on the do-not-call list (an observer of the optOut event does that), the
   *  agent says a short goodbye, the call ends. */
  optOut(): void {
    const d = this.d;
    if (this.optedOut || !d.live()) return;
    this.optedOut = true;
    const i = d.info;
    const number = (i.purpose ?? INBOUND).direction === "outbound" ? i.callee : i.caller;
    d.log.info("opt_out: the callee asked not to be called again");
    d.emit({ type: "optOut", callId: i.callId, at: Date.now(), number });
    d.endPolitely("opted_out", "the callee asked not to be called again", undefined, HARD_STOP_MS, 1);
  }
}
