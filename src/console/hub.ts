// What the console shows, built from call events (src/call/events.ts) and nothing else: calls in progress with
// their transcript so far, a bounded ring of recently ended calls (the history when no records store answers
// /api/calls), and live updates fanned out to the console's viewers. Audio levels are read from each call's
// PeakMeters a few times a second, and only while someone is watching; nothing here runs per audio frame.
import type { EndReason, ToolCallEntry, Utterance } from "../call/data.ts";
import type { CallEvent, TranscriptEvent } from "../call/events.ts";
import type { CallManager } from "../call/manager.ts";
import { showParties } from "../phone-numbers.ts";
import type { CallSummary } from "../records/record.ts";

/** One call as the console lists it: the records API's summary (GET /api/calls), so the page reads one shape
 *  from either source, plus how the call ended. The hub only sees the audio stream, so a call starts when it is
 *  answered (startedAt = answeredAt). Unknown yet: null. */
export interface ConsoleCall extends CallSummary {
  endDetail: string | null;
}

export interface CallDetail extends ConsoleCall {
  live: boolean;
  transcript: Utterance[];
  /** Utterances still being spoken (live calls only). */
  partial: { caller?: string; agent?: string };
  toolCalls: ToolCallEntry[];
}

/** A console client: receives named events with JSON payloads. `full` viewers see whole phone numbers. */
export interface Viewer {
  full: boolean;
  /** The call whose transcript and tool calls this viewer follows. */
  watch: string | undefined;
  send(event: string, json: string): void;
}

export interface HubOptions {
  /** Ended calls kept for the history view. */
  recentMax?: number;
  /** Transcript lines kept per call (the oldest go first). */
  transcriptMax?: number;
  levelsEveryMs?: number;
}

interface State {
  summary: ConsoleCall;
  startedAtMs: number;
  transcript: Utterance[];
  partial: { caller?: string; agent?: string };
  toolCalls: ToolCallEntry[];
}

/** What a viewer sees of a call's numbers (the rule: src/phone-numbers.ts). */
function masked<T extends ConsoleCall>(s: T, full: boolean): T {
  return showParties(s, full);
}

const r3 = (x: number) => Math.round(x * 1000) / 1000;

