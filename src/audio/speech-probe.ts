// A coarse "did the caller just say something?" for the model stall detector: the one sign of caller speech that
// does not come from the model itself (a dead model sends no transcript). Not a VAD for the conversation: Gemini
// does that. It reads one sample per half millisecond (about 40 per 20 ms frame at 16 kHz), keeps the peak, and
// counts loud and quiet time; that is the only per-frame work it adds.

/** Peak above this (about −24 dBFS) counts as voice; Sautikit's silence frames are low-level noise far below it. */
export const SPEECH_PEAK = 2000;
/** Loud time that makes an utterance (shorter bursts are clicks). */
export const MIN_SPEECH_MS = 200;
/** Quiet time that ends an utterance. */
export const END_SILENCE_MS = 700;

export type ProbeResult = 0 | 1 | 2;
export const PROBE_NONE: ProbeResult = 0;
export const PROBE_START: ProbeResult = 1;
export const PROBE_END: ProbeResult = 2;

export class SpeechProbe {
  private readonly stride: number; // bytes between inspected samples (even)
  private readonly msPerByte: number;
  private loudMs = 0;
  private quietMs = 0;
  private inSpeech = false;

  constructor(rate: number) {
    this.stride = Math.max(1, Math.round(rate / 2000)) * 2;
    this.msPerByte = 1000 / (rate * 2);
  }

  /** Feeds whole S16LE samples; says when an utterance starts (PROBE_START) or has ended (PROBE_END). */
  push(pcm: Uint8Array): ProbeResult {
    const n = pcm.length;
    const step = this.stride;
    let peak = 0;
    for (let i = 0; i + 1 < n; i += step) {
      const s = ((pcm[i]! | (pcm[i + 1]! << 8)) << 16) >> 16;
      const a = s < 0 ? -s : s;
      if (a > peak) peak = a;
    }
    const ms = n * this.msPerByte;
    if (peak >= SPEECH_PEAK) {
      this.quietMs = 0;
      this.loudMs += ms;
      if (!this.inSpeech && this.loudMs >= MIN_SPEECH_MS) {
        this.inSpeech = true;
        return PROBE_START;
      }
      return PROBE_NONE;
    }
    this.quietMs += ms;
    if (this.inSpeech) {
      if (this.quietMs < END_SILENCE_MS) return PROBE_NONE;
      this.inSpeech = false;
      this.loudMs = 0;
      return PROBE_END;
    }
    // Short bursts separated by real pauses do not add up to an utterance.
    if (this.quietMs >= END_SILENCE_MS) this.loudMs = 0;
    return PROBE_NONE;
  }
}
