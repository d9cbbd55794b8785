// One phone (or browser) call: the switchboard where the legs meet.
//   caller frame → CallHandler.onAudio → Uplink (call rate → leg.inputRate) → ModelLeg.sendAudio → model
//   model audio → ModelLegEvents.audio → Playout (resample, queue) → Pacer tick → CallSocket.sendAudio → caller
// Everything else happens at turn and call boundaries, in modules of their own: tools (tool-runner.ts), transcripts
// (transcript.ts), how the call ends (ending.ts), the idle watch (idle-watch.ts), the stall watch
// (stall-watch.ts), the end summary (summary.ts) and the events observers get (events.ts). Per frame this file
// does the two lines above, a counter, and one scan of each caller frame that three cheap detectors read: a peak
// meter (console), the speech-end detector (response-time metric) and the speech probe (model stall). An outbound
// call also hands that scan to its OutboundLine (when to greet, the voicemail beep) until it needs frames no more
// (outbound-line.ts); an inbound call pays one null check for it.
import { measureFrame } from "../audio/frame-level.ts";
import { PeakMeter } from "../audio/level.ts";
import type { Pacer } from "../audio/pacer.ts";
import { LEAD_SLACK_MS, Playout, type PlayoutStats } from "../audio/playout.ts";
import { SpeechEndDetector } from "../audio/speech-end.ts";
import { PROBE_NONE, PROBE_START, SpeechProbe } from "../audio/speech-probe.ts";
import { Uplink } from "../audio/uplink.ts";
import { UplinkBatcher } from "../audio/uplink-batch.ts";
import { LogLimit } from "../log-limit.ts";
import type { Logger } from "../log.ts";
import type { CallHandler, CallSocket } from "../telephony/types.ts";
import type { CallControl, CallParties, VoicemailAnswer } from "./agent.ts";
import { INBOUND, type CallPurpose, type CallSource, type EndReason, type Utterance } from "./data.ts";
import { CallEnding, HARD_STOP_MS } from "./ending.ts";
import type { CallEvent, CallEventHub } from "./events.ts";
import { Handover, type HandoffDesk } from "./handoff.ts";
import { IdleWatch, NUDGE_IDLE } from "./idle-watch.ts";
import type { ModelLeg } from "./model-leg.ts";
import { RecordedSink, type RecordingFactory, type RecordingTap } from "./recording-tap.ts";
import { OutboundLine, VOICEMAIL_MAX_WAIT_MS, type MessageTrigger } from "./outbound-line.ts";
import { StallWatch } from "./stall-watch.ts";
import { CallTally, endedEvent } from "./summary.ts";
import { toolError, ToolRunner } from "./tool-runner.ts";
import { TranscriptAggregator } from "./transcript.ts";

/** After a stall resume: the fresh socket may not have heard the caller's last words (nothing is replayed). */
export const NUDGE_STALL =
  "The caller finished speaking a moment ago and is waiting for your answer. Answer them, or if you did not catch what they said, briefly ask them to repeat it.";

/** The voicemail message: said once, word for word, then the call ends. */
export const voicemailNudge = (message: string): string =>
  `An answering machine is recording now. Leave this voicemail message, exactly as written, then stop talking: "${message}"`;
/** A voicemail message may run this long before the call is cut whatever happens. */
export const VOICEMAIL_HARD_STOP_MS = 60_000;
/** Outbound greeting and voicemail: how much later than their audio-time deadline the wall clock steps in. */
const OUTBOUND_FALLBACK_SLACK_MS = 1000;

export interface CallSettings {
  callSampleRate: number;
  playbackRate: 8000 | 16000 | 24000;
  playoutLeadMs: number;
  playoutFrameMs: number;
  uplinkBatchMs: number;
  turnTailMs: number;
  /** Most model audio queued for playout (MAX_QUEUED_AUDIO_S). */
  maxQueuedAudioS: number;
  /** Caller finished, model silent this long → resume once, then end the call (MODEL_STALL_S); 0 = off. */
  modelStallS: number;
}

export interface CallInfo extends CallParties {
  callId: string;
  source: CallSource;
}

export interface CallDeps {
  settings: CallSettings;
  info: CallInfo;
  socket: CallSocket;
  leg: ModelLeg;
  pacer: Pacer;
  events: CallEventHub;
  log: Logger;
  onEnd: (call: Call) => void;
  /** Opens a recording for a call whose agent records; absent = no call records. */
  recordings?: RecordingFactory;
  /** Where the handoff tool's work is done (src/handoff); absent: the tool answers that it is not available. */
  handoffs?: HandoffDesk;
}

