// When an outbound call greets, and when its voicemail message starts, frame by frame (audio time, no clock):
// after the callee's first words and a pause, after greetAfterMs of silence, or when the transcript finished; the
// beep detector never delays a person's greeting; the message waits for the beep, the machine's silence, or the
// longest wait; and once nothing needs frames the call stops handing them over.
import { describe, expect, test } from "bun:test";
import { measureFrame } from "../../src/audio/frame-level.ts";
import { BEEP_WATCH_MS, OutboundLine, VOICEMAIL_MAX_WAIT_MS, VOICEMAIL_QUIET_MS, type MessageTrigger } from "../../src/call/outbound-line.ts";
import type { VoicemailSettings } from "../../src/call/agent.ts";

const RATE = 16000;
const N = 320; // 20 ms

let seed = 1;
/** 20 ms of line noise, of speech-like noise under a syllable envelope, or of a 1 kHz tone; `t` in samples. */
function frame(kind: "quiet" | "speech" | "beep", t: number): Uint8Array {
  const b = new Uint8Array(N * 2);
  const v = new DataView(b.buffer);
  for (let i = 0; i < N; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const noise = ((seed >>> 8) & 0xffff) / 32768 - 1;
    const env = 0.55 + 0.45 * Math.sin((2 * Math.PI * 4 * (t + i)) / RATE);
    const x = kind === "quiet" ? noise * 4 : kind === "beep" ? 8000 * Math.sin((2 * Math.PI * 1000 * (t + i)) / RATE) : noise * env * 9000;
    v.setInt16(i * 2, Math.round(x), true);
  }
  return b;
}

function line(voicemail: VoicemailSettings | undefined, greetAfterMs = 1500) {
  const log: string[] = [];
  const l = new OutboundLine({
    rate: RATE,
    greeting: "Greet them.",
    greetAfterMs,
    voicemail,
    greet: (_t, why) => log.push(`greet:${why}`),
    leaveMessage: (t: MessageTrigger) => log.push(`message:${t}`),
  });
  let ms = 0;
  const play = (kind: "quiet" | "speech" | "beep", durMs: number) => {
    for (let i = 0; i < durMs / 20; i++) {
      const f = frame(kind, ms * 16);
      l.observe(f, measureFrame(f));
      ms += 20;
      if (log.length > 0 && !log[log.length - 1]!.includes("@")) log[log.length - 1] += `@${ms}`;
    }
  };
  return { l, log, play };
}

const LEAVE: VoicemailSettings = { action: "leave_message", message: "Hi." };

describe("OutboundLine: the greeting", () => {
  test("after the callee's Hello? and a 300 ms pause, never during it", () => {
    const { log, play } = line(undefined);
    play("quiet", 200);
    play("speech", 400);
    expect(log).toEqual([]);
    play("quiet", 400);
    expect(log).toEqual(["greet:words_ended@900"]);
  });

  test("after greetAfterMs of silence when nobody speaks; a short click does not count as words", () => {
    const a = line(undefined, 1500);
    a.play("quiet", 2000);
    expect(a.log).toEqual(["greet:silence@1500"]);
    const b = line(undefined, 800);
    b.play("quiet", 100);
    b.play("speech", 40);
    b.play("quiet", 1000);
    expect(b.log).toEqual(["greet:silence@940"]);
  });

  test("when the model's transcript of the callee's words finished, at once", () => {
    const { l, log, play } = line(undefined);
    play("speech", 300);
    l.callerFinished();
    expect(log).toEqual(["greet:transcript"]);
  });

  test("the beep detector (leave_message) greets a person at exactly the same frame", () => {
    const a = line(undefined);
    const b = line(LEAVE);
    for (const x of [a, b]) {
      x.play("quiet", 200);
      x.play("speech", 700);
      x.play("quiet", 600);
    }
    expect(b.log).toEqual(a.log);
    expect(a.log).toEqual(["greet:words_ended@1200"]);
  });

  test("no per-frame work once greeted without voicemail; with leave_message only until BEEP_WATCH_MS", () => {
    const a = line({ action: "hangup", message: "" });
    a.play("quiet", 1600);
    expect(a.l.watching).toBe(false);
    const b = line(LEAVE);
    b.play("quiet", 1600);
    expect(b.l.watching).toBe(true);
    b.play("quiet", BEEP_WATCH_MS);
    expect(b.l.watching).toBe(false);
  });

  test("a wall-clock timeout greets only when the callee is not mid-word", () => {
    const a = line(undefined);
    a.play("speech", 200);
    a.l.timeout();
    expect(a.log).toEqual([]);
    const b = line(undefined);
    b.play("quiet", 100);
    b.l.timeout();
    expect(b.log).toEqual(["greet:silence"]);
  });
});

describe("OutboundLine: the voicemail message", () => {
  test("starts when the beep ends, even when the beep came before the model said voicemail", () => {
    const a = line(LEAVE);
    a.play("speech", 2000);
    a.l.awaitBeep();
    a.play("quiet", 200);
    a.play("beep", 500);
    expect(a.log.filter((x) => x.startsWith("message"))).toEqual([]);
    a.play("quiet", 40);
    expect(a.log.filter((x) => x.startsWith("message"))).toEqual(["message:beep@2720"]);
    const b = line(LEAVE);
    b.play("speech", 2000);
    b.play("beep", 400);
    b.play("quiet", 100);
    b.l.awaitBeep();
    expect(b.log.at(-1)).toBe("message:beep");
  });

  test("no beep: after VOICEMAIL_QUIET_MS of the machine's silence; a machine that never stops: after the longest wait", () => {
    const a = line(LEAVE);
    a.play("speech", 1000);
    a.l.awaitBeep();
    a.play("quiet", VOICEMAIL_QUIET_MS + 40);
    expect(a.log.at(-1)).toBe(`message:silence@${1000 + VOICEMAIL_QUIET_MS}`);
    const b = line(LEAVE);
    b.l.awaitBeep();
    b.play("speech", VOICEMAIL_MAX_WAIT_MS + 100);
    expect(b.log.at(-1)).toBe(`message:timeout@${VOICEMAIL_MAX_WAIT_MS}`);
    expect(b.l.watching).toBe(false);
  });
});
