// One phone (or browser) call: the switchboard where the legs meet. It builds the call's parts and routes the two
// legs' events to them:
//   caller frame → CallHandler.onAudio → CallerPath (detectors, recording, Uplink to leg.inputRate) → ModelLeg
//   model audio → ModelLegEvents.audio → Playout (resample, queue) → Pacer tick → CallSocket.sendAudio → caller
// Everything else happens at turn and call boundaries, in modules of their own: the agent's turns and barge-in
// (agent-turns.ts), tools and what they may do (tool-runner.ts, tool-controls.ts), transcripts (transcript.ts),
// how the call ends (ending.ts), the idle and stall watches, a person on the line (handoff.ts), an outbound
// call's greeting and voicemail (outbound-call.ts), the end summary (summary.ts) and the events (events.ts).
import type { PeakMeter } from "../audio/level.ts";
import type { Pacer } from "../audio/pacer.ts";
import { LEAD_SLACK_MS, Playout, type PlayoutStats } from "../audio/playout.ts";
import { LogLimit } from "../log-limit.ts";
import type { Logger } from "../log.ts";
import type { CallHandler, CallSocket } from "../telephony/types.ts";
import type { CallInfo } from "./agent.ts";
import { AgentTurns } from "./agent-turns.ts";
import { CallerPath } from "./caller-path.ts";
import { INBOUND, type CallPurpose, type EndReason } from "./data.ts";
import { CallEnding, HARD_STOP_MS } from "./ending.ts";
import type { CallEvent, CallEventHub } from "./events.ts";
import { Handover, type HandoffDesk } from "./handoff.ts";
import { idlePolicy, IdleWatch } from "./idle-watch.ts";
import type { ModelLeg } from "./model-leg.ts";
import { OutboundCall } from "./outbound-call.ts";
import { RecordedSink, type RecordingFactory, type RecordingTap } from "./recording-tap.ts";
import { stallPolicy, StallWatch } from "./stall-watch.ts";
import { CallTally, endedEvent } from "./summary.ts";
import { ToolControls } from "./tool-controls.ts";
import { ToolRunner } from "./tool-runner.ts";
import { TranscriptAggregator } from "./transcript.ts";

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

export class Call implements CallHandler {
  readonly callId: string;
  readonly info: CallInfo;
  /** Caller and agent audio levels for the console; sampled by readers a few times a second (audio/level.ts). */
  readonly levels: { caller: PeakMeter; agent: PeakMeter };
  private readonly playout: Playout;
  private readonly callerPath: CallerPath;
  /** This call's recording; null unless its agent records (then each frame costs this one check). */
  private readonly recording: RecordingTap | null;
  private readonly leg: ModelLeg;
  private readonly tools: ToolRunner;
  private readonly transcript: TranscriptAggregator;
  private readonly ending: CallEnding;
  private readonly idle: IdleWatch | null;
  private readonly stall: StallWatch;
  private readonly tally = new CallTally();
  private readonly turns: AgentTurns;
  /** A person brought onto the line (handoff.live): while they are on, the agent is quiet. */
  private readonly handover: Handover;
  /** Warnings that can repeat within a call are logged a few times, then counted (summary in "call ended"). */
  private readonly limit: LogLimit;
  private readonly startedAt = Date.now();
  private readonly t0 = performance.now();
  private readonly purpose: CallPurpose;
  /** Outbound calls only: when to greet, and the voicemail (null on inbound calls). */
  private readonly outbound: OutboundCall | null;

  private ended = false;

