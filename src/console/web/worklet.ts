// The softphone's two AudioWorklet processors, run on the browser's audio rendering thread:
//   sauti-capture:  microphone (context rate, usually 48 kHz) → StreamResampler → 20 ms S16LE frames → page
//   sauti-playback: page → S16LE at the relay's playback rate → StreamResampler → JitterBuffer → speaker
// A worklet module is loaded by URL and cannot share the page's bundle, so workletSource() turns this function
// and the DSP classes into one script (a Blob URL): the function gets the classes as arguments.
import { JitterBuffer, StreamResampler } from "./dsp.ts";

export const CAPTURE = "sauti-capture";
export const PLAYBACK = "sauti-playback";
export const FRAME_MS = 20;
/** Playback waits for this much audio before it starts, so network jitter below it is not heard. */
export const JITTER_TARGET_MS = 80;

/** What the capture processor posts per frame: S16LE PCM (transferred) and its peak level. */
export interface CaptureFrame {
  pcm: ArrayBuffer;
  peak: number;
}

/** What the playback processor posts: its state every few render quanta, and the result of each flush. */
export type PlaybackReport =
  | { type: "state"; bufferedMs: number; underruns: number; playedMs: number; overflowMs: number }
  | { type: "flushed"; droppedMs: number; bufferedMs: number };

/** The parts of AudioWorkletGlobalScope used here (TypeScript's DOM library does not describe that scope). */
interface WorkletScope {
  AudioWorkletProcessor: new () => { readonly port: MessagePort };
  registerProcessor(name: string, ctor: new (options: { processorOptions: Record<string, number> }) => unknown): void;
  sampleRate: number;
}

/** Runs inside the worklet scope. Uses nothing from outside its body but its arguments and globals. */
function workletMain(Resampler: typeof StreamResampler, Jitter: typeof JitterBuffer, names: [string, string], frameMs: number, targetMs: number): void {
  const g = globalThis as unknown as WorkletScope;
  const contextRate = g.sampleRate;

  class Capture extends g.AudioWorkletProcessor {
    private readonly rs: StreamResampler;
    private readonly frameSamples: number;
    private out: Float32Array;
    private frame: Int16Array;
    private fill = 0;

    constructor(options: { processorOptions: Record<string, number> }) {
      super();
      const rate = options.processorOptions.outRate ?? 16000;
      this.rs = new Resampler(contextRate, rate);
      this.frameSamples = Math.round((rate * frameMs) / 1000);
      this.out = new Float32Array(this.rs.maxOut(128));
      this.frame = new Int16Array(this.frameSamples);
    }

    process(inputs: Float32Array[][]): boolean {
      const ch = inputs[0]?.[0];
      if (ch === undefined) return true;
      if (this.out.length < this.rs.maxOut(ch.length)) this.out = new Float32Array(this.rs.maxOut(ch.length));
      const n = this.rs.process(ch, this.out);
      for (let i = 0; i < n; i++) {
        const v = this.out[i]!;
        this.frame[this.fill++] = v >= 1 ? 32767 : v <= -1 ? -32768 : Math.round(v * 32767);
        if (this.fill === this.frameSamples) this.emit();
      }
      return true;
    }

    private emit(): void {
      const f = this.frame;
      let peak = 0;
      for (let i = 0; i < f.length; i++) {
        const a = f[i]! < 0 ? -f[i]! : f[i]!;
        if (a > peak) peak = a;
      }
      this.port.postMessage({ pcm: f.buffer, peak: peak / 32768 }, [f.buffer]);
      this.frame = new Int16Array(this.frameSamples);
      this.fill = 0;
    }
  }

  class Playback extends g.AudioWorkletProcessor {
    private readonly rs: StreamResampler;
    private readonly jb: JitterBuffer;
    private staging = new Float32Array(0);
    private out = new Float32Array(0);
    private blocks = 0;

    constructor(options: { processorOptions: Record<string, number> }) {
      super();
      this.rs = new Resampler(options.processorOptions.inRate ?? 16000, contextRate);
      this.jb = new Jitter(contextRate, targetMs, 4000);
      this.port.onmessage = (e: MessageEvent) => {
        if (e.data instanceof ArrayBuffer) this.push(new Int16Array(e.data));
        else if (e.data?.type === "flush") {
          const droppedMs = this.jb.flush();
          this.rs.reset();
          this.port.postMessage({ type: "flushed", droppedMs, bufferedMs: this.jb.bufferedMs });
        }
      };
    }

    private push(pcm: Int16Array): void {
      if (this.staging.length < pcm.length) this.staging = new Float32Array(pcm.length);
      const x = this.staging.subarray(0, pcm.length);
      for (let i = 0; i < pcm.length; i++) x[i] = pcm[i]! / 32768;
      const need = this.rs.maxOut(x.length);
      if (this.out.length < need) this.out = new Float32Array(need);
      const n = this.rs.process(x, this.out);
      this.jb.push(this.out, n);
    }

    process(_inputs: Float32Array[][], outputs: Float32Array[][]): boolean {
      const chans = outputs[0];
      const first = chans?.[0];
      if (chans === undefined || first === undefined) return true;
      this.jb.pull(first);
      for (let c = 1; c < chans.length; c++) chans[c]!.set(first);
      // About every 30 ms at 48 kHz: enough for a level display and for tests, cheap for the thread.
      if (++this.blocks % 12 === 0) {
        const jb = this.jb;
        this.port.postMessage({
          type: "state",
          bufferedMs: jb.bufferedMs,
          underruns: jb.underruns,
          playedMs: (jb.playedSamples / contextRate) * 1000,
          overflowMs: (jb.overflowed / contextRate) * 1000,
        });
      }
      return true;
    }
  }

  g.registerProcessor(names[0], Capture);
  g.registerProcessor(names[1], Playback);
}

/** The worklet module's source text: the classes go in as expressions, so their names in the bundle do not matter. */
export function workletSource(): string {
  const args = [String(StreamResampler), String(JitterBuffer), JSON.stringify([CAPTURE, PLAYBACK]), FRAME_MS, JITTER_TARGET_MS];
  return `(${String(workletMain)})(${args.join(",\n")});\n`;
}