/** The transcript so far a handoff carries is at most this many of the latest utterances. */
const SAID_MAX = 200;

export class Call implements CallHandler, CallControl {
  readonly callId: string;
  readonly info: CallInfo;
  /** Caller and agent audio levels for the console; sampled by readers a few times a second (audio/level.ts). */
  readonly levels: { caller: PeakMeter; agent: PeakMeter };
  private readonly playout: Playout;
  private readonly uplink: Uplink;
  private readonly batcher: UplinkBatcher | null;
  private readonly speech: SpeechEndDetector;
  /** The caller's speech as heard here, for the stall watch (null when MODEL_STALL_S is 0). */
  private readonly probe: SpeechProbe | null;
  /** This call's recording; null unless its agent records (then each frame costs this one check). */
  private readonly recording: RecordingTap | null;
  private readonly leg: ModelLeg;
  private readonly socket: CallSocket;
  private readonly log: Logger;
  private readonly hub: CallEventHub;
  private readonly tools: ToolRunner;
  private readonly transcript: TranscriptAggregator;
  private readonly ending: CallEnding;
  private readonly idle: IdleWatch | null;
  private readonly stall: StallWatch;
  private readonly tally = new CallTally();
  /** A person brought onto the line (handoff.live): while they are on, the agent is quiet. */
  private readonly handover: Handover;
  /** Final utterances so far, for a handoff (the latest SAID_MAX). */
  private readonly said: Utterance[] = [];
  /** Warnings that can repeat within a call are logged a few times, then counted (summary in "call ended"). */
  private readonly limit: LogLimit;
  private readonly startedAt = Date.now();
  private readonly t0 = performance.now();
  private readonly purpose: CallPurpose;
  /** Outbound calls only: when to greet, and the voicemail (null on inbound calls). */
  private readonly outbound: OutboundLine | null;
  /** `outbound` while it needs the caller's frames, then null: the per-frame cost ends with its work. */
  private watch: OutboundLine | null = null;
  private outboundTimers: Array<ReturnType<typeof setTimeout>> = [];
  /** Voicemail: the model's audio goes nowhere while the relay waits for the beep. */
  private holdModelAudio = false;
  private voicemailAsked = false;
  private optedOut = false;
  /** The caller's current utterance has transcript text (an empty `finished` is not words). */
  private callerWords = false;

  private ended = false;
  private framesIn = 0;
  /** The model sent audio since its last turnComplete (a turn is in progress on its side). */
  private modelTurnOpen = false;

