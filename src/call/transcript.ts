// Transcription fragments → utterances. The model sends what the caller and the agent said in pieces, with no
// ordering guarantee against the audio (docs/gemini-live.md#transcripts); observers want whole utterances per turn.
// Caller: fragments until `finished` (or until the agent starts answering). Agent: fragments until the turn
// completes, or is cut by barge-in, in which case it holds only what was generated before the cut.
import type { Grounding, Role, Utterance } from "./data.ts";
import type { TranscriptEvent } from "./events.ts";

/**
 * Partial (not yet final) events at most this often per utterance. The model sends a fragment every few words or
 * with every audio chunk; the console's live line needs a few updates a second, and every event costs each observer
 * a call. The final event always carries the whole text.
 */
export const PARTIAL_EVERY_MS = 250;

interface Open {
  text: string;
  startMs: number;
  endMs: number;
  /** When the last partial event of this utterance went out. */
  partialAt: number;
  grounding?: Grounding;
}

/** One turn's grounding from several messages: each query and page once, every raw message kept. */
export function mergeGrounding(a: Grounding | undefined, b: Grounding): Grounding {
  if (a === undefined) return { queries: [...new Set(b.queries)], sources: uniqueSources(b.sources), raw: [...b.raw] };
  return { queries: [...new Set([...a.queries, ...b.queries])], sources: uniqueSources([...a.sources, ...b.sources]), raw: [...a.raw, ...b.raw] };
}

function uniqueSources(list: Grounding["sources"]): Grounding["sources"] {
  const seen = new Map<string, Grounding["sources"][number]>();
  for (const s of list) if (!seen.has(s.uri)) seen.set(s.uri, s);
  return [...seen.values()];
}

/** The final utterances a transcript keeps for saidSoFar(): the latest this many. */
export const SAID_MAX = 200;

export class TranscriptAggregator {
  private caller: Open | undefined;
  private agent: Open | undefined;
  /** Grounding that came before any of the agent's words: it belongs to the agent's next utterance. */
  private pendingGrounding: Grounding | undefined;
  private readonly said: Utterance[] = [];

  constructor(
    private readonly callId: string,
    private readonly emit: (e: TranscriptEvent) => void,
  ) {}

  /** The latest SAID_MAX final utterances, oldest first (what a handoff carries). */
  saidSoFar(): Utterance[] {
    return [...this.said];
  }

  callerFragment(text: string, finished: boolean, atMs: number): void {
    this.caller = this.add(this.caller, "caller", text, atMs);
    if (finished) this.closeCaller(atMs);
  }

  agentFragment(text: string, atMs: number): void {
    // The agent answering means the caller's turn is over, even if its `finished` never came.
    if (this.caller !== undefined) this.closeCaller(atMs);
    const opening = this.agent === undefined;
    this.agent = this.add(this.agent, "agent", text, atMs);
    if (opening && this.pendingGrounding !== undefined) {
      this.agent.grounding = mergeGrounding(this.agent.grounding, this.pendingGrounding);
      this.pendingGrounding = undefined;
    }
  }

  /** What a web search found, for the agent's utterance in progress, or its next one. */
  agentGrounding(g: Grounding): void {
    if (this.agent !== undefined) this.agent.grounding = mergeGrounding(this.agent.grounding, g);
    else this.pendingGrounding = mergeGrounding(this.pendingGrounding, g);
  }

  /** The agent's turn ended; `heardMs` is how much of its audio the caller heard. */
  agentTurnEnded(atMs: number, heardMs: number | undefined, interrupted: boolean): void {
    const a = this.agent;
    this.agent = undefined;
    if (a === undefined || a.text.trim() === "") return;
    this.final(this.event("agent", a, true, Math.max(a.endMs, atMs), interrupted, heardMs));
  }

  closeCaller(atMs: number): void {
    const c = this.caller;
    this.caller = undefined;
    if (c === undefined || c.text.trim() === "") return;
    this.final(this.event("caller", c, true, Math.max(c.endMs, atMs), false, undefined));
  }

  /** Call over: whatever is open is final as it stands. */
  close(atMs: number, agentHeardMs: number | undefined): void {
    this.closeCaller(atMs);
    this.agentTurnEnded(atMs, agentHeardMs, false);
  }

  private final(e: TranscriptEvent): void {
    this.said.push({ role: e.role, text: e.text, startMs: e.startMs, endMs: e.endMs, interrupted: e.interrupted, heardMs: e.heardMs });
    if (this.said.length > SAID_MAX) this.said.shift();
    this.emit(e);
  }

  private add(open: Open | undefined, role: Role, text: string, atMs: number): Open {
    const o = open ?? { text: "", startMs: atMs, endMs: atMs, partialAt: -Infinity };
    o.text += text;
    o.endMs = atMs;
    if (text !== "" && atMs - o.partialAt >= PARTIAL_EVERY_MS) {
      o.partialAt = atMs;
      this.emit(this.event(role, o, false, atMs, false, undefined));
    }
    return o;
  }

  private event(role: Role, o: Open, final: boolean, endMs: number, interrupted: boolean, heardMs: number | undefined): TranscriptEvent {
    const e: TranscriptEvent = {
      type: "transcript",
      callId: this.callId,
      role,
      text: final ? o.text.trim() : o.text,
      final,
      startMs: Math.round(o.startMs),
      endMs: Math.round(endMs),
      interrupted,
      heardMs: heardMs === undefined ? null : Math.round(heardMs),
    };
    // On the final line only: partial lines go out several times a second.
    if (final && o.grounding !== undefined) e.grounding = o.grounding;
    return e;
  }
}
