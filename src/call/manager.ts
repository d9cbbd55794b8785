// Owns every call of this process: pre-warmed Live sessions keyed by call id, the one pacing clock, the tools.
import { Pacer } from "../audio/pacer.ts";
import type { Config } from "../config.ts";
import { LiveSession, ToolRegistry } from "../gemini/index.ts";
import type { Logger } from "../log.ts";
import type { CallHandler, CallSocket } from "../telephony/types.ts";
import { Call } from "./call.ts";

export type PrewarmResult = "ready" | "pending" | "failed" | "off";

interface Warm {
  session: LiveSession;
  idle: ReturnType<typeof setTimeout>;
  failed: boolean;
}

export interface Model {
  url: string;
  apiKey: string;
  /** "offline" when running against the in-process stand-in. */
  label: string;
}

export class CallManager {
  readonly pacer = new Pacer();
  readonly tools = new ToolRegistry();
  private readonly warm = new Map<string, Warm>();
  private readonly active = new Set<Call>();

  constructor(private readonly config: Config, private readonly model: Model, private readonly log: Logger) {}

  get activeCalls(): number {
    return this.active.size;
  }

  private newSession(log: Logger): LiveSession {
    const c = this.config;
    return new LiveSession({
      url: this.model.url,
      apiKey: this.model.apiKey,
      model: c.geminiModel,
      voice: c.geminiVoice,
      prompt: c.agentPrompt,
      greeting: c.agentGreeting,
      setupTimeoutMs: c.geminiSetupTimeoutMs,
      rotation: c.geminiRotation,
      maxReconnects: c.geminiMaxReconnects,
      tools: this.tools,
      log,
    });
  }

  /** Opens the call's Live session at webhook time so it is ready when the socket arrives (saves the handshake). */
  async prewarm(callId: string, log: Logger): Promise<PrewarmResult> {
    if (!this.config.prewarm) return "off";
    const session = this.newSession(log);
    const entry: Warm = {
      session,
      failed: false,
      idle: setTimeout(() => {
        if (this.warm.get(callId) !== entry) return;
        this.warm.delete(callId);
        log.warn({ idleMs: this.config.prewarmIdleMs }, "no audio socket came for the pre-warmed session; closing it");
        void session.close();
      }, this.config.prewarmIdleMs),
    };
    this.warm.set(callId, entry);
    const started = session.start().then(
      () => "ready" as const,
      (err: unknown) => {
        entry.failed = true;
        log.error({ err: String(err) }, "pre-warm: Live session could not be opened");
        return "failed" as const;
      },
    );
    const waited = await Promise.race([started, Bun.sleep(this.config.prewarmWaitMs).then(() => "pending" as const)]);
    if (waited === "failed") this.drop(callId);
    return waited;
  }

  private drop(callId: string): void {
    const e = this.warm.get(callId);
    if (!e) return;
    clearTimeout(e.idle);
    this.warm.delete(callId);
    void e.session.close();
  }

  /** Called when the call's audio socket opens. Uses the pre-warmed session, or opens one (restart, other instance). */
  startCall(socket: CallSocket, log: Logger): CallHandler {
    if (this.model.label === "offline") log.warn("OFFLINE MODE: this call talks to the local echo stand-in, not Gemini");
    let session: LiveSession;
    const w = this.warm.get(socket.callId);
    if (w && !w.failed) {
      clearTimeout(w.idle);
      this.warm.delete(socket.callId);
      session = w.session;
      log.info("using pre-warmed Live session");
    } else {
      if (w) this.drop(socket.callId);
      session = this.newSession(log);
      session.start().catch(() => {
        // failure reaches the call through the `failed` event
      });
    }
    const call: Call = new Call(this.config, socket, session, this.pacer, log, () => this.active.delete(call));
    this.active.add(call);
    return call;
  }

  async stop(): Promise<void> {
    for (const id of [...this.warm.keys()]) this.drop(id);
    this.pacer.stop();
  }
}