  constructor(private readonly d: CallDeps) {
    const s = d.settings;
    const a = d.info.agent;
    this.info = d.info;
    this.callId = d.info.callId;
    this.leg = d.leg;
    this.limit = new LogLimit(d.log);
    const maxQueuedMs = s.maxQueuedAudioS * 1000;
    this.playout = new Playout({ outRate: s.playbackRate, leadMs: s.playoutLeadMs, tailMs: s.turnTailMs, frameMs: s.playoutFrameMs, maxQueuedMs });
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
      turnAudible: (turn, ms) => this.turns.audible(turn, ms),
      overflow: (turn, queuedMs) =>
        this.limit.warn("playout_overflow", { turn, queuedMs: Math.round(queuedMs), maxQueuedAudioS: s.maxQueuedAudioS }, "model audio beyond MAX_QUEUED_AUDIO_S: dropping the rest of this turn"),
      lateAudioAccepted: (afterMs) =>
        this.limit.warn("discard_valve", { afterMs: Math.round(afterMs) }, "interrupted turn never completed; accepting model audio again"),
    });
    this.playout.join(d.pacer);

    this.ending = new CallEnding({
      log: d.log,
      sendText: (t) => this.leg.sendText(t),
      modelTurnOpen: () => this.turns.open,
      speaking: () => this.playout.speaking,
      whenDrained: () => this.playout.whenDrained(),
      hangup: () => this.hangup(),
    });
    this.ending.limit(a.maxCallSeconds);
    this.handover = new Handover({
      log: d.log,
      after: () => a.handoff?.live?.after ?? "resume",
      whenDrained: () => this.playout.whenDrained(),
      cutAudio: () => this.silence(),
      sendText: (t) => this.leg.sendText(t),
      hangup: (reason, detail) => void this.hangup(reason, detail, true),
    });
    const idle = idlePolicy({
      live: () => this.live,
      busy: () => !this.playout.drained || this.tools.pending > 0 || this.handover.active,
      log: d.log,
      sendText: (t) => this.leg.sendText(t),
      endPolitely: (reason, detail) => this.endPolitely(reason, detail, undefined),
    });
    this.idle = a.idleSeconds > 0 ? new IdleWatch(a.idleSeconds * 1000, idle) : null;
    const stall = stallPolicy({
      // The model owes nobody an answer while a person has the call.
      live: () => this.live && !this.handover.quiet,
      leg: d.leg,
      log: d.log,
      limit: this.limit,
      rejectedTurns: () => this.tally.rejectedTurns,
      hangup: (reason, detail) => void this.hangup(reason, detail),
    });
    this.stall = new StallWatch(s.modelStallS * 1000, stall);
    this.callerPath = new CallerPath({
      callRate: s.callSampleRate,
      uplinkBatchMs: s.uplinkBatchMs,
      leg: d.leg,
      stall: s.modelStallS > 0 ? this.stall : null,
      recording: this.recording,
      muted: this.handover,
    });
    this.levels = { caller: this.callerPath.level, agent: this.playout.level };
    this.transcript = new TranscriptAggregator(this.callId, (e) => this.emit(e));
    this.turns = new AgentTurns({
      callId: this.callId,
      turnTailMs: s.turnTailMs,
      playout: this.playout,
      socket: d.socket,
      recording: this.recording,
      transcript: this.transcript,
      tally: this.tally,
      stall: this.stall,
      caller: this.callerPath,
      limit: this.limit,
      now: () => this.now(),
      emit: (e) => this.emit(e),
      turnEnded: () => this.turnEnded(),
    });
    this.purpose = d.info.purpose ?? INBOUND;
    this.outbound = this.purpose.direction === "outbound" ? this.outboundCall() : null;
    const controls = new ToolControls({
      info: d.info,
      log: d.log,
      live: () => this.live,
      now: () => this.now(),
      endPolitely: (reason, detail, nudge, hardStopMs, turns) => this.endPolitely(reason, detail, nudge, hardStopMs, turns),
      emit: (e) => this.emit(e),
      transcript: this.transcript,
      handover: this.handover,
      desk: d.handoffs,
      outbound: this.outbound,
    });
    this.tools = new ToolRunner({
      tools: a.tools,
      who: { callId: this.callId, agent: a.name, caller: d.info.caller, callee: d.info.callee },
      call: controls,
      log: d.log,
      answer: (id, name, response) => this.leg.sendToolResult(id, name, response),
      settled: (r) => this.emit({ type: "toolResult", callId: this.callId, ...r, atMs: this.now() }),
    });
    const { caller, callee, source } = d.info;
    const tools = a.tools.map((t) => t.declaration.name);
    this.emit({ type: "started", callId: this.callId, at: this.startedAt, caller, callee, agent: a.name, tools, source, purpose: this.purpose });
    this.attachLeg();
  }

  /** The callee speaks first; the model leg was opened without the greeting, which this sends when it is time. */
  private outboundCall(): OutboundCall {
    return new OutboundCall({
      agent: this.info.agent,
      rate: this.d.settings.callSampleRate,
      log: this.d.log,
      now: () => this.now(),
      live: () => this.live,
      sendText: (t) => this.leg.sendText(t),
      silence: () => this.silence(),
      emit: (e) => this.emit({ type: "voicemail", callId: this.callId, ...e }),
      hangup: (reason, detail) => void this.hangup(reason, detail),
      endPolitely: (reason, detail, nudge, hardStopMs) => this.endPolitely(reason, detail, nudge, hardStopMs),
      watch: (line) => (this.callerPath.watch = line),
    });
  }

  /** Every model event but the caller's own transcript tells the stall watch (one number stored). */
  private attachLeg(): void {
    const stall = this.stall;
    this.leg.attach({
      audio: (pcm, rate) => {
        // A person has the call: whatever the model says is not played.
        if (this.handover.modelAudio()) return;
        const now = performance.now();
        this.idle?.activity(now);
        stall.heardModel(now);
        this.turns.open = true;
        if (this.outbound !== null && this.outbound.holdingAudio) return;
        this.playout.pushModelAudio(pcm, rate);
      },
      interrupted: () => {
        stall.heardModel();
        this.turns.bargeIn();
      },
      generationComplete: () => {
        stall.heardModel();
        this.playout.onGenerationComplete();
      },
      turnComplete: (reason, rejected) => {
        stall.heardModel();
        this.turns.complete(reason, rejected);
      },
      grounding: (g) => {
        stall.heardModel();
        this.transcript.agentGrounding(g);
      },
      inputTranscription: (text, finished) => {
        this.idle?.callerSpoke();
        this.transcript.callerFragment(text, finished, this.now());
        // A late empty `finished` after the model already answered is not a new utterance.
        if (text !== "") stall.callerSpeaking();
        if (finished) stall.callerFinished();
        this.outbound?.callerTranscript(text, finished);
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
    this.callerPath.frame(pcm);
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
    await this.d.socket.hangup(e.reason);
    this.finish(e.reason, e.detail);
  }

  // ---------- model events ----------

  /** Drops queued model audio and tells the media server to drop its own, as a barge-in does, but nothing is
   *  counted as cut short (a voicemail, a person coming on). */
  private silence(): void {
    this.playout.onInterrupted();
    if (this.d.socket.clearAudio()) this.recording?.cut();
  }

  /** After AgentTurns handled a turn's end. */
  private turnEnded(): void {
    this.handover.turnCompleted();
    // For the idle watch the agent speaks until the caller has heard the turn (tail included), not until its
    // last chunk arrived: model audio comes faster than real time.
    const idle = this.idle;
    if (idle !== null) void this.playout.whenDrained().then(() => idle.activity());
    this.ending.turnCompleted();
  }

  /** The model leg is gone for good: hang the phone call up rather than leave the caller on dead air. */
  private async modelFailed(reason: string, code: number): Promise<void> {
    if (this.ended) return;
    if (this.handover.active) {
      // A person has (or is getting) the call: it goes on without the agent, who cannot take it back.
      this.handover.legLost = true;
      this.d.log.error({ reason, code }, "model session failed while a person is being brought on or is on the call; the call goes on");
      return;
    }
    this.d.log.error({ reason, code }, "model session failed; ending the call");
    await this.hangup("model_failed", `${code} ${reason}`.trim(), true);
  }

  private finish(reason: EndReason, detail: string): void {
    if (this.ended) return;
    this.ended = true;
    const e = this.ending.current ?? { reason, detail };
    this.outbound?.stop();
    this.callerPath.stop();
    this.ending.stop();
    this.handover.stop();
    this.idle?.stop();
    this.stall.stop();
    this.tools.abortAll();
    this.transcript.close(this.now(), this.playout.playback().heardMs);
    void this.leg.close();
    const audio = this.playout.stats();
    const model = this.leg.stats();
    this.d.log.info({ reason: e.reason, detail: e.detail, audio, model, modelStalls: this.stall.stalls, suppressedLogs: this.limit.suppressed() }, "call ended");
    this.playout.dispose(); // also leaves the pacer
    this.recording?.finish();
    this.emit(
      endedEvent({ callId: this.callId, ending: e, durationMs: this.now(), framesIn: this.callerPath.frames, tally: this.tally, playout: audio, model, modelRate: this.leg.outputRate }),
    );
    this.d.onEnd(this);
  }

  private now(): number {
    return performance.now() - this.t0;
  }

  private emit(e: CallEvent): void {
    this.d.events.emit(e);
  }
}
