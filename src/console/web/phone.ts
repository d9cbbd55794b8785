// The softphone: one call from this browser to an agent, over the same protocol Sautikit's media server speaks
// to the relay (docs/sautikit-stream.md#audio-framing): a WebSocket with subprotocol audio.drachtio.org, one
// metadata text frame, then binary S16LE mono PCM both ways; {"type":"killAudio"} empties our playback buffer.
import { api } from "./api.ts";
import { peakS16 } from "./dsp.ts";
import type { SoftphoneTicket } from "./softphone-ticket.ts";
import { reasonText } from "./ui.ts";
import { CAPTURE, PLAYBACK, workletSource, type CaptureFrame, type PlaybackReport } from "./worklet.ts";

export const SUBPROTOCOL = "audio.drachtio.org";
const KILL_AUDIO = "killAudio";

export type PhoneState = "idle" | "starting" | "in-call" | "ended" | "failed";

/** Counters the page shows, and tests read as window.__sauti. */
export interface PhoneStats {
  state: PhoneState;
  callId: string | undefined;
  agent: string | undefined;
  /** Why the last call ended or failed, for people. */
  detail: string;
  contextRate: number;
  inputRate: number;
  outputRate: number;
  txBytes: number;
  txFrames: number;
  /** Microphone level (0..1), decaying. */
  txLevel: number;
  rxBytes: number;
  rxFrames: number;
  /** Level of the agent's audio as received (0..1), decaying; rxPeak is the loudest frame so far. */
  rxLevel: number;
  rxPeak: number;
  playbackBufferedMs: number;
  playedMs: number;
  underruns: number;
  kills: number;
  flushes: number;
  lastFlush: { droppedMs: number; bufferedMs: number } | undefined;
  startedAt: number | undefined;
  closeCode: number | undefined;
  closeReason: string;
}

export function freshStats(): PhoneStats {
  return {
    state: "idle",
    callId: undefined,
    agent: undefined,
    detail: "",
    contextRate: 0,
    inputRate: 0,
    outputRate: 0,
    txBytes: 0,
    txFrames: 0,
    txLevel: 0,
    rxBytes: 0,
    rxFrames: 0,
    rxLevel: 0,
    rxPeak: 0,
    playbackBufferedMs: 0,
    playedMs: 0,
    underruns: 0,
    kills: 0,
    flushes: 0,
    lastFlush: undefined,
    startedAt: undefined,
    closeCode: undefined,
    closeReason: "",
  };
}

const decay = (level: number, peak: number) => Math.max(peak, level * 0.85);

export class Softphone {
  stats: PhoneStats = freshStats();
  private ctx: AudioContext | undefined;
  private mic: MediaStream | undefined;
  private ws: WebSocket | undefined;
  private nodes: AudioNode[] = [];
  private hangingUp = false;
  /** Bumped by every call() and hangup(): a call still starting when it changes gives up what it holds. */
  private attempt = 0;

  constructor(private readonly changed: () => void) {}

  /** Starts a call; must run from a user gesture (the click), or the browser keeps the audio context suspended. */
  async call(agent: string): Promise<void> {
    if (this.stats.state === "starting" || this.stats.state === "in-call") return;
    const mine = ++this.attempt;
    const stale = () => mine !== this.attempt;
    // Keep one stats object per page so window.__sauti stays the same reference.
    Object.assign(this.stats, freshStats(), { state: "starting", agent });
    this.hangingUp = false;
    this.changed();
    let ctx: AudioContext | undefined;
    let mic: MediaStream | undefined;
    const release = () => {
      for (const t of mic?.getTracks() ?? []) t.stop();
      void ctx?.close().catch(() => {});
    };
    try {
      if (!window.isSecureContext || navigator.mediaDevices === undefined || typeof AudioWorkletNode === "undefined") {
        throw new Error("the microphone needs a secure page: open the console over https, or on this machine as http://127.0.0.1");
      }
      ctx = new AudioContext({ latencyHint: "interactive" });
      // Still inside the click: some mobile browsers start a context only from the gesture itself.
      void ctx.resume();
      this.stats.contextRate = ctx.sampleRate;
      mic = await navigator.mediaDevices.getUserMedia({
        audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
      });
      if (stale()) return release();
      const src = URL.createObjectURL(new Blob([workletSource()], { type: "text/javascript" }));
      try {
        await ctx.audioWorklet.addModule(src);
      } finally {
        URL.revokeObjectURL(src);
      }
      if (stale()) return release();
      // The microphone is ours before the ticket is minted: the socket URL is good for 60 s only.
      const minted = await api<SoftphoneTicket & { error?: string }>("/api/softphone", { method: "POST", body: { agent } });
      if (stale()) return release();
      if (minted.status !== 201) throw new Error(minted.body.error ?? `the relay refused the call (HTTP ${minted.status})`);
      const m = minted.body;
      Object.assign(this.stats, { callId: m.callId, agent: m.agent, inputRate: m.inputRate, outputRate: m.outputRate });
      await ctx.resume();
      if (stale()) return release();
      this.ctx = ctx;
      this.mic = mic;
      this.connect(ctx, mic, m);
    } catch (err) {
      release();
      if (!stale()) this.teardown("failed", err instanceof Error ? err.message : String(err));
      throw err;
    }
  }

