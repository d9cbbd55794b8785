// The end-of-call summary: what the call's ended event carries, built once from the call's tallies, its playout's
// counters and its model leg's. Observers (records, metrics, the console) read it; nothing here runs per frame.
import type { PlayoutStats } from "../audio/playout.ts";
import type { AudioSummary, FirstAudioSummary, ModelUsage } from "./data.ts";
import type { Ending } from "./ending.ts";
import type { CallEndedEvent } from "./events.ts";

/** What a call counts as it goes, at turn boundaries (never per frame). */
export class CallTally {
  bargeIns = 0;
  /** Model turns ended as refused or broken with no audio (Call.emptyTurn). */
  rejectedTurns = 0;
  readonly firstAudioMs: number[] = [];
  readonly usage: ModelUsage = { tokens: {}, totalTokens: 0 };

  addUsage(u: ModelUsage): void {
    for (const [k, n] of Object.entries(u.tokens)) this.usage.tokens[k] = (this.usage.tokens[k] ?? 0) + n;
    this.usage.totalTokens += u.totalTokens;
  }
}

/** Median and maximum; undefined for no samples. */
export function firstAudioSummary(samples: readonly number[]): FirstAudioSummary | undefined {
  if (samples.length === 0) return undefined;
  const s = [...samples].sort((a, b) => a - b);
  return { p50: s[Math.floor((s.length - 1) / 2)]!, max: s[s.length - 1]! };
}

/** The playout counts dropped model audio in bytes at the model's rate; observers want ms. */
export function audioSummary(framesIn: number, p: PlayoutStats, modelRate: number): AudioSummary {
  const ms = (bytes: number) => Math.round((bytes / 2 / modelRate) * 1000);
  return {
    framesIn,
    framesOut: p.framesOut,
    underrunMs: Math.round(p.underrunMs),
    discardedMs: ms(p.discardedBytes),
    droppedMs: Math.round(p.lostMs),
    overflowMs: ms(p.overflowBytes),
  };
}

export interface SummaryInput {
  callId: string;
  ending: Ending;
  durationMs: number;
  framesIn: number;
  tally: CallTally;
  playout: PlayoutStats;
  /** The model leg's own counters, and the rate of the audio it sent. */
  model: Record<string, number>;
  modelRate: number;
}

export function endedEvent(i: SummaryInput): CallEndedEvent {
  return {
    type: "ended",
    callId: i.callId,
    reason: i.ending.reason,
    detail: i.ending.detail,
    at: Date.now(),
    durationMs: Math.round(i.durationMs),
    agentTurns: i.playout.turns,
    bargeIns: i.tally.bargeIns,
    rejectedTurns: i.tally.rejectedTurns,
    firstAudioMs: firstAudioSummary(i.tally.firstAudioMs),
    audio: audioSummary(i.framesIn, i.playout, i.modelRate),
    model: i.model,
    usage: i.tally.usage,
  };
}
