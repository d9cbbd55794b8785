// Sound for the offline model (and the test spy): a sine answer, a 16→24 kHz echo, and an energy detector for
// the caller's speech.
// S16LE throughout; bytes are read/written explicitly so any Buffer offset/alignment works.

/** `ms` of a sine at `hz`, 24 kHz S16LE, amplitude ~0.3 FS with 5 ms fades (no clicks at the edges). */
export function tone(ms: number, hz: number, rate = 24000, amplitude = 0.3): Uint8Array {
  const n = Math.max(0, Math.round((rate * ms) / 1000));
  const out = new Uint8Array(n * 2);
  const fade = Math.min(Math.round(rate * 0.005), n >> 1);
  const amp = amplitude * 32767;
  for (let i = 0; i < n; i++) {
    let g = 1;
    if (i < fade) g = i / fade;
    else if (i >= n - fade) g = (n - 1 - i) / fade;
    const v = Math.round(amp * g * Math.sin((2 * Math.PI * hz * i) / rate));
    out[2 * i] = v & 0xff;
    out[2 * i + 1] = (v >> 8) & 0xff;
  }
  return out;
}

function sampleAt(b: Uint8Array, i: number): number {
  return ((b[2 * i]! | (b[2 * i + 1]! << 8)) << 16) >> 16;
}

/** 16 kHz → 24 kHz by linear interpolation (good enough for "you hear yourself"; not a production resampler). */
export function upsample16to24(pcm16: Uint8Array): Uint8Array {
  const n = pcm16.byteLength >> 1;
  const m = Math.floor((n * 3) / 2);
  const out = new Uint8Array(m * 2);
  for (let j = 0; j < m; j++) {
    const pos = (j * 2) / 3;
    const i = Math.floor(pos);
    const f = pos - i;
    const a = sampleAt(pcm16, Math.min(i, n - 1));
    const b = sampleAt(pcm16, Math.min(i + 1, n - 1));
    const v = Math.round(a + (b - a) * f);
    out[2 * j] = v & 0xff;
    out[2 * j + 1] = (v >> 8) & 0xff;
  }
  return out;
}

/** RMS of S16LE samples in bytes [start, end). */
export function rms(b: Uint8Array, start = 0, end = b.byteLength): number {
  const n = (end - start) >> 1;
  if (n <= 0) return 0;
  let sum = 0;
  for (let i = start; i + 1 < end; i += 2) {
    const s = ((b[i]! | (b[i + 1]! << 8)) << 16) >> 16;
    sum += s * s;
  }
  return Math.sqrt(sum / n);
}

export interface SpeechEvents {
  speechStart(): void;
  /** The utterance (capped) once silenceMs of quiet followed speech. */
  speechEnd(utterance: Uint8Array, speechMs: number): void;
}

/**
 * Energy VAD over 20 ms windows of 16 kHz audio: speech starts after `minSpeechMs` of windows at or above
 * `threshold` RMS, and ends after `silenceMs` of windows below it.
 */
export class EnergyDetector {
  private readonly win = new Uint8Array(640);
  private fill = 0;
  private voicedMs = 0;
  private quietMs = 0;
  private speaking = false;
  private utter: Uint8Array[] = [];
  private utterBytes = 0;
  private pre: Uint8Array[] = [];

  constructor(
    private readonly threshold: number,
    private readonly minSpeechMs: number,
    private readonly silenceMs: number,
    private readonly events: SpeechEvents,
    private readonly maxUtterBytes = 16000 * 2 * 10,
  ) {}

  get isSpeaking(): boolean {
    return this.speaking;
  }

  push(pcm: Uint8Array): void {
    let off = 0;
    while (off < pcm.byteLength) {
      const take = Math.min(this.win.byteLength - this.fill, pcm.byteLength - off);
      this.win.set(pcm.subarray(off, off + take), this.fill);
      this.fill += take;
      off += take;
      if (this.fill === this.win.byteLength) {
        this.fill = 0;
        this.window(this.win.slice());
      }
    }
  }

  private window(w: Uint8Array): void {
    const loud = rms(w) >= this.threshold;
    if (!this.speaking) {
      if (!loud) {
        this.voicedMs = 0;
        this.pre = [];
        return;
      }
      this.voicedMs += 20;
      this.pre.push(w);
      if (this.voicedMs >= this.minSpeechMs) {
        this.speaking = true;
        this.quietMs = 0;
        this.utter = this.pre;
        this.utterBytes = this.pre.length * w.byteLength;
        this.pre = [];
        this.events.speechStart();
      }
      return;
    }
    if (this.utterBytes < this.maxUtterBytes) {
      this.utter.push(w);
      this.utterBytes += w.byteLength;
    }
    if (loud) {
      this.quietMs = 0;
      return;
    }
    this.quietMs += 20;
    if (this.quietMs >= this.silenceMs) {
      this.speaking = false;
      this.voicedMs = 0;
      // Drop the trailing silence from the utterance.
      const keep = Math.max(0, this.utter.length - this.quietMs / 20);
      const parts = this.utter.slice(0, keep);
      const out = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0));
      let o = 0;
      for (const p of parts) {
        out.set(p, o);
        o += p.byteLength;
      }
      this.utter = [];
      this.utterBytes = 0;
      this.events.speechEnd(out, keep * 20);
    }
  }
}
