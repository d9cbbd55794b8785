// One phone (or browser) call: where the legs meet.
//   caller frame → CallHandler.onAudio → Uplink (call rate → leg.inputRate) → ModelLeg.sendAudio → model
//   model audio → ModelLegEvents.audio → Playout (resample, queue) → Pacer tick → CallSocket.sendAudio → caller
// Everything else a call does happens at turn and call boundaries: tools, transcripts, endings, and the events
// observers get (events.ts). Nothing here runs per frame beyond the two lines above, counters, and one scan of
// each caller frame that three cheap detectors read: a peak meter (console), the speech-end detector
// (response-time metric) and the speech probe (model stall).
import { measureFrame } from "../audio/frame-level.ts";
import { PeakMeter } from "../audio/level.ts";
import { Playout, type PlayoutStats } from "../audio/playout.ts";
import { PROBE_NONE, PROBE_START, SpeechProbe } from "../audio/speech-probe.ts";
import type { Pacer } from "../audio/pacer.ts";
import { SpeechEndDetector } from "../audio/speech-end.ts";
import { Uplink } from "../audio/uplink.ts";
import { UplinkBatcher } from "../audio/uplink-batch.ts";
import { LogLimit } from "../log-limit.ts";
import type { Logger } from "../log.ts";
import type { CallHandler, CallSocket } from "../telephony/types.ts";
import type { Agent, CallControl } from "./agent.ts";
import type { CallEvent, CallEventHub, CallSource, EndReason } from "./events.ts";
import type { ModelLeg, ModelUsage } from "./model-leg.ts";
import { StallWatch } from "./stall-watch.ts";
import { ToolRunner } from "./tool-runner.ts";
import { TranscriptAggregator } from "./transcript.ts";

/** Tells the media server to drop what it buffered; only the jambonz build honours it (docs/sautikit-stream.md#killaudio). */
export const KILL_AUDIO = '{"type":"killAudio"}';
/** Gemini follows `interrupted` with `turnComplete` within moments; phantom interruptions without one happen
 *  (docs/gemini-live.md#interruptions). Past this, audio is taken as a new answer rather than late audio of the old one. */
export const DISCARD_VALVE_MS = 1500;
/** end_call: how long to wait for the goodbye turn's turnComplete. */
export const GOODBYE_TURN_WAIT_MS = 5000;
/** max duration / drain: the goodbye may take this long before the call is cut whatever happens. */
export const HARD_STOP_MS = 15000;

export const NUDGE_GOODBYE = "The call has to end now. Say a brief, friendly goodbye to the caller.";
export const NUDGE_IDLE = "The caller has been silent for a while. Briefly ask whether they are still there.";
/** After a stall resume: the fresh socket may not have heard the caller's last words (nothing is replayed). */
export const NUDGE_STALL =
  "The caller finished speaking a moment ago and is waiting for your answer. Answer them, or if you did not catch what they said, briefly ask them to repeat it.";

export interface CallSettings {
  callSampleRate: number;
  playbackRate: 8000 | 16000 | 24000;
  playoutLeadMs: number;
  playoutFrameMs: number;
  uplinkBatchMs: number;
  turnTailMs: number;
  sendKillAudio: boolean;
  /** Most model audio queued for playout (MAX_QUEUED_AUDIO_S). */
  maxQueuedAudioS: number;
  /** Caller finished, model silent this long → resume once, then end the call (MODEL_STALL_S); 0 = off. */
  modelStallS: number;
}

export interface CallInfo {
  callId: string;
  caller: string;
  callee: string;
  agent: Agent;
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
}

type Timer = ReturnType<typeof setTimeout>;

