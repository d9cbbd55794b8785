// The two memory scenarios, driven against a relay process (relay-process.ts) by real WebSocket callers: calls
// whose model bursts minutes of audio at once, and many short calls to the offline echo model. Shared by the
// memory tests and bench/memory.ts.
import type { Caller } from "./caller.ts";
import type { StandinServer } from "./gemini-spy.ts";
import type { RelayProcess } from "./relay-process.ts";
import { until } from "./wait.ts";

/**
 * `n` calls at once whose model (the spy) sends `pcm24` (24 kHz) in one burst; `whileHeld` runs once every call's
 * whole burst has left the spy, before the callers hang up. Returns what `whileHeld` returned.
 */
export async function burstCalls<T>(
  relay: RelayProcess,
  spy: StandinServer,
  pcm24: Uint8Array,
  n: number,
  prefix: string,
  whileHeld?: () => Promise<T>,
): Promise<T | undefined> {
  const first = spy.sessions.length;
  const callers: Caller[] = [];
  for (let i = 0; i < n; i++) callers.push(await relay.dial(`${prefix}${i}`));
  await until(() => spy.sessions.length >= first + n && spy.sessions.slice(first).every((s) => s.ready), `${n} model sessions ready`);
  const sessions = spy.sessions.slice(first, first + n);
  const sentBefore = sessions.map((s) => s.sent.length);
  for (const s of sessions) s.speak({ pcm24, transcript: "" });
  // One message per burstMs of audio, then generationComplete; all of it handed to the kernel.
  const messages = Math.ceil(pcm24.byteLength / ((24000 * spy.opts.burstMs) / 1000) / 2) + 1;
  await until(
    () => sessions.every((s, i) => s.sent.slice(sentBefore[i]).filter((k) => k === "serverContent").length >= messages && (s.ws?.getBufferedAmount() ?? 0) === 0),
    "bursts sent",
    30000,
  );
  // Every caller hears the agent: the relay took the burst in and plays it.
  await until(() => callers.every((c) => c.frames.length > 0), "callers hearing the agent", 10000);
  const r = whileHeld === undefined ? undefined : await whileHeld();
  for (const c of callers) c.ws.close(1000);
  await until(() => callers.every((c) => c.closed !== undefined), "caller sockets closed");
  return r;
}

/** The offline greeting is a tone at a tenth of full scale; speechLike() peaks near 12,000. */
const ECHO_PEAK = 6000;

/** Loudest sample of a 16-bit frame. */
function peak(f: Uint8Array): number {
  const v = new Int16Array(f.buffer, f.byteOffset, f.byteLength >> 1);
  let m = 0;
  for (const x of v) if (Math.abs(x) > m) m = Math.abs(x);
  return m;
}

/**
 * `n` short calls to the offline model, `concurrency` at a time: each caller sends `speech` (16 kHz, loud) in one
 * go, waits until it hears the echo (louder than the greeting's soft tone), and hangs up mid-answer. Returns how
 * many calls heard no echo within 10 s (they are hung up all the same).
 */
export async function offlineCalls(relay: RelayProcess, speech: Uint8Array, n: number, concurrency: number, prefix: string): Promise<number> {
  let next = 0;
  let failures = 0;
  const one = async (i: number) => {
    const c = await relay.dial(`${prefix}${i}`);
    try {
      for (let o = 0; o < speech.byteLength; o += 16000) c.ws.send(speech.subarray(o, o + 16000));
      let seen = 0;
      const echoed = () => {
        for (; seen < c.frames.length; seen++) if (peak(c.frames[seen]!) > ECHO_PEAK) return true;
        return c.closed !== undefined;
      };
      await until(echoed, "the echo", 10000).catch(() => failures++);
    } finally {
      c.ws.close(1000);
      await until(() => c.closed !== undefined, "caller socket closed");
    }
  };
  const worker = async () => {
    while (next < n) await one(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  return failures;
}

/** ~1 s of voice-like sound: a 140 Hz buzz with harmonics, its loudness swelling at a syllable rate (4 Hz). */
export function speechLike(ms: number): Uint8Array {
  const n = (16000 * ms) / 1000;
  const out = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) {
    const t = i / 16000;
    const env = 0.4 + 0.6 * Math.abs(Math.sin(Math.PI * 4 * t));
    const v = Math.sin(2 * Math.PI * 140 * t) + 0.5 * Math.sin(2 * Math.PI * 280 * t) + 0.3 * Math.sin(2 * Math.PI * 420 * t);
    out.writeInt16LE(Math.round(7000 * env * v), i * 2);
  }
  return out;
}
