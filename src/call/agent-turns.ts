// The agent's turns as a call keeps them. A turn is open from the model's first audio to its turnComplete; when it
// ends, the agent's transcript line closes with what the caller will have heard, and the stall watch learns
// whether it was answered or empty. A barge-in drops what is queued here and at the media server (and so in the
// recording) in the same event-loop turn. The first audible frame of each turn gives the first-audio and response
// times. Everything else a turn's end sets off (the handover, the ending, the idle watch) is the call's.
import type { Playout } from "../audio/playout.ts";
import type { LogLimit } from "../log-limit.ts";
import type { CallSocket } from "../telephony/types.ts";
import type { CallerPath } from "./caller-path.ts";
import type { CallEvent } from "./events.ts";
import type { RecordingTap } from "./recording-tap.ts";
import type { StallWatch } from "./stall-watch.ts";
import type { CallTally } from "./summary.ts";
import type { TranscriptAggregator } from "./transcript.ts";

export interface AgentTurnsDeps {
  callId: string;
  turnTailMs: number;
  playout: Playout;
  socket: Pick<CallSocket, "clearAudio">;
  recording: RecordingTap | null;
  transcript: TranscriptAggregator;
  tally: CallTally;
  stall: StallWatch;
  caller: Pick<CallerPath, "takeSpeechEnd">;
  limit: LogLimit;
  /** ms since the call started. */
  now(): number;
  emit(e: CallEvent): void;
  /** After a turn's end was handled here. */
  turnEnded(): void;
}

export class AgentTurns {
  /** The model sent audio since its last turnComplete (a turn is in progress on its side). */
  open = false;

  constructor(private readonly d: AgentTurnsDeps) {}

  complete(reason: string | undefined, rejected: boolean): void {
    const d = this.d;
    // Checked before the turn's state is reset: a rejected turn that still carried audio was heard, not empty.
    if (this.open) d.stall.answered();
    else if (rejected) this.empty(reason);
    const wasDiscarding = d.playout.discardingLateAudio;
    d.playout.onTurnComplete();
    if (!wasDiscarding) {
      const pb = d.playout.playback();
      d.transcript.agentTurnEnded(d.now(), Math.max(0, pb.queuedMs - d.turnTailMs), false);
    }
    this.open = false;
    d.turnEnded();
  }

  /** Barge-in: drop queued audio and tell the media server to drop its own, in this event-loop turn. */
  bargeIn(): void {
    const d = this.d;
    const heard = d.playout.playback().heardMs;
    const cut = d.playout.speaking || !d.playout.drained;
    d.playout.onInterrupted();
    // Without killAudio the media server plays out what it holds, and the recording keeps it.
    if (d.socket.clearAudio()) d.recording?.cut();
    if (cut) {
      d.tally.bargeIns++;
      d.transcript.agentTurnEnded(d.now(), heard, true);
      d.emit({ type: "bargeIn", callId: d.callId, atMs: d.now(), heardMs: Math.round(heard) });
    }
  }

  /** The turn's first frame reached the caller, `ms` after its first chunk came from the model. */
  audible(turn: number, ms: number): void {
    const d = this.d;
    d.tally.firstAudioMs.push(ms);
    const speechEnd = d.caller.takeSpeechEnd();
    const responseMs = speechEnd < 0 ? undefined : performance.now() - speechEnd;
    d.emit({ type: "turn", callId: d.callId, index: turn, firstAudioMs: ms, responseMs, atMs: d.now() });
  }

  /** The model ended a turn as refused or broken with no audio: counted, logged (limited), and a run is a stall. */
  private empty(reason: string | undefined): void {
    const d = this.d;
    d.tally.rejectedTurns++;
    d.limit.warn("rejected_turn", { reason, rejectedTurns: d.tally.rejectedTurns }, "model ended a turn with nothing to say");
    d.stall.emptyTurn();
  }
}
