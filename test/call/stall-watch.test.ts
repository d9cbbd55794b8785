// The model stall watch on its own, with real timers: when a wait starts, what ends it, resume once, then fail.
import { describe, expect, test } from "bun:test";
import { StallWatch } from "../../src/call/stall-watch.ts";
import { until } from "../support/wait.ts";

const STALL_MS = 30;

function watch(opts: { resumes?: boolean; stallMs?: number } = {}) {
  const log: string[] = [];
  let live = true;
  const w = new StallWatch(opts.stallMs ?? STALL_MS, {
    live: () => live,
    resume: (silentMs, cause) => {
      log.push(cause === "empty_turns" ? "resume empty_turns" : `resume ${silentMs >= (opts.stallMs ?? STALL_MS) ? "late enough" : "early"}`);
      return opts.resumes ?? true;
    },
    fail: (_silentMs, resumed, cause) => log.push(`fail resumed=${resumed}${cause === "empty_turns" ? " empty_turns" : ""}`),
  });
  return { w, log, end: () => (live = false) };
}

describe("StallWatch", () => {
  test("a silent model after the caller finished is resumed once, then the call fails; both are counted", async () => {
    const { w, log } = watch();
    w.callerSpeaking();
    w.callerFinished();
    await until(() => log.length === 2, "resume then fail");
    expect(log).toEqual(["resume late enough", "fail resumed=true"]);
    expect(w.stalls).toBe(2);
  });

  test("a resume that cannot happen fails at once", async () => {
    const { w, log } = watch({ resumes: false });
    w.callerSpeaking();
    w.callerFinished();
    await until(() => log.length === 2, "resume refused then fail");
    expect(log).toEqual(["resume late enough", "fail resumed=false"]);
  });

  test("any model event after the caller finished ends the wait, and a later wait may resume again", async () => {
    // A longer stall here: the model event must land before the timer even on a busy machine.
    const stallMs = STALL_MS * 5;
    const { w, log } = watch({ stallMs });
    w.callerSpeaking();
    w.callerFinished();
    await Bun.sleep(stallMs / 10);
    w.heardModel();
    await Bun.sleep(stallMs * 2);
    expect(log).toEqual([]);
    // Next utterance, and this time the model stays silent.
    w.callerSpeaking();
    w.callerFinished();
    await until(() => log.length > 0, "resume on the second wait");
    expect(log[0]).toBe("resume late enough");
    w.stop();
  });

  test("no wait when the model spoke after the caller began, with the watch off, or once the call is ending", async () => {
    const answered = watch();
    answered.w.callerSpeaking();
    await Bun.sleep(2);
    answered.w.heardModel();
    answered.w.callerFinished();
    const off = watch({ stallMs: 0 });
    off.w.callerSpeaking();
    off.w.callerFinished();
    const ending = watch();
    ending.w.callerSpeaking();
    ending.end();
    ending.w.callerFinished();
    const dropped = watch();
    dropped.w.callerSpeaking();
    dropped.w.callerFinished();
    dropped.end(); // a wait under way is dropped when its timer finds the call ending
    await Bun.sleep(STALL_MS * 4);
    expect([answered.log, off.log, ending.log, dropped.log]).toEqual([[], [], [], []]);
    expect(dropped.w.stalls).toBe(0);
  });

  test("stop() cancels a pending wait", async () => {
    const { w, log } = watch();
    w.callerSpeaking();
    w.callerFinished();
    w.stop();
    await Bun.sleep(STALL_MS * 3);
    expect(log).toEqual([]);
  });

  test("empty turns: two in a row resume, two more fail; a turn with audio starts over; off with the watch", () => {
    const { w, log } = watch();
    w.emptyTurn();
    expect(log).toEqual([]);
    w.emptyTurn();
    expect(log).toEqual(["resume empty_turns"]);
    w.emptyTurn();
    w.emptyTurn();
    expect(log).toEqual(["resume empty_turns", "fail resumed=true empty_turns"]);
    expect(w.stalls).toBe(2);

    const again = watch();
    again.w.emptyTurn();
    again.w.answered();
    again.w.emptyTurn();
    expect(again.log).toEqual([]);
    again.w.emptyTurn();
    again.w.answered();
    again.w.emptyTurn();
    again.w.emptyTurn();
    // The answer between the runs means this is a fresh run: resumed again, not failed.
    expect(again.log).toEqual(["resume empty_turns", "resume empty_turns"]);

    const off = watch({ stallMs: 0 });
    for (let i = 0; i < 5; i++) off.w.emptyTurn();
    expect(off.log).toEqual([]);
    const cannot = watch({ resumes: false });
    cannot.w.emptyTurn();
    cannot.w.emptyTurn();
    expect(cannot.log).toEqual(["resume empty_turns", "fail resumed=false empty_turns"]);
  });
});