export class Call implements CallHandler, CallControl {
  readonly callId: string;
  readonly info: CallInfo;
  /** Caller and agent audio levels for the console; sampled by readers a few times a second (audio/level.ts). */
  readonly levels = { caller: new PeakMeter(), agent: new PeakMeter() };
  private readonly playout: Playout;
  private readonly uplink: Uplink;
  private readonly batcher: UplinkBatcher | null;
  private readonly speech: SpeechEndDetector;
  private readonly leg: ModelLeg;
  private readonly socket: CallSocket;
  private readonly log: Logger;
  private readonly hub: CallEventHub;
  private readonly tools: ToolRunner;
  private readonly transcript: TranscriptAggregator;
  /** Warnings that can repeat within a call are logged a few times, then counted (summary in "call ended"). */
  private readonly limit: LogLimit;
  private readonly startedAt = Date.now();
  private readonly t0 = performance.now();

  private ended = false;
  /** Set once an ending has begun; the ended event carries it. */
  private ending: { reason: EndReason; detail: string } | undefined;
  private killsSent = 0;
  private bargeIns = 0;
  private framesIn = 0;
  private readonly firstAudio: number[] = [];
  private readonly usage: ModelUsage = { tokens: {}, totalTokens: 0 };
  private discardValve: Timer | undefined;
  private maxTimer: Timer | undefined;
  private idleTimer: Timer | undefined;
  private hardStop: Timer | undefined;
  private idleNudged = false;
  private lastActivity = performance.now();
  /** The model sent audio since its last turnComplete (a turn is in progress on its side). */
  private modelTurnOpen = false;
  private turnWaiters: Array<() => void> = [];
  /** The caller's speech as heard here, for the stall watch (null when MODEL_STALL_S is 0). */
  private readonly probe: SpeechProbe | null;
  private readonly stall: StallWatch;

