// One measured step: N calls through one relay, answers scheduled by the bench, figures at the end.
import type { StandinServer, StandinSession } from "../test/support/gemini-spy.ts";
import { Call, newAnswer } from "./caller.ts";
import { FrameClock } from "./clock.ts";
import { MarkerScanner } from "./marker.ts";
import { dist, round, type Dist } from "./metrics.ts";
import { cpuSeconds, rssTreeMB } from "./procstat.ts";
import type { RelayProc } from "./relays.ts";

export interface AnswerPlan {
  /** ms after the measured window opens */
  at: number;
  ms: number;
  hz: number;
  /** interrupt (barge-in) this long after the answer started */
  interruptAfter?: number;
}

export interface StepPlan {
  label: string;
  calls: number;
  windowMs: number;
  /** CPU is measured over [cpuFromMs, cpuToMs) of the window, where the answer duty cycle is steady. */
  cpuFromMs: number;
  cpuToMs: number;
  /** Analyse tone frequency and duration (costs bench CPU per sample, so only in the small steps). */
  deep: boolean;
  split: boolean;
  answers: (i: number, n: number) => AnswerPlan[];
  /** How the relay's downlink bytes map to the model's audio (Sauti Relay resamples to 16 kHz = 32 B/ms; the
   *  floor forwards the model's 24 kHz PCM as is = 48 B/ms). */
  delivery: { bytesPerMs: number };
}

export interface StepResult {
  label: string;
  calls: number;
  connected: number;
  /** calls whose socket was closed by the far side before the step ended */
  dropped: number;
  uplink: Dist;
  uplinkLost: number;
  uplinkFrames: number;
  firstAudio: Dist;
  bargeIn: Dist;
  kills: number;
  answers: number;
  underrunMs: number;
  underrunAnswers: number;
  durationErrMs: Dist;
  deliveredMs: Dist;
  /** |delivered − sent| / sent of each complete answer, %, from byte counts (every step, not only deep ones). */
  deliveredErrPct: Dist;
  toneHz: Dist;
  cpuMsPerCallS: number | null;
  rssMB: number | null;
  benchCpuPct: number;
  genLateness: Dist;
  standinClosesByServer: number;
}

/** Routes the stand-in's per-session caller audio to calls by the marker inside it (no other mapping needed). */
export class UplinkRouter {
  private readonly scanners = new Map<StandinSession, MarkerScanner>();
  readonly calls = new Map<number, Call>();
  readonly sessionOf = new Map<number, StandinSession>();

  onCallerAudio = (session: StandinSession, pcm: Uint8Array, t: number): void => {
    let sc = this.scanners.get(session);
    if (!sc) {
      sc = new MarkerScanner();
      this.scanners.set(session, sc);
    }
    sc.push(pcm, (m) => {
      const call = this.calls.get(m.call);
      if (!call) return;
      if (!this.sessionOf.has(m.call)) this.sessionOf.set(m.call, session);
      call.uplink(m.seq, t);
    });
  };

  reset(): void {
    this.scanners.clear();
    this.calls.clear();
    this.sessionOf.clear();
  }
}

interface Action {
  t: number;
  run: () => void;
}

async function sleepUntil(t: number): Promise<void> {
  const d = t - performance.now();
  if (d > 0) await Bun.sleep(d);
}

