// Turns what a Live socket says (serverContent, toolCall, toolCallCancellation, usageMetadata) into the call
// layer's ModelLegEvents. Stateless apart from the log-only transcript (the base64 scratch buffer is shared).
// Resumption and goAway are connection matters and stay in session.ts.
import type { Grounding, ModelUsage } from "../call/data.ts";
import type { ModelLegEvents } from "../call/model-leg.ts";
import type { Logger } from "../log.ts";
import { mimeRate, type ServerContent, type ServerMessage } from "./protocol.ts";
import type { LiveCounters } from "./stats.ts";

/** usageMetadata → tokens by "direction:MODALITY". Fields and detail lists: docs/gemini-live.md#usage. */
export function toModelUsage(u: Record<string, unknown>): ModelUsage {
  const tokens: Record<string, number> = {};
  const add = (key: string, n: unknown) => {
    if (typeof n === "number" && Number.isFinite(n) && n > 0) tokens[key] = (tokens[key] ?? 0) + n;
  };
  const details = (field: string, direction: string): boolean => {
    const list = u[field];
    if (!Array.isArray(list) || list.length === 0) return false;
    for (const d of list as Array<{ modality?: unknown; tokenCount?: unknown }>) {
      add(`${direction}:${typeof d.modality === "string" ? d.modality : "UNKNOWN"}`, d.tokenCount);
    }
    return true;
  };
  if (!details("promptTokensDetails", "input")) add("input:UNKNOWN", u.promptTokenCount);
  if (!details("responseTokensDetails", "output") && !details("candidatesTokensDetails", "output")) {
    add("output:UNKNOWN", u.responseTokenCount ?? u.candidatesTokenCount);
  }
  add("output:THOUGHTS", u.thoughtsTokenCount);
  add("input:TOOL_USE", u.toolUsePromptTokenCount);
  const total = typeof u.totalTokenCount === "number" ? u.totalTokenCount : Object.values(tokens).reduce((a, b) => a + b, 0);
  return { tokens, totalTokens: total };
}

/** turnCompleteReason values that mean the turn was refused or broken, not finished (js-genai TurnCompleteReason). */
const REJECTED_REASONS: ReadonlySet<string> = new Set(["RESPONSE_REJECTED", "MALFORMED_FUNCTION_CALL"]);

/** groundingMetadata (webSearchQueries, groundingChunks[].web) → the call layer's Grounding; raw kept whole. */
export function toGrounding(g: Record<string, unknown>): Grounding {
  const queries = Array.isArray(g.webSearchQueries) ? g.webSearchQueries.filter((q): q is string => typeof q === "string") : [];
  const sources: Grounding["sources"] = [];
  for (const c of Array.isArray(g.groundingChunks) ? (g.groundingChunks as unknown[]) : []) {
    const web = isObject(c) && isObject(c.web) ? c.web : undefined;
    if (web === undefined || typeof web.uri !== "string") continue;
    sources.push({ uri: web.uri, title: typeof web.title === "string" ? web.title : null });
  }
  return { queries, sources, raw: [g] };
}

/** Model audio is decoded here and consumed (resampled into the call's queue) before audio() returns, so one
 *  buffer serves every session: it stays in cache, and idle calls hold none. */
let scratch = new Uint8Array(32 * 1024);

export class ServerDecoder {
  private outText = "";
  events: ModelLegEvents | undefined;

  constructor(
    private readonly log: Logger,
    private readonly counters: LiveCounters,
  ) {}

  /** Every field is handled; 3.x bundles several in one message. Order: audio, transcripts, turn signals, tools, usage. */
  handle(msg: ServerMessage): void {
    if (msg.serverContent !== undefined) this.content(msg.serverContent);
    const calls = msg.toolCall?.functionCalls;
    if (calls !== undefined) {
      for (const c of calls) {
        this.counters.toolCalls++;
        if (c.id === undefined || c.id === "") {
          this.log.warn({ name: c.name }, "live: toolCall without id, cannot answer");
          continue;
        }
        const call = { id: c.id, name: c.name ?? "", args: isObject(c.args) ? c.args : {} };
        this.log.info({ id: call.id, name: call.name }, "live: tool call");
        this.safe(() => this.events?.toolCall(call));
      }
    }
    const cancelled = msg.toolCallCancellation?.ids;
    if (cancelled !== undefined && cancelled.length > 0) {
      this.counters.toolCancellations += cancelled.length;
      this.safe(() => this.events?.toolCallCancelled(cancelled));
    }
    if (msg.usageMetadata !== undefined) {
      const u = msg.usageMetadata;
      this.log.debug({ usage: u }, "live: usage");
      this.safe(() => this.events?.usage(toModelUsage(u)));
    }
  }

  private content(sc: ServerContent): void {
    const ev = this.events;
    const parts = sc.modelTurn?.parts;
    if (parts !== undefined) {
      for (const p of parts) {
        const data = p.inlineData?.data;
        if (data !== undefined && data.length > 0) this.audio(data, mimeRate(p.inlineData?.mimeType));
        if (p.text !== undefined) this.log.debug({ thought: p.thought === true, text: p.text }, "live: model text");
      }
    }
    const inT = sc.inputTranscription;
    if (inT !== undefined && (inT.text !== undefined || inT.finished === true)) {
      const text = inT.text ?? "";
      const finished = inT.finished === true;
      this.log.debug({ text, finished }, "live: caller transcript");
      this.safe(() => ev?.inputTranscription(text, finished));
    }
    const outT = sc.outputTranscription;
    if (outT !== undefined && (outT.text !== undefined || outT.finished === true)) {
      const text = outT.text ?? "";
      const finished = outT.finished === true;
      this.outText += text;
      this.log.debug({ text, finished }, "live: agent transcript");
      this.safe(() => ev?.outputTranscription(text, finished));
    }
    if (sc.interrupted === true) {
      this.log.debug({ heardSoFar: this.outText }, "live: interrupted");
      this.outText = "";
      this.safe(() => ev?.interrupted());
    }
    const grounding = sc.groundingMetadata;
    if (isObject(grounding)) {
      this.counters.groundings++;
      this.safe(() => ev?.grounding(toGrounding(grounding)));
    }
    if (sc.generationComplete === true) this.safe(() => ev?.generationComplete());
    if (sc.turnComplete === true) {
      if (this.outText !== "") this.log.debug({ text: this.outText }, "live: agent said");
      this.outText = "";
      const reason = sc.turnCompleteReason;
      const rejected = reason !== undefined && REJECTED_REASONS.has(reason);
      if (rejected) this.counters.rejectedTurns++;
      this.safe(() => ev?.turnComplete(reason, rejected));
    }
  }

  private audio(b64: string, rate: number): void {
    const need = Math.ceil(b64.length / 4) * 3;
    if (need > scratch.byteLength) scratch = new Uint8Array(Math.max(need, scratch.byteLength * 2));
    let written: number;
    try {
      written = scratch.setFromBase64(b64).written;
    } catch {
      this.counters.badAudio++;
      return;
    }
    this.counters.audioMessages++;
    this.counters.audioBytesReceived += written;
    // Not through safe(): a closure per audio chunk is an allocation on the downlink's path.
    try {
      this.events?.audio(scratch.subarray(0, written), rate);
    } catch (err) {
      this.threw(err);
    }
  }

  /** A throwing event handler must not break the receive path of the socket. */
  safe(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.threw(err);
    }
  }

  private threw(err: unknown): void {
    this.log.error({ err: err instanceof Error ? err.message : String(err) }, "live: event handler threw");
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