  constructor(private readonly d: CallDeps) {
    const s = d.settings;
    this.info = d.info;
    this.callId = d.info.callId;
    this.socket = d.socket;
    this.leg = d.leg;
    this.log = d.log;
    this.limit = new LogLimit(d.log);
    this.probe = s.modelStallS > 0 ? new SpeechProbe(s.callSampleRate) : null;
    this.stall = new StallWatch(s.modelStallS * 1000, {
      live: () => !this.ended && this.ending === undefined,
      resume: (silentMs) => {
        if (!this.leg.resume("model silent after the caller finished")) return false;
        this.limit.warn("model_stall", { silentMs: Math.round(silentMs) }, "model silent after the caller finished: resuming it on a fresh socket");
        this.leg.sendText(NUDGE_STALL);
        return true;
      },
      fail: (silentMs, resumed) => {
        this.log.error({ silentMs: Math.round(silentMs), resumed }, "model stays silent: ending the call");
        this.ending = { reason: "model_failed", detail: `model silent for ${Math.round(silentMs / 1000)} s after the caller finished` };
        void this.hangup();
      },
    });
    this.hub = d.events;
    this.uplink = new Uplink(s.callSampleRate, d.leg.inputRate);
    const batchBytes = (d.leg.inputRate / 1000) * s.uplinkBatchMs * 2;
    this.batcher = batchBytes > 0 ? new UplinkBatcher(batchBytes, (chunk) => d.leg.sendAudio(chunk)) : null;
    this.speech = new SpeechEndDetector(s.callSampleRate);
    this.playout = new Playout({
      outRate: s.playbackRate,
      leadMs: s.playoutLeadMs,
      tailMs: s.turnTailMs,
      frameMs: s.playoutFrameMs,
      maxQueuedMs: s.maxQueuedAudioS * 1000,
    });
    const agentLevel = this.levels.agent;
    this.playout.attach({
      send: (f) => {
        agentLevel.see(f);
        return d.socket.sendAudio(f);
      },
      cork: (fn) => d.socket.cork(fn),
    });
    this.playout.listen({
      turnAudible: (turn, ms) => this.turnAudible(turn, ms),
      overflow: (turn, queuedMs) =>
        this.limit.warn("playout_overflow", { turn, queuedMs: Math.round(queuedMs), maxQueuedAudioS: s.maxQueuedAudioS }, "model audio beyond MAX_QUEUED_AUDIO_S: dropping the rest of this turn"),
    });
    d.pacer.add(this.playout);
    this.transcript = new TranscriptAggregator(this.callId, (e) => this.emit(e));
    const a = d.info.agent;
    this.tools = new ToolRunner({
      tools: a.tools,
      who: { callId: this.callId, agent: a.name, caller: d.info.caller, callee: d.info.callee },
      call: this,
      log: d.log,
      answer: (id, name, response) => this.leg.sendToolResult(id, name, response),
      settled: (r) => this.emit({ type: "toolResult", callId: this.callId, ...r, atMs: this.now() }),
    });
    this.emit({
      type: "started",
      callId: this.callId,
      at: this.startedAt,
      caller: d.info.caller,
      callee: d.info.callee,
      agent: a.name,
      tools: a.tools.map((t) => t.declaration.name),
      source: d.info.source,
    });
    if (a.maxCallSeconds > 0) {
      this.maxTimer = setTimeout(() => this.endPolitely("max_duration", `limit ${a.maxCallSeconds} s`, NUDGE_GOODBYE), a.maxCallSeconds * 1000);
    }
    if (a.idleSeconds > 0) this.armIdle(a.idleSeconds * 1000);
    // Every model event but the caller's own transcript tells the stall watch (one number stored).
    const stall = this.stall;
    d.leg.attach({
      audio: (pcm, rate) => {
        const now = performance.now();
        this.lastActivity = now;
        stall.heardModel(now);
        this.modelTurnOpen = true;
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
      turnComplete: () => {
        stall.heardModel();
        this.turnComplete();
      },
      inputTranscription: (text, finished) => {
        // The caller spoke: the silence is over, and a later one earns a fresh "are you still there?".
        this.lastActivity = performance.now();
        this.idleNudged = false;
        this.transcript.callerFragment(text, finished, this.now());
        // A late empty `finished` after the model already answered is not a new utterance.
        if (text !== "") stall.callerSpeaking();
        if (finished) stall.callerFinished();
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
        this.addUsage(u);
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
    this.speech.observe(level);
    const probe = this.probe;
    if (probe !== null) {
      const r = probe.observe(level);
      if (r === PROBE_START) this.stall.callerSpeaking();
      else if (r !== PROBE_NONE) this.stall.callerFinished();
    }
    const toLeg = this.uplink.process(pcm);
    if (this.batcher === null) this.leg.sendAudio(toLeg);
    else this.batcher.push(toLeg);
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

  // ---------- endings ----------

  /**
   * CallControl for tools (end_call). The function call is part of a model turn (the goodbye is usually spoken
   * in it, or right after the answer), so that turn's turnComplete is awaited, at most GOODBYE_TURN_WAIT_MS;
   * then the caller hears everything queued, then hang-up.
   */
  endCall(reason: "agent_end_call", detail?: string): void {
    this.endPolitely(reason, detail ?? "", undefined, HARD_STOP_MS, 1);
  }

  /**
   * Ends the call without cutting the last sentence: optionally asks the model for a goodbye, waits for the
   * turn(s) that carry it to complete, waits until the caller heard everything queued (tail included), then hangs
   * up through the telephony side. A hard stop bounds the whole thing.
   *
   * Turns waited for: with a nudge, the goodbye turn, which comes after the turn in progress if there is one
   * (bounded by the hard stop); without one, `turns` (end_call: 1) or, by default, the turn being spoken, if
   * any, at most GOODBYE_TURN_WAIT_MS.
   */
  endPolitely(reason: EndReason, detail: string, nudge: string | undefined, hardStopMs = HARD_STOP_MS, turns?: number): void {
    if (this.ended || this.ending !== undefined) return;
    this.ending = { reason, detail };
    this.log.info({ reason, detail }, "ending the call");
    clearTimeout(this.maxTimer);
    clearTimeout(this.idleTimer);
    this.hardStop = setTimeout(() => {
      this.log.warn({ reason, afterMs: hardStopMs }, "goodbye took too long; hanging up");
      void this.hangup();
    }, hardStopMs);
    let waitTurn: Promise<void>;
    if (nudge !== undefined) {
      // The model answers the nudge after the turn it is in (or interrupts that turn: interrupted, turnComplete,
      // then the goodbye); either way the goodbye's turnComplete is the second one.
      const count = this.modelTurnOpen || this.playout.speaking ? 2 : 1;
      this.leg.sendText(nudge);
      waitTurn = this.nextTurnComplete(hardStopMs, count);
    } else {
      const count = turns ?? (this.playout.speaking ? 1 : 0);
      waitTurn = count > 0 ? this.nextTurnComplete(GOODBYE_TURN_WAIT_MS, count) : Promise.resolve();
    }
    void waitTurn
      .then(() => this.playout.whenDrained())
      .then(() => this.hangup());
  }

  /** Ends now: hang up through the telephony side; the socket's close finishes the call. */
  async hangup(reason?: EndReason, detail = ""): Promise<void> {
    if (this.ended) return;
    if (this.ending === undefined && reason !== undefined) this.ending = { reason, detail };
    clearTimeout(this.hardStop);
    const e = this.ending ?? { reason: "shutdown" as const, detail };
    await this.socket.hangup(e.reason);
    this.finish(e.reason, e.detail);
  }

  /** Resolves after `count` more turnCompletes, or after timeoutMs. */
  private nextTurnComplete(timeoutMs: number, count = 1): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      let left = count;
      const waiter = (): void => {
        if (--left > 0) {
          this.turnWaiters.push(waiter);
          return;
        }
        clearTimeout(t);
        resolve();
      };
      this.turnWaiters.push(waiter);
    });
  }

  private armIdle(idleMs: number): void {
    const check = (): void => {
      if (this.ended || this.ending !== undefined) return;
      const now = performance.now();
      // The agent is still being heard, or a tool is still working on the caller's request: not silence.
      if (!this.playout.drained || this.tools.pending > 0) this.lastActivity = now;
      const quietFor = now - this.lastActivity;
      if (quietFor < idleMs) {
        this.idleTimer = setTimeout(check, idleMs - quietFor);
        return;
      }
      if (!this.idleNudged) {
        this.idleNudged = true;
        this.log.info({ idleMs }, "caller and agent silent: checking whether the caller is still there");
        this.leg.sendText(NUDGE_IDLE);
        this.lastActivity = now;
        this.idleTimer = setTimeout(check, idleMs);
        return;
      }
      this.endPolitely("idle", `silent for ${Math.round(idleMs / 1000)} s twice`, undefined);
    };
    this.idleTimer = setTimeout(check, idleMs);
  }

  // ---------- model events ----------

  private turnComplete(): void {
    clearTimeout(this.discardValve);
    const wasDiscarding = this.playout.discardingLateAudio;
    this.playout.onTurnComplete();
    if (!wasDiscarding) {
      const pb = this.playout.playback();
      this.transcript.agentTurnEnded(this.now(), Math.max(0, pb.queuedMs - this.d.settings.turnTailMs), false);
    }
    this.modelTurnOpen = false;
    // For the idle timer the agent speaks until the caller has heard the turn (tail included), not until its
    // last chunk arrived: model audio comes faster than real time.
    if (this.idleTimer !== undefined) void this.playout.whenDrained().then(() => (this.lastActivity = performance.now()));
    const w = this.turnWaiters;
    this.turnWaiters = [];
    for (const f of w) f();
  }

  /** Barge-in: drop queued audio and tell the media server to drop its own, in this event-loop turn. */
  private bargeIn(): void {
    const heard = this.playout.playback().heardMs;
    const cut = this.playout.speaking || !this.playout.drained;
    this.playout.onInterrupted();
    // The browser softphone always honours killAudio, whatever the media server setting says.
    if (this.d.settings.sendKillAudio || this.info.source === "browser") {
      this.socket.sendText(KILL_AUDIO);
      this.killsSent++;
    }
    if (cut) {
      this.bargeIns++;
      this.transcript.agentTurnEnded(this.now(), heard, true);
      this.emit({ type: "bargeIn", callId: this.callId, atMs: this.now(), heardMs: Math.round(heard) });
    }
    clearTimeout(this.discardValve);
    if (this.playout.discardingLateAudio) {
      this.discardValve = setTimeout(() => {
        if (this.ended || !this.playout.discardingLateAudio) return;
        this.limit.warn("discard_valve", { afterMs: DISCARD_VALVE_MS }, "interrupted turn never completed; accepting model audio again");
        this.playout.onTurnComplete();
      }, DISCARD_VALVE_MS);
    }
  }

  private turnAudible(turn: number, ms: number): void {
    this.firstAudio.push(ms);
    const speechEnd = this.speech.takeSpeechEnd();
    const responseMs = speechEnd < 0 ? undefined : performance.now() - speechEnd;
    this.emit({ type: "turn", callId: this.callId, index: turn, firstAudioMs: ms, responseMs, atMs: this.now() });
  }

  private addUsage(u: ModelUsage): void {
    for (const [k, n] of Object.entries(u.tokens)) this.usage.tokens[k] = (this.usage.tokens[k] ?? 0) + n;
    this.usage.totalTokens += u.totalTokens;
    this.emit({ type: "usage", callId: this.callId, usage: u });
  }

  /** The model leg is gone for good: hang the phone call up rather than leave the caller on dead air. */
  private async modelFailed(reason: string, code: number): Promise<void> {
    if (this.ended) return;
    this.log.error({ reason, code }, "model session failed; ending the call");
    this.ending = { reason: "model_failed", detail: `${code} ${reason}`.trim() };
    await this.hangup();
  }

  private finish(reason: EndReason, detail: string): void {
    if (this.ended) return;
    this.ended = true;
    const e = this.ending ?? { reason, detail };
    for (const t of [this.discardValve, this.maxTimer, this.idleTimer, this.hardStop]) clearTimeout(t);
    this.stall.stop();
    this.tools.abortAll();
    const pb = this.playout.playback();
    this.transcript.close(this.now(), pb.heardMs);
    void this.leg.close();
    const audio = this.playout.stats();
    const model = this.leg.stats();
    this.log.info(
      { reason: e.reason, detail: e.detail, audio, model, killAudioSent: this.killsSent, modelStalls: this.stall.stalls, suppressedLogs: this.limit.suppressed() },
      "call ended",
    );
    this.playout.dispose(); // also leaves the pacer
    const fa = [...this.firstAudio].sort((a, b) => a - b);
    // Discarded late audio is counted at the model's rate; Live speaks at 24 kHz (docs/gemini-live.md#audio).
    const ms = (bytes: number, rate: number) => (bytes / 2 / rate) * 1000;
    this.emit({
      type: "ended",
      callId: this.callId,
      reason: e.reason,
      detail: e.detail,
      at: Date.now(),
      durationMs: Math.round(this.now()),
      agentTurns: audio.turns,
      bargeIns: this.bargeIns,
      firstAudioMs: fa.length === 0 ? undefined : { p50: fa[Math.floor((fa.length - 1) / 2)]!, max: fa[fa.length - 1]! },
      audio: {
        framesIn: this.framesIn,
        framesOut: audio.framesOut,
        underrunMs: Math.round(audio.underrunMs),
        discardedMs: Math.round(ms(audio.discardedBytes, 24000)),
        droppedMs: Math.round(audio.lostMs),
        overflowMs: Math.round(ms(audio.overflowBytes, 24000)),
      },
      model,
      usage: this.usage,
    });
    this.d.onEnd(this);
  }

  private now(): number {
    return performance.now() - this.t0;
  }

  private emit(e: CallEvent): void {
    this.hub.emit(e);
  }
}
