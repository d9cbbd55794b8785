// The idle watch (an agent's idleSeconds): caller and agent both silent that long → the agent asks whether the
// caller is still there; the same silence again → the call ends politely. One timer per wait, re-armed for the
// rest of the wait; activity only stamps a time.
import type { Logger } from "../log.ts";

export const NUDGE_IDLE = "The caller has been silent for a while. Briefly ask whether they are still there.";

export interface IdleActions {
  /** False once the call is ending or ended: the watch stops. */
  live(): boolean;
  /** Not silence even without new activity: the agent is still being heard, or a tool still works for the caller. */
  busy(): boolean;
  /** First silence: ask the model to check on the caller. */
  nudge(idleMs: number): void;
  /** Second silence in a row: end the call. */
  expire(idleMs: number): void;
}

export class IdleWatch {
  private last = performance.now();
  private nudged = false;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly idleMs: number,
    private readonly act: IdleActions,
  ) {
    this.timer = setTimeout(() => this.check(), idleMs);
  }

  /** The agent said something, or finished being heard. */
  activity(now = performance.now()): void {
    this.last = now;
  }

  /** The caller spoke: the silence is over, and a later one earns a fresh "are you still there?". */
  callerSpoke(now = performance.now()): void {
    this.last = now;
    this.nudged = false;
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private check(): void {
    this.timer = undefined;
    if (!this.act.live()) return;
    const now = performance.now();
    if (this.act.busy()) this.last = now;
    const quietFor = now - this.last;
    if (quietFor < this.idleMs) {
      this.timer = setTimeout(() => this.check(), this.idleMs - quietFor);
      return;
    }
    if (!this.nudged) {
      this.nudged = true;
      this.act.nudge(this.idleMs);
      this.last = now;
      this.timer = setTimeout(() => this.check(), this.idleMs);
      return;
    }
    this.act.expire(this.idleMs);
  }
}

export interface IdlePolicyDeps {
  live(): boolean;
  busy(): boolean;
  log: Logger;
  sendText(text: string): void;
  endPolitely(reason: "idle", detail: string): void;
}

/** What a call does about silence: ask whether the caller is still there, then end the call politely. */
export function idlePolicy(d: IdlePolicyDeps): IdleActions {
  return {
    live: d.live,
    busy: d.busy,
    nudge: (idleMs) => {
      d.log.info({ idleMs }, "caller and agent silent: checking whether the caller is still there");
      d.sendText(NUDGE_IDLE);
    },
    expire: (idleMs) => d.endPolitely("idle", `silent for ${Math.round(idleMs / 1000)} s twice`),
  };
}