  constructor(private readonly d: CallDeps) {
    const s = d.settings;
    const a = d.info.agent;
    this.info = d.info;
    this.callId = d.info.callId;
    this.socket = d.socket;
    this.leg = d.leg;
    this.log = d.log;
    this.hub = d.events;
    this.limit = new LogLimit(d.log);
    this.probe = s.modelStallS > 0 ? new SpeechProbe(s.callSampleRate) : null;
    this.speech = new SpeechEndDetector(s.callSampleRate);
    this.uplink = new Uplink(s.callSampleRate, d.leg.inputRate);
    const batchBytes = (d.leg.inputRate / 1000) * s.uplinkBatchMs * 2;
    this.batcher = batchBytes > 0 ? new UplinkBatcher(batchBytes, (chunk) => d.leg.sendAudio(chunk)) : null;

    this.playout = new Playout({
      outRate: s.playbackRate,
      leadMs: s.playoutLeadMs,
      tailMs: s.turnTailMs,
      frameMs: s.playoutFrameMs,
      maxQueuedMs: s.maxQueuedAudioS * 1000,
    });
    this.levels = { caller: new PeakMeter(), agent: this.playout.level };
    this.recording =
      a.record === true && d.recordings !== undefined
        ? d.recordings({
            callId: this.callId,
            callRate: s.callSampleRate,
            playbackRate: s.playbackRate,
            aheadMs: this.playout.leadMs + LEAD_SLACK_MS + this.playout.frameMs,
            clock: d.pacer,
            log: d.log,
            report: (recording) => this.emit({ type: "recording", callId: this.callId, recording }),
          })
        : null;
    this.playout.attach(this.recording === null ? d.socket : new RecordedSink(d.socket, this.recording, this.playout));
    this.playout.listen({
      turnAudible: (turn, ms) => this.turnAudible(turn, ms),
      overflow: (turn, queuedMs) =>
        this.limit.warn("playout_overflow", { turn, queuedMs: Math.round(queuedMs), maxQueuedAudioS: s.maxQueuedAudioS }, "model audio beyond MAX_QUEUED_AUDIO_S: dropping the rest of this turn"),
      lateAudioAccepted: (afterMs) =>
        this.limit.warn("discard_valve", { afterMs: Math.round(afterMs) }, "interrupted turn never completed; accepting model audio again"),
    });
    this.playout.join(d.pacer);

    this.ending = new CallEnding({
      log: d.log,
      sendText: (t) => this.leg.sendText(t),
      modelTurnOpen: () => this.modelTurnOpen,
      speaking: () => this.playout.speaking,
      whenDrained: () => this.playout.whenDrained(),
      hangup: () => this.hangup(),
    });
    this.ending.limit(a.maxCallSeconds);
    this.handover = new Handover({
      log: d.log,
      after: () => a.handoff?.live?.after ?? "resume",
      whenDrained: () => this.playout.whenDrained(),
      cutAudio: () => {
        this.playout.onInterrupted();
        this.socket.clearAudio();
      },
      sendText: (t) => this.leg.sendText(t),
      hangup: (reason, detail) => void this.hangup(reason, detail, true),
    });
    this.idle =
      a.idleSeconds > 0
        ? new IdleWatch(a.idleSeconds * 1000, {
            live: () => this.live,
            busy: () => !this.playout.drained || this.tools.pending > 0 || this.handover.active,
            nudge: (idleMs) => {
              this.log.info({ idleMs }, "caller and agent silent: checking whether the caller is still there");
              this.leg.sendText(NUDGE_IDLE);
            },
            expire: (idleMs) => this.endPolitely("idle", `silent for ${Math.round(idleMs / 1000)} s twice`, undefined),
          })
        : null;
    this.stall = new StallWatch(s.modelStallS * 1000, {
      // The model owes nobody an answer while a person has the call.
      live: () => this.live && !this.handover.quiet,
      resume: (silentMs, cause) => {
        const why = cause === "silence" ? "model silent after the caller finished" : "model ended turns in a row with nothing to say";
        if (!this.leg.resume(why)) return false;
        this.limit.warn("model_stall", { silentMs: Math.round(silentMs), cause }, `${why}: resuming it on a fresh socket`);
        this.leg.sendText(NUDGE_STALL);
        return true;
      },
      fail: (silentMs, resumed, cause) => {
        const secs = Math.round(silentMs / 1000);
        this.log.error({ silentMs: Math.round(silentMs), resumed, cause }, cause === "silence" ? "model stays silent: ending the call" : "model keeps ending its turns with nothing: ending the call");
        const detail = cause === "silence" ? `model silent for ${secs} s after the caller finished` : `model ended ${this.tally.rejectedTurns} turns with nothing to say`;
        void this.hangup("model_failed", detail);
      },
    });

    this.transcript = new TranscriptAggregator(this.callId, (e) => {
      if (e.final) {
        this.said.push({ role: e.role, text: e.text, startMs: e.startMs, endMs: e.endMs, interrupted: e.interrupted, heardMs: e.heardMs });
        if (this.said.length > SAID_MAX) this.said.shift();
      }
      this.emit(e);
    });
    this.tools = new ToolRunner({
      tools: a.tools,
      who: { callId: this.callId, agent: a.name, caller: d.info.caller, callee: d.info.callee },
      call: this,
      log: d.log,
      answer: (id, name, response) => this.leg.sendToolResult(id, name, response),
      settled: (r) => this.emit({ type: "toolResult", callId: this.callId, ...r, atMs: this.now() }),
    });
    this.purpose = d.info.purpose ?? INBOUND;
    this.outbound = this.purpose.direction === "outbound" ? this.outboundLine() : null;
    this.watch = this.outbound?.watching ? this.outbound : null;
    this.emit({
      type: "started",
      callId: this.callId,
      at: this.startedAt,
      caller: d.info.caller,
      callee: d.info.callee,
      agent: a.name,
      tools: a.tools.map((t) => t.declaration.name),
      source: d.info.source,
      purpose: this.purpose,
    });
    this.attachLeg();
  }