export async function runStep(
  relay: RelayProc,
  standin: StandinServer,
  router: UplinkRouter,
  secret: string,
  plan: StepPlan,
  firstIdx: number,
  progress: (s: string) => void,
): Promise<StepResult> {
  router.reset();
  const calls: Call[] = [];
  const startMs = performance.now();
  for (let i = 0; i < plan.calls; i++) {
    const c = new Call(firstIdx + i, plan.split, startMs, plan.deep);
    calls.push(c);
    router.calls.set(c.idx, c);
  }
  const live = new Set<Call>();
  const actions: Action[] = [];
  let ai = 0;
  const clock = new FrameClock(() => {
    for (const c of live) c.sendFrame(performance.now());
    // Answers and interrupts go last, so the event loop is free right after to take what they cause.
    const now = performance.now();
    while (ai < actions.length && actions[ai]!.t <= now) actions[ai++]!.run();
  });
  clock.start();
  const closedBefore = standin.sessions.filter((s) => s.closed?.by === "server").length;

  // Dial in waves: a real PBX would not post hundreds of webhooks in the same millisecond either.
  let failed = 0;
  let firstError = "";
  const wave = 25;
  for (let i = 0; i < calls.length; i += wave) {
    await Promise.all(
      calls.slice(i, i + wave).map(async (c) => {
        try {
          await c.dial(relay.base, secret);
          live.add(c);
        } catch (e) {
          failed++;
          if (!firstError) firstError = String(e);
        }
      }),
    );
  }
  if (failed > 0) progress(`    ${failed} call(s) failed to connect: ${firstError}`);
  // Every call is up once the stand-in has seen its audio (Live session open and set up).
  const upBy = performance.now() + 5000 + plan.calls * 10;
  while (performance.now() < upBy && [...live].some((c) => !router.sessionOf.has(c.idx))) await Bun.sleep(20);
  await Bun.sleep(300);

  const w0 = performance.now();
  const list = calls.filter((c) => live.has(c));
  list.forEach((c, i) => {
    for (const p of plan.answers(i, list.length)) {
      actions.push({
        t: w0 + p.at,
        run: () => {
          const s = router.sessionOf.get(c.idx);
          if (!s || s.closed) return;
          const at = performance.now();
          s.speak({ ms: p.ms, hz: p.hz });
          const a = newAnswer(at, p.ms, p.hz);
          // speak() sends the first burst before it returns (test/support/gemini-spy.ts answer()).
          a.firstChunkAt = performance.now();
          c.answers.push(a);
          if (p.interruptAfter !== undefined) {
            actions.push({
              t: at + p.interruptAfter,
              run: () => {
                a.interruptAt = performance.now();
                s.interrupt();
              },
            });
            actions.sort((x, y) => x.t - y.t);
          }
        },
      });
    }
  });
  actions.sort((x, y) => x.t - y.t);

  await sleepUntil(w0 + plan.cpuFromMs);
  const cpu0 = cpuSeconds(relay.pid);
  const bench0 = process.cpuUsage();
  const tc0 = performance.now();
  await sleepUntil(w0 + plan.cpuToMs);
  const cpu1 = cpuSeconds(relay.pid);
  const bench1 = process.cpuUsage(bench0);
  const tc1 = performance.now();
  const rss = rssTreeMB(relay.pid);
  await sleepUntil(w0 + plan.windowMs);
  const tEnd = performance.now();
  // Calls the relay (or the stand-in behind it) hung up before the end.
  const dropped = list.filter((c) => c.closed).length;
  for (const c of list) c.model.advance(tEnd);
  clock.stop();
  for (const c of calls) c.close();

  // Let the relay tear its Live sessions down before the next step starts.
  const downBy = performance.now() + 5000;
  while (performance.now() < downBy && standin.live().length > 0) await Bun.sleep(50);

  // ---- figures ----
  const uplink: number[] = [];
  let lost = 0;
  const lastCounted = tEnd - 250; // frames sent in the last 250 ms may still be in flight
  for (const c of list) {
    for (let s = 0; s < c.seq; s++) {
      const sent = c.sentAt[s]!;
      if (sent < w0 || sent > lastCounted) continue;
      const r = c.recvAt[s]!;
      if (r > 0) uplink.push(r - sent);
      else lost++;
    }
  }
  const firstAudio: number[] = [];
  const bargeIn: number[] = [];
  const durErr: number[] = [];
  const delivered: number[] = [];
  const deliveredErr: number[] = [];
  const hz: number[] = [];
  let underrunMs = 0;
  let underrunAnswers = 0;
  let answers = 0;
  let kills = 0;
  for (const c of list) {
    kills += c.kills;
    for (const a of c.answers) {
      answers++;
      if (a.firstLoudAt !== null) firstAudio.push(a.firstLoudAt - a.firstChunkAt);
      underrunMs += a.underrunMs;
      if (a.underrunMs > 0) underrunAnswers++;
      if (a.interruptAt !== null) {
        bargeIn.push(a.heardAfterInterruptMs);
        continue;
      }
      const complete = a.at + a.ms * 1.5 + 800 <= tEnd;
      if (complete && a.audibleBytes > 0) {
        const got = a.audibleBytes / plan.delivery.bytesPerMs;
        deliveredErr.push((Math.abs(got - a.ms) / a.ms) * 100);
      }
      if (!plan.deep || !complete || a.firstLoud < 0) continue;
      durErr.push((a.lastLoud - a.firstLoud + 1) / 16 - a.ms);
      delivered.push(a.samples / 16);
      if (a.crossings > 1) hz.push(((a.crossings - 1) * 16000) / (a.lastCross - a.firstCross));
    }
  }
  const cpuMsPerCallS =
    cpu0 !== null && cpu1 !== null && list.length > 0 ? round(((cpu1 - cpu0) * 1000) / (list.length * ((tc1 - tc0) / 1000))) : null;
  const benchCpuPct = round(((bench1.user + bench1.system) / 1000 / (tc1 - tc0)) * 100, 1);
  return {
    label: plan.label,
    calls: plan.calls,
    connected: list.length,
    dropped,
    uplink: dist(uplink),
    uplinkLost: lost,
    uplinkFrames: uplink.length + lost,
    firstAudio: dist(firstAudio),
    bargeIn: dist(bargeIn),
    kills,
    answers,
    underrunMs: round(underrunMs, 1),
    underrunAnswers,
    durationErrMs: dist(durErr),
    deliveredMs: dist(delivered),
    deliveredErrPct: dist(deliveredErr),
    toneHz: dist(hz),
    cpuMsPerCallS,
    rssMB: rss === null ? null : round(rss, 1),
    benchCpuPct,
    genLateness: dist(clock.lateness),
    standinClosesByServer: standin.sessions.filter((s) => s.closed?.by === "server").length - closedBefore,
  };
}

