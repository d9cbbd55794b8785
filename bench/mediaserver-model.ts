// A model of the media server's playout (mod_audio_fork, jambonz build; docs/sautikit-stream.md#playback-and-the-prebuffer): it plays
// received audio at real time, one 20 ms tick at a time on its own clock, buffers whatever arrives early
// (unbounded) and empties that buffer on {"type":"killAudio"}. It is driven by arrival timestamps, not by a
// timer, so the model itself never runs late. Simplification: no 160/80 ms prebuffer stage — the relay's
// own 160 ms lead is what keeps the buffer from running dry, and that is what the bench should expose.

export const TICK_MS = 20;
export const TICK_SAMPLES = 320;

export interface TickListener {
  /** One 20 ms tick played at `t`: `real` samples came from the buffer (the rest was silence), `loud` says
   *  whether any of them was above the silence threshold. */
  (t: number, real: number, loud: boolean): void;
}

export class MediaServerModel {
  private q = new Int16Array(16000 * 8);
  private head = 0;
  private tail = 0;
  private odd = -1; // a byte waiting for its partner (chunks may split samples)
  private nextTick: number;

  constructor(startMs: number, private readonly threshold: number, private readonly onTick: TickListener) {
    this.nextTick = startMs + TICK_MS;
  }

  get bufferedMs(): number {
    return (this.tail - this.head) / 16;
  }

  /** Plays every tick due up to `t`. */
  advance(t: number): void {
    while (this.nextTick <= t) {
      const avail = Math.min(TICK_SAMPLES, this.tail - this.head);
      let loud = false;
      const thr = this.threshold;
      for (let i = this.head, end = this.head + avail; i < end; i++) {
        const v = this.q[i]!;
        if (v > thr || v < -thr) {
          loud = true;
          break;
        }
      }
      this.head += avail;
      if (this.head === this.tail) this.head = this.tail = 0;
      this.onTick(this.nextTick, avail, loud);
      this.nextTick += TICK_MS;
    }
  }

  audio(t: number, bytes: Uint8Array): void {
    this.advance(t);
    let i = 0;
    if (this.odd >= 0 && bytes.length > 0) {
      this.pushSample(this.odd | (bytes[0]! << 8));
      this.odd = -1;
      i = 1;
    }
    const whole = (bytes.length - i) >> 1;
    this.reserve(whole);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let k = 0; k < whole; k++) this.q[this.tail++] = dv.getInt16(i + k * 2, true);
    i += whole * 2;
    if (i < bytes.length) this.odd = bytes[i]!;
  }

  kill(t: number): void {
    this.advance(t);
    this.head = this.tail = 0;
    this.odd = -1;
  }

  private pushSample(u16: number): void {
    this.reserve(1);
    this.q[this.tail++] = (u16 << 16) >> 16;
  }

  private reserve(n: number): void {
    if (this.tail + n <= this.q.length) return;
    const live = this.tail - this.head;
    const next = live + n > this.q.length / 2 ? new Int16Array((live + n) * 2) : this.q;
    next.set(this.q.subarray(this.head, this.tail), 0);
    this.q = next;
    this.head = 0;
    this.tail = live;
  }
}