  /** The callee speaks first; the model leg was opened without the greeting, which this sends when it is time. */
  private outboundLine(): OutboundLine {
    const a = this.d.info.agent;
    const greetAfterMs = a.outbound?.greetAfterMs ?? 1500;
    const line = new OutboundLine({
      rate: this.d.settings.callSampleRate,
      greeting: a.greeting,
      greetAfterMs,
      voicemail: a.voicemail,
      greet: (text, why) => {
        this.log.info({ why, afterMs: Math.round(this.now()) }, "outbound: greeting the callee");
        this.leg.sendText(text);
      },
      leaveMessage: (trigger) => this.leaveMessage(trigger),
    });
    if (a.greeting !== "") this.outboundTimers.push(setTimeout(() => line.timeout(), greetAfterMs + OUTBOUND_FALLBACK_SLACK_MS));
    return line;
  }

  /** Every model event but the caller's own transcript tells the stall watch (one number stored). */
  private attachLeg(): void {
    const stall = this.stall;
    this.leg.attach({
      audio: (pcm, rate) => {
        const ho = this.handover;
        if (ho.state !== "none") {
          // A person has the call: whatever the model says is not played. Before that, this is the announcement.
          if (ho.quiet) return;
          ho.spoke = true;
        }
        const now = performance.now();
        this.idle?.activity(now);
        stall.heardModel(now);
        this.modelTurnOpen = true;
        if (this.holdModelAudio) return;
        this.playout.pushModelAudio(pcm, rate);
      },
      interrupted: () => {
        stall.heardModel();
        this.bargeIn();
      },
      generationComplete: () => {
        stall.heardModel();
        this.playout.onGenerationComplete();
      },
      turnComplete: (reason, rejected) => {
        stall.heardModel();
        this.turnComplete(reason, rejected);
      },
      grounding: (g) => {
        stall.heardModel();
        this.transcript.agentGrounding(g);
      },
      inputTranscription: (text, finished) => {
        this.idle?.callerSpoke();
        this.transcript.callerFragment(text, finished, this.now());
        // A late empty `finished` after the model already answered is not a new utterance.
        if (text !== "") {
          stall.callerSpeaking();
          this.callerWords = true;
        }
        if (finished) {
          stall.callerFinished();
          if (this.callerWords) this.outbound?.callerFinished();
          this.callerWords = false;
        }
      },
      outputTranscription: (text) => {
        stall.heardModel();
        this.transcript.agentFragment(text, this.now());
      },
      toolCall: (c) => {
        stall.heardModel();
        this.emit({ type: "toolCall", callId: this.callId, id: c.id, name: c.name, args: c.args, atMs: this.now() });
        this.tools.run(c);
      },
      toolCallCancelled: (ids) => {
        stall.heardModel();
        this.tools.cancel(ids);
      },
      usage: (u) => {
        stall.heardModel();
        this.tally.addUsage(u);
        this.emit({ type: "usage", callId: this.callId, usage: u });
      },
      failed: (reason, code) => void this.modelFailed(reason, code),
    });
  }

  // ---------- CallHandler (the socket side) ----------

  onMetadata(meta: Record<string, unknown> | undefined): void {
    this.emit({ type: "metadata", callId: this.callId, meta });
  }