  hangup(): void {
    this.attempt++;
    this.hangingUp = true;
    if (this.ws !== undefined && this.ws.readyState <= WebSocket.OPEN) this.ws.close(1000, "caller hung up");
    else this.teardown("ended", "you hung up");
  }

  private connect(ctx: AudioContext, mic: MediaStream, m: SoftphoneTicket): void {
    const url = new URL(m.url, location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const ws = (this.ws = new WebSocket(url, SUBPROTOCOL));
    ws.binaryType = "arraybuffer";

    const playback = new AudioWorkletNode(ctx, PLAYBACK, {
      numberOfInputs: 0,
      numberOfOutputs: 1,
      outputChannelCount: [1],
      processorOptions: { inRate: m.outputRate },
    });
    playback.connect(ctx.destination);
    playback.port.onmessage = (e: MessageEvent<PlaybackReport>) => this.onPlayback(e.data);

    const source = ctx.createMediaStreamSource(mic);
    const capture = new AudioWorkletNode(ctx, CAPTURE, {
      numberOfInputs: 1,
      numberOfOutputs: 1,
      channelCount: 1,
      channelCountMode: "explicit",
      channelInterpretation: "speakers",
      processorOptions: { outRate: m.inputRate },
    });
    // Rendering is pulled from the destination: a muted path keeps the capture processor running.
    const mute = new GainNode(ctx, { gain: 0 });
    source.connect(capture).connect(mute).connect(ctx.destination);
    this.nodes = [playback, source, capture, mute];

    capture.port.onmessage = (e: MessageEvent<CaptureFrame>) => {
      const s = this.stats;
      s.txLevel = decay(s.txLevel, e.data.peak);
      if (ws.readyState !== WebSocket.OPEN) return;
      ws.send(e.data.pcm);
      s.txBytes += e.data.pcm.byteLength;
      s.txFrames++;
    };

    ws.onopen = () => {
      ws.send(JSON.stringify({ callId: m.callId, source: "browser", sampleRate: m.inputRate, channels: 1, encoding: "L16" }));
      Object.assign(this.stats, { state: "in-call", startedAt: Date.now() });
      this.changed();
    };
    ws.onmessage = (e: MessageEvent<ArrayBuffer | string>) => {
      const s = this.stats;
      if (typeof e.data === "string") {
        let type: unknown;
        try {
          type = (JSON.parse(e.data) as { type?: unknown }).type;
        } catch {
          return;
        }
        if (type === KILL_AUDIO) {
          s.kills++;
          playback.port.postMessage({ type: "flush" });
        }
        return;
      }
      const pcm = new Int16Array(e.data, 0, e.data.byteLength >> 1);
      const peak = peakS16(pcm);
      s.rxBytes += e.data.byteLength;
      s.rxFrames++;
      s.rxLevel = decay(s.rxLevel, peak);
      if (peak > s.rxPeak) s.rxPeak = peak;
      playback.port.postMessage(e.data, [e.data]);
    };
    ws.onclose = (e) => {
      Object.assign(this.stats, { closeCode: e.code, closeReason: e.reason });
      if (this.hangingUp) return this.teardown("ended", "you hung up");
      // The relay closes a browser call with the end reason (end_call, time limit, silence...).
      if (e.code === 1000) return this.teardown("ended", e.reason ? reasonText(e.reason) : "closed by the relay");
      this.teardown(this.stats.state === "in-call" ? "ended" : "failed", `the connection closed (${e.code}${e.reason ? " " + e.reason : ""})`);
    };
  }

  private onPlayback(r: PlaybackReport): void {
    const s = this.stats;
    if (r.type === "flushed") {
      s.flushes++;
      s.lastFlush = { droppedMs: r.droppedMs, bufferedMs: r.bufferedMs };
      s.playbackBufferedMs = r.bufferedMs;
      return;
    }
    s.playbackBufferedMs = r.bufferedMs;
    s.playedMs = r.playedMs;
    s.underruns = r.underruns;
  }

  private teardown(state: PhoneState, detail: string): void {
    for (const n of this.nodes) n.disconnect();
    this.nodes = [];
    for (const t of this.mic?.getTracks() ?? []) t.stop();
    this.mic = undefined;
    void this.ctx?.close().catch(() => {});
    this.ctx = undefined;
    const ws = this.ws;
    this.ws = undefined;
    if (ws !== undefined) {
      ws.onclose = ws.onmessage = null;
      if (ws.readyState <= WebSocket.OPEN) ws.close(1000, "caller hung up");
    }
    Object.assign(this.stats, { state, detail, txLevel: 0, rxLevel: 0, playbackBufferedMs: 0 });
    this.changed();
  }
}