export class ConsoleHub {
  private readonly live = new Map<string, State>();
  /** Oldest first. */
  private readonly recent: State[] = [];
  private readonly viewers = new Set<Viewer>();
  private readonly recentMax: number;
  private readonly transcriptMax: number;
  private readonly levelsEveryMs: number;
  private levelsTimer: ReturnType<typeof setInterval> | undefined;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly calls: CallManager,
    o: HubOptions = {},
  ) {
    this.recentMax = o.recentMax ?? 50;
    this.transcriptMax = o.transcriptMax ?? 500;
    this.levelsEveryMs = o.levelsEveryMs ?? 250;
    this.unsubscribe = calls.events.subscribe((e) => this.onEvent(e));
  }

  // ---------- reads ----------

  liveCalls(full: boolean): Array<ConsoleCall & { durationMs: number }> {
    const now = Date.now();
    return [...this.live.values()].map((s) => ({ ...masked(s.summary, full), durationMs: now - s.startedAtMs }));
  }

  /** Ended calls, newest first; `before` is an endedAt in Unix ms (the previous page's `next`). */
  recentCalls(full: boolean, limit: number, before?: number): { calls: ConsoleCall[]; next: string | null } {
    const out: ConsoleCall[] = [];
    let next: string | null = null;
    for (let i = this.recent.length - 1; i >= 0; i--) {
      const s = this.recent[i]!;
      const ended = Date.parse(s.summary.endedAt ?? "");
      if (before !== undefined && !(ended < before)) continue;
      if (out.length === limit) {
        next = String(Date.parse(out[out.length - 1]!.endedAt ?? ""));
        break;
      }
      out.push(masked(s.summary, full));
    }
    return { calls: out, next };
  }

  detail(id: string, full: boolean): CallDetail | undefined {
    const live = this.live.get(id);
    const s = live ?? this.recent.find((r) => r.summary.id === id);
    if (s === undefined) return undefined;
    const summary = live ? { ...s.summary, durationMs: Date.now() - s.startedAtMs } : s.summary;
    return {
      ...masked(summary, full),
      live: live !== undefined,
      transcript: [...s.transcript],
      partial: { ...s.partial },
      toolCalls: s.toolCalls.map((t) => ({ ...t })),
    };
  }

  // ---------- viewers ----------

  /** Adds a viewer and sends it the current state; returns its unsubscribe. */
  watch(v: Viewer): () => void {
    this.viewers.add(v);
    const snapshot = { live: this.liveCalls(v.full), call: v.watch === undefined ? undefined : this.detail(v.watch, v.full) };
    v.send("snapshot", JSON.stringify(snapshot));
    if (this.levelsTimer === undefined) {
      this.levelsTimer = setInterval(() => this.sendLevels(), this.levelsEveryMs);
      this.levelsTimer.unref?.();
    }
    return () => {
      this.viewers.delete(v);
      if (this.viewers.size === 0) this.stopLevels();
    };
  }

  get viewerCount(): number {
    return this.viewers.size;
  }

  stop(): void {
    this.unsubscribe();
    this.stopLevels();
    this.viewers.clear();
  }

  private stopLevels(): void {
    clearInterval(this.levelsTimer);
    this.levelsTimer = undefined;
  }

  /** Each read resets the calls' meters, so one read serves every viewer. */
  private sendLevels(): void {
    if (this.live.size === 0) return;
    const now = Date.now();
    const levels = this.calls.calls().map((c) => {
      const s = this.live.get(c.callId);
      return { id: c.callId, in: r3(c.levels.caller.take()), out: r3(c.levels.agent.take()), durationMs: s ? now - s.startedAtMs : 0 };
    });
    this.broadcast("levels", () => JSON.stringify({ calls: levels }));
  }

  /** Sends to every viewer; the payload is built at most once per masking mode. */
  private broadcast(event: string, build: (full: boolean) => string, onlyWatching?: string): void {
    if (this.viewers.size === 0) return; // the usual case: nothing to build
    const cache: { [k: string]: string } = {};
    for (const v of this.viewers) {
      if (onlyWatching !== undefined && v.watch !== onlyWatching) continue;
      const key = v.full ? "full" : "masked";
      const json = (cache[key] ??= build(v.full));
      v.send(event, json);
    }
  }

  // ---------- call events ----------

  private onEvent(e: CallEvent): void {
    if (e.type === "started") return this.started(e.callId, e);
    const s = this.live.get(e.callId);
    if (s === undefined) return;
    switch (e.type) {
      case "transcript":
        return this.transcript(s, e);
      case "toolCall": {
        const t: ToolCallEntry = { id: e.id, name: e.name, args: e.args, atMs: Math.round(e.atMs), outcome: null, durationMs: null, result: null };
        s.toolCalls.push(t);
        return this.broadcast("tool", () => JSON.stringify({ callId: e.callId, tool: t }), e.callId);
      }
      case "toolResult": {
        const t = s.toolCalls.find((x) => x.id === e.id);
        if (t === undefined) return;
        t.outcome = e.outcome;
        t.durationMs = Math.round(e.durationMs);
        t.result = e.result ?? null;
        return this.broadcast("tool", () => JSON.stringify({ callId: e.callId, tool: t }), e.callId);
      }
      case "ended":
        return this.ended(s, e.reason, e.detail, e.at, e.durationMs, e.agentTurns, e.bargeIns);
      default:
        return;
    }
  }

  private started(id: string, e: Extract<CallEvent, { type: "started" }>): void {
    const at = new Date(e.at).toISOString();
    const s: State = {
      summary: {
        id,
        agent: e.agent,
        caller: e.caller,
        callee: e.callee,
        source: e.source,
        direction: e.purpose?.direction ?? "inbound",
        attemptId: e.purpose?.attemptId ?? null,
        startedAt: at,
        answeredAt: at,
        endedAt: null,
        durationMs: null,
        endReason: null,
        agentTurns: null,
        bargeIns: null,
        endDetail: null,
      },
      startedAtMs: e.at,
      transcript: [],
      partial: {},
      toolCalls: [],
    };
    this.live.set(id, s);
    this.broadcast("started", (full) => JSON.stringify({ ...masked(s.summary, full), durationMs: 0 }));
  }

  private transcript(s: State, e: TranscriptEvent): void {
    if (e.final) {
      s.partial[e.role] = undefined;
      const { type: _t, callId: _c, final: _f, ...line } = e;
      s.transcript.push(line);
      if (s.transcript.length > this.transcriptMax) s.transcript.shift();
    } else {
      s.partial[e.role] = e.text;
    }
    this.broadcast("transcript", () => {
      const { type: _t, ...line } = e;
      return JSON.stringify(line);
    }, e.callId);
  }

  private ended(s: State, reason: EndReason, detail: string, at: number, durationMs: number, agentTurns: number, bargeIns: number): void {
    const id = s.summary.id;
    this.live.delete(id);
    s.partial = {};
    s.summary = { ...s.summary, endedAt: new Date(at).toISOString(), durationMs, endReason: reason, endDetail: detail, agentTurns, bargeIns };
    this.recent.push(s);
    if (this.recent.length > this.recentMax) this.recent.shift();
    this.broadcast("ended", (full) => JSON.stringify(masked(s.summary, full)));
  }
}