  onAudio(pcm: Uint8Array): void {
    this.framesIn++;
    const level = measureFrame(pcm);
    this.levels.caller.note(level.peak);
    if (this.ended) return;
    const rec = this.recording;
    if (rec !== null) rec.caller(pcm);
    this.speech.observe(level);
    const probe = this.probe;
    if (probe !== null) {
      const r = probe.observe(level);
      if (r === PROBE_START) this.stall.callerSpeaking();
      else if (r !== PROBE_NONE) this.stall.callerFinished();
    }
    // A person has the call: the caller is heard by them (and recorded), not answered by the model.
    if (this.handover.quiet) return;
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

  onText(): void {}

  onDrain(): void {
    this.playout.onDrain();
  }

  onMediaLost(quietMs: number): void {
    void this.hangup("media_lost", `no frame from the caller for ${(quietMs / 1000).toFixed(1)} s`);
  }

  onClose(code: number, reason: string): void {
    this.finish("caller_hangup", `caller socket closed (${code}${reason ? " " + reason : ""})`);
  }

  /** Counters of the call so far (playout and model leg); for metrics and tests, not the hot path. */
  stats(): { audio: PlayoutStats; model: Record<string, number>; modelStalls: number } {
    return { audio: this.playout.stats(), model: this.leg.stats(), modelStalls: this.stall.stalls };
  }

  // ---------- endings (the policy is ending.ts) ----------

  /** Neither ending nor ended. */
  private get live(): boolean {
    return !this.ended && this.ending.current === undefined;
  }

  /**
   * CallControl for tools (end_call). The function call is part of a model turn (the goodbye is usually spoken
   * in it, or right after the answer), so that turn's turnComplete is awaited; then the caller hears everything
   * queued, then hang-up.
   */
  endCall(reason: "agent_end_call", detail?: string): void {
    this.endPolitely(reason, detail ?? "", undefined, HARD_STOP_MS, 1);
  }

  /**
   * CallControl for the handoff tool: the desk notifies a person (and with `handoff.live` asks for one on the line,
   * driving this call's Handover); resolves with the tool's answer.
   */
  handOff(reason: string, summary: string, deadline: number): Promise<Record<string, unknown>> {
    const spec = this.info.agent.handoff;
    const desk = this.d.handoffs;
    if (spec === undefined || desk === undefined) return Promise.resolve(toolError("handoff is not set up for this agent"));
    if (this.handover.active) return Promise.resolve(toolError("a person is already being brought onto this call"));
    const i = this.info;
    return desk.handOff(
      { callId: this.callId, agent: i.agent.name, caller: i.caller, callee: i.callee, source: i.source, reason, summary, atMs: this.now(), transcript: [...this.said], spec },
      this.handover,
      deadline,
    );
  }

  /**
   * CallControl for the voicemail tool (outbound calls): the model heard an answering machine. Whatever the agent
   * was saying stops; then the agent's `voicemail.action`: hang up now, or hold the model's audio, wait for the
   * beep (outbound-line.ts) and have the agent say the message.
   */
  voicemail(): VoicemailAnswer {
    const line = this.outbound;
    if (line === null) return { ok: false, reason: "This call was not placed by the relay: there is no voicemail here. Carry on with the conversation." };
    if (!this.live) return { ok: false, reason: "The call is already ending." };
    const vm = this.info.agent.voicemail;
    const action = vm?.action === "leave_message" && vm.message !== "" ? "leave_message" : "hangup";
    if (this.voicemailAsked) return { ok: true, action };
    this.voicemailAsked = true;
    this.playout.onInterrupted();
    this.socket.clearAudio();
    if (action === "hangup") {
      line.stop();
      this.watch = null;
      this.emit({ type: "voicemail", callId: this.callId, atMs: this.now(), left: false, trigger: null, message: "" });
      void this.hangup("voicemail", "an answering machine answered: hung up without a message");
      return { ok: true, action };
    }
    this.holdModelAudio = true;
    line.awaitBeep();
    this.watch = line.watching ? line : null;
    this.outboundTimers.push(setTimeout(() => line.messageTimeout(), VOICEMAIL_MAX_WAIT_MS + OUTBOUND_FALLBACK_SLACK_MS));
    return { ok: true, action };
  }

  /** The beep ended (or the machine went quiet, or waiting was long enough): the agent says the message, then hang-up. */
  private leaveMessage(trigger: MessageTrigger): void {
    if (!this.live) return;
    const message = this.info.agent.voicemail?.message ?? "";
    this.holdModelAudio = false;
    this.log.info({ trigger, afterMs: Math.round(this.now()) }, "voicemail: leaving the message");
    this.emit({ type: "voicemail", callId: this.callId, atMs: this.now(), left: true, trigger, message });
    this.endPolitely("voicemail", `left the voicemail message (after the ${trigger === "beep" ? "beep" : trigger === "silence" ? "machine's greeting ended" : "longest wait"})`, voicemailNudge(message), VOICEMAIL_HARD_STOP_MS);
  }

  /** CallControl for the opt_out tool: the number goes on the do-not-call list (an observer of the optOut event
   *  does that), the agent says a short goodbye, the call ends. */
  optOut(): void {
    if (this.optedOut || !this.live) return;
    this.optedOut = true;
    const number = this.purpose.direction === "outbound" ? this.info.callee : this.info.caller;
    this.log.info("opt_out: the callee asked not to be called again");
    this.emit({ type: "optOut", callId: this.callId, at: Date.now(), number });
    this.endPolitely("opted_out", "the callee asked not to be called again", undefined, HARD_STOP_MS, 1);
  }

  /** See CallEnding.politely: the agent finishes what it says (or says a goodbye), the caller hears it, hang-up. */
  endPolitely(reason: EndReason, detail: string, nudge: string | undefined, hardStopMs = HARD_STOP_MS, turns?: number): void {
    if (!this.live) return;
    this.idle?.stop();
    this.ending.politely(reason, detail, nudge, hardStopMs, turns);
  }

  /** Ends now: hang up through the telephony side; the socket's close finishes the call. */
  async hangup(reason?: EndReason, detail = "", overrides = false): Promise<void> {
    if (this.ended) return;
    const e = this.ending.settle(reason, detail, overrides);
    await this.socket.hangup(e.reason);
    this.finish(e.reason, e.detail);
  }

  // ---------- model events ----------

  private turnComplete(reason: string | undefined, rejected: boolean): void {
    // Checked before the turn's state is reset: a rejected turn that still carried audio was heard, not empty.
    if (this.modelTurnOpen) this.stall.answered();
    else if (rejected) this.emptyTurn(reason);
    const wasDiscarding = this.playout.discardingLateAudio;
    this.playout.onTurnComplete();
    if (!wasDiscarding) {
      const pb = this.playout.playback();
      this.transcript.agentTurnEnded(this.now(), Math.max(0, pb.queuedMs - this.d.settings.turnTailMs), false);
    }
    this.modelTurnOpen = false;
    this.handover.turnCompleted();
    // For the idle watch the agent speaks until the caller has heard the turn (tail included), not until its
    // last chunk arrived: model audio comes faster than real time.
    const idle = this.idle;
    if (idle !== null) void this.playout.whenDrained().then(() => idle.activity());
    this.ending.turnCompleted();
  }

  /** The model ended a turn as refused or broken with no audio: counted, logged (limited), and a run is a stall. */
  private emptyTurn(reason: string | undefined): void {
    this.tally.rejectedTurns++;
    this.limit.warn("rejected_turn", { reason, rejectedTurns: this.tally.rejectedTurns }, "model ended a turn with nothing to say");
    this.stall.emptyTurn();
  }

  /** Barge-in: drop queued audio and tell the media server to drop its own, in this event-loop turn. */
  private bargeIn(): void {
    const heard = this.playout.playback().heardMs;
    const cut = this.playout.speaking || !this.playout.drained;
    this.playout.onInterrupted();
    // Without killAudio the media server plays out what it holds, and the recording keeps it.
    if (this.socket.clearAudio()) this.recording?.cut();
    if (cut) {
      this.tally.bargeIns++;
      this.transcript.agentTurnEnded(this.now(), heard, true);
      this.emit({ type: "bargeIn", callId: this.callId, atMs: this.now(), heardMs: Math.round(heard) });
    }
  }

  private turnAudible(turn: number, ms: number): void {
    this.tally.firstAudioMs.push(ms);
    const speechEnd = this.speech.takeSpeechEnd();
    const responseMs = speechEnd < 0 ? undefined : performance.now() - speechEnd;
    this.emit({ type: "turn", callId: this.callId, index: turn, firstAudioMs: ms, responseMs, atMs: this.now() });
  }

  /** The model leg is gone for good: hang the phone call up rather than leave the caller on dead air. */
  private async modelFailed(reason: string, code: number): Promise<void> {
    if (this.ended) return;
    if (this.handover.active) {
      // A person has (or is getting) the call: it goes on without the agent, who cannot take it back.
      this.handover.legLost = true;
      this.log.error({ reason, code }, "model session failed while a person is being brought on or is on the call; the call goes on");
      return;
    }
    this.log.error({ reason, code }, "model session failed; ending the call");
    await this.hangup("model_failed", `${code} ${reason}`.trim(), true);
  }

  private finish(reason: EndReason, detail: string): void {
    if (this.ended) return;
    this.ended = true;
    const e = this.ending.current ?? { reason, detail };
    for (const t of this.outboundTimers) clearTimeout(t);
    this.outbound?.stop();
    this.watch = null;
    this.ending.stop();
    this.handover.stop();
    this.idle?.stop();
    this.stall.stop();
    this.tools.abortAll();
    this.transcript.close(this.now(), this.playout.playback().heardMs);
    void this.leg.close();
    const audio = this.playout.stats();
    const model = this.leg.stats();
    this.log.info({ reason: e.reason, detail: e.detail, audio, model, modelStalls: this.stall.stalls, suppressedLogs: this.limit.suppressed() }, "call ended");
    this.playout.dispose(); // also leaves the pacer
    this.recording?.finish();
    this.emit(
      endedEvent({ callId: this.callId, ending: e, durationMs: this.now(), framesIn: this.framesIn, tally: this.tally, playout: audio, model, modelRate: this.leg.outputRate }),
    );
    this.d.onEnd(this);
  }

  private now(): number {
    return performance.now() - this.t0;
  }

  private emit(e: CallEvent): void {
    this.hub.emit(e);
  }
}
