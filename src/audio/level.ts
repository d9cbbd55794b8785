// A level meter cheap enough for the audio path: one sample per frame, one comparison. Each frame contributes
// the magnitude of one sample at a position that moves from frame to frame, so over the few dozen frames between
// two reads the meter sees the signal's envelope without scanning every sample. Good enough for a level bar in
// the console; not a measurement. The caller's side already scans each frame once for its detectors
// (frame-level.ts) and hands the meter that peak instead (note()).

/** Steps the probe position by a prime so it does not lock onto periodic content. */
const STRIDE = 97;

export class PeakMeter {
  private peak = 0;
  private pos = 0;

  /** `pcm` is S16LE. */
  see(pcm: Uint8Array): void {
    const n = pcm.length >> 1;
    if (n === 0) return;
    this.pos = (this.pos + STRIDE) % n;
    const i = this.pos << 1;
    const s = ((pcm[i]! | (pcm[i + 1]! << 8)) << 16) >> 16;
    const a = s < 0 ? -s : s;
    if (a > this.peak) this.peak = a;
  }

  /** A peak the caller already measured (the call's one scan of a caller frame, frame-level.ts). */
  note(peak: number): void {
    if (peak > this.peak) this.peak = peak;
  }

  /** The peak since the last read, 0..1, and starts over. */
  take(): number {
    const p = this.peak;
    this.peak = 0;
    return p / 32768;
  }
}
