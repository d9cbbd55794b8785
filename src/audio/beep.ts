// An answering machine's beep: a steady tone of BEEP_MIN_MS or more on the caller's side. Cheap and local: per frame
// one pass over every sample counting zero crossings (a pure tone crosses zero at twice its frequency, at a steady
// rate) and summing squares. Not the call's shared scan (frame-level.ts): it reads every 4th sample, and a 1 kHz beep
// on an 8 kHz call can fall between the samples it reads. A run of frames whose crossing rate stays within
// a few % of the run's first frame, whose energy stays within a factor of two of it, and whose frequency is
// between 300 Hz and 3.4 kHz (where beeps are, and what a phone line carries) is a tone. Speech changes pitch and
// loudness many times a second; noise crosses zero far more often. Only outbound calls that may leave a voicemail
// run it, and only until the message starts (src/call/outbound-line.ts).
import type { FrameLevel } from "./frame-level.ts";

/** A tone this long is a beep. */
export const BEEP_MIN_MS = 300;
/** Quieter than this (RMS of 16-bit full scale) is no beep: about −32 dBFS. */
const MIN_RMS = 800;
const MIN_HZ = 300;
const MAX_HZ = 3400;
/** Crossing rate may wander this much (a fraction of the run's first frame) within one tone. */
const RATE_TOLERANCE = 0.08;

/** Sum of squares of the last zeroCrossings() scan (one result for the process: single-threaded, read at once). */
let scanSquares = 0;

/** Zero crossings of S16LE mono `pcm` (whole samples); also leaves the frame's sum of squares in scanSquares. */
export function zeroCrossings(pcm: Uint8Array): number {
  const end = pcm.length & ~1;
  let n = 0;
  let sum = 0;
  let prev = (pcm[1]! << 24) >> 24 < 0;
  for (let i = 0; i < end; i += 2) {
    const s = ((pcm[i]! | (pcm[i + 1]! << 8)) << 16) >> 16;
    sum += s * s;
    const neg = s < 0;
    if (neg !== prev) n++;
    prev = neg;
  }
  scanSquares = sum;
  return n;
}

export class BeepDetector {
  private readonly msPerSample: number;
  private readonly minEnergy = MIN_RMS * MIN_RMS;
  private readonly minRate: number;
  private readonly maxRate: number;
  private runMs = 0;
  private refRate = 0;
  private refEnergy = 0;
  private inTone = false;
  /** Audio ms fed so far. */
  audioMs = 0;
  /** Audio ms by which the latest beep had ended (the end of the first frame without its tone); -1 while none has. */
  lastEndMs = -1;

  constructor(rate: number) {
    this.msPerSample = 1000 / rate;
    // crossings per sample = 2 f / rate
    this.minRate = (2 * MIN_HZ) / rate;
    this.maxRate = (2 * MAX_HZ) / rate;
  }

  /** A tone of BEEP_MIN_MS is going on now (it has not ended yet). */
  get sounding(): boolean {
    return this.inTone;
  }

  /** One caller frame (the call's scan of it gives the frame's length). */
  observe(pcm: Uint8Array, f: FrameLevel): void {
    const ms = f.samples * this.msPerSample;
    this.audioMs += ms;
    if (f.samples > 1) {
      const rate = zeroCrossings(pcm) / f.samples;
      const energy = scanSquares / f.samples;
      if (energy >= this.minEnergy && rate >= this.minRate && rate <= this.maxRate) {
        const same =
          this.runMs > 0 && Math.abs(rate - this.refRate) <= this.refRate * RATE_TOLERANCE && energy <= this.refEnergy * 2 && energy * 2 >= this.refEnergy;
        if (!same) {
          this.ended();
          this.refRate = rate;
          this.refEnergy = energy;
          this.runMs = 0;
        }
        this.runMs += ms;
        if (this.runMs >= BEEP_MIN_MS) this.inTone = true;
        return;
      }
    }
    this.ended();
    this.runMs = 0;
  }

  private ended(): void {
    if (!this.inTone) return;
    this.inTone = false;
    this.lastEndMs = this.audioMs;
  }
}
