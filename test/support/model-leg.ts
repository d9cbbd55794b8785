// A scripted ModelLeg for testing a Call without a model provider: it records what the call sends (audio bytes,
// texts, tool results, resumes) and lets the test say what the model does (audio, turn signals, transcripts,
// tool calls, a failure), synchronously, through the same ModelLegEvents a real leg would fire.
import type { Grounding, ModelUsage } from "../../src/call/data.ts";
import type { ModelLeg, ModelLegEvents, ToolCallRequest } from "../../src/call/model-leg.ts";

export class ScriptedLeg implements ModelLeg {
  readonly inputRate: number;
  readonly outputRate: number;
  /** Caller audio received, in order (copies: the call may reuse its buffer). */
  readonly audio: Uint8Array[] = [];
  readonly texts: string[] = [];
  readonly toolResults: Array<{ id: string; name: string; response: Record<string, unknown> }> = [];
  readonly resumes: string[] = [];
  closed = false;
  started = false;
  /** What resume() answers (false: the leg cannot resume). */
  canResume = true;
  private events: ModelLegEvents | undefined;

  constructor(o: { inputRate?: number; outputRate?: number } = {}) {
    this.inputRate = o.inputRate ?? 16000;
    this.outputRate = o.outputRate ?? 24000;
  }

  start(): Promise<void> {
    this.started = true;
    return Promise.resolve();
  }

  attach(events: ModelLegEvents): void {
    this.events = events;
  }

  sendAudio(pcm: Uint8Array): void {
    this.audio.push(new Uint8Array(pcm));
  }

  sendToolResult(id: string, name: string, response: Record<string, unknown>): void {
    this.toolResults.push({ id, name, response });
  }

  sendText(text: string): void {
    this.texts.push(text);
  }

  resume(reason: string): boolean {
    this.resumes.push(reason);
    return this.canResume;
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  stats(): Record<string, number> {
    return { audioChunksIn: this.audio.length, texts: this.texts.length };
  }

  /** Caller audio bytes received so far. */
  get audioBytes(): number {
    return this.audio.reduce((n, a) => n + a.length, 0);
  }

  // ---------- the model's side ----------

  private get on(): ModelLegEvents {
    if (this.events === undefined) throw new Error("no call attached to the leg");
    return this.events;
  }

  /** `ms` of a 440 Hz tone at the leg's output rate. */
  speak(ms: number, amp = 8000): void {
    const n = Math.round((this.outputRate * ms) / 1000);
    const pcm = Buffer.alloc(n * 2);
    for (let i = 0; i < n; i++) pcm.writeInt16LE(Math.round(amp * Math.sin((2 * Math.PI * 440 * i) / this.outputRate)), i * 2);
    this.on.audio(pcm, this.outputRate);
  }

  /** The model says exactly these samples (S16LE mono at the leg's output rate). */
  play(pcm: Uint8Array): void {
    this.on.audio(pcm, this.outputRate);
  }

  said(text: string): void {
    this.on.outputTranscription(text, false);
  }

  heard(text: string, finished = true): void {
    this.on.inputTranscription(text, finished);
  }

  interrupted(): void {
    this.on.interrupted();
  }

  generationComplete(): void {
    this.on.generationComplete();
  }

  /** `reason` as a provider gives it; `rejected` marks a refused or broken turn (see ModelLegEvents). */
  turnComplete(reason?: string, rejected = false): void {
    this.on.turnComplete(reason, rejected);
  }

  grounding(g: Grounding): void {
    this.on.grounding(g);
  }

  toolCall(call: ToolCallRequest): void {
    this.on.toolCall(call);
  }

  usage(u: ModelUsage): void {
    this.on.usage(u);
  }

  fail(reason: string, code: number): void {
    this.on.failed(reason, code);
  }
}
