// One phone call: where the legs meet.
//   caller frame → Uplink (8→16 kHz when needed) → LiveSession.sendAudio → Gemini
//   Gemini audio → Playout (resample 24→call rate, queue) → Pacer tick → CallSocket.sendAudio → caller
import { Playout } from "../audio/playout.ts";
import type { Pacer } from "../audio/pacer.ts";
import { Uplink } from "../audio/uplink.ts";
import type { Config } from "../config.ts";
import type { LiveSession } from "../gemini/index.ts";
import type { Logger } from "../log.ts";
import { hangupCall } from "../telephony/hangup.ts";
import type { CallHandler, CallSocket } from "../telephony/types.ts";

/** mod_audio_fork (jambonz build) drops its buffered playout on this; others ignore it (sautikit-stream.md §2.4). */
export const KILL_AUDIO = '{"type":"killAudio"}';
/** Gemini follows `interrupted` with `turnComplete` within moments. Phantom interruptions without one are reported
 *  (gemini-live.md §7.2); past this, audio is taken as a new answer rather than late audio of the old one. */
export const DISCARD_VALVE_MS = 1500;

export class Call implements CallHandler {
  private readonly playout: Playout;
  private readonly uplink: Uplink;
  private ended = false;
  private killsSent = 0;
  private discardValve: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly config: Config,
    private readonly socket: CallSocket,
    private readonly session: LiveSession,
    pacer: Pacer,
    private readonly log: Logger,
    private readonly onEnd: () => void,
  ) {
    this.uplink = new Uplink(config.callSampleRate);
    this.playout = new Playout({ outRate: config.playbackRate, leadMs: config.playoutLeadMs, tailMs: config.turnTailMs });
    this.playout.attach({ send: (f) => socket.sendAudio(f), cork: (fn) => socket.cork(fn) });
    pacer.add(this.playout);
    session.attach({
      audio: (pcm, rate) => this.playout.pushModelAudio(pcm, rate),
      interrupted: () => this.bargeIn(),
      generationComplete: () => this.playout.onGenerationComplete(),
      turnComplete: () => {
        clearTimeout(this.discardValve);
        this.playout.onTurnComplete();
      },
      inputTranscription: () => {},
      outputTranscription: () => {},
      usage: () => {},
      failed: (reason, code) => void this.modelFailed(reason, code),
    });
  }

  onMetadata(): void {}

  onAudio(pcm: Uint8Array): void {
    if (!this.ended) this.session.sendAudio(this.uplink.process(pcm));
  }

  onText(): void {}

  onDrain(): void {
    this.playout.onDrain();
  }

  onClose(code: number, reason: string): void {
    this.finish(`caller socket closed (${code}${reason ? " " + reason : ""})`);
  }

  /** Barge-in: drop queued audio and tell the media server to drop its own, in this event-loop turn. */
  private bargeIn(): void {
    this.playout.onInterrupted();
    if (this.config.sendKillAudio) {
      this.socket.sendText(KILL_AUDIO);
      this.killsSent++;
    }
    clearTimeout(this.discardValve);
    if (this.playout.discardingLateAudio) {
      this.discardValve = setTimeout(() => {
        if (this.ended || !this.playout.discardingLateAudio) return;
        this.log.warn({ afterMs: DISCARD_VALVE_MS }, "interrupted turn never completed; accepting model audio again");
        this.playout.onTurnComplete();
      }, DISCARD_VALVE_MS);
    }
  }

  /** The model leg is gone for good: hang the phone call up rather than leave the caller on dead air. */
  private async modelFailed(reason: string, code: number): Promise<void> {
    if (this.ended) return;
    this.log.error({ reason, code }, "model session failed; ending the call");
    if (this.config.sautikitApiKey) {
      await hangupCall({ apiUrl: this.config.sautikitApiUrl, apiKey: this.config.sautikitApiKey }, this.socket.callId, this.log);
    } else {
      this.log.warn("SAUTIKIT_API_KEY is not set: closing the socket only; the caller may hear silence until they hang up");
    }
    this.socket.close(1011, "model session failed");
    this.finish("model session failed");
  }

  private finish(why: string): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.discardValve);
    void this.session.close();
    this.log.info({ why, audio: this.playout.stats(), model: this.session.stats(), killAudioSent: this.killsSent }, "call ended");
    this.playout.dispose(); // also leaves the pacer
    this.onEnd();
  }
}
