// A call's recording on the calls page: the stereo WAV fetched once with the admin header (the page needs every
// sample to draw it anyway), drawn as two lanes, caller above and agent below, and played from memory, so seeking
// is instant. Clicking the waveform seeks there; the transcript's lines seek to where they were said (seekTo).
import { fetchBytes } from "./api.ts";
import { h } from "./ui.ts";

/** Peaks per lane, one per column, 0..1: what is drawn (and what the page's tests read). */
export interface Lanes {
  caller: Float32Array;
  agent: Float32Array;
  durationS: number;
}

export interface RecordingView {
  el: HTMLElement;
  /** Moves the playhead to `ms` into the call and plays from there. */
  seekTo(ms: number): void;
}

const COLUMNS = 600;
const HEIGHT = 120;
const CALLER = "#3b6fd4";
const AGENT = "#0b7a5c";

/** The two lanes of a 16-bit stereo PCM WAV (the relay's own format: a 44-byte header, then interleaved frames). */
export function lanesOf(buf: ArrayBuffer, columns = COLUMNS): Lanes | undefined {
  if (buf.byteLength < 44) return undefined;
  const v = new DataView(buf);
  const tag = (at: number) => String.fromCharCode(v.getUint8(at), v.getUint8(at + 1), v.getUint8(at + 2), v.getUint8(at + 3));
  if (tag(0) !== "RIFF" || tag(8) !== "WAVE" || tag(36) !== "data" || v.getUint16(22, true) !== 2 || v.getUint16(34, true) !== 16) return undefined;
  const rate = v.getUint32(24, true);
  const bytes = Math.min(v.getUint32(40, true), buf.byteLength - 44);
  const frames = Math.floor(bytes / 4);
  const pcm = new Int16Array(buf, 44, frames * 2);
  const caller = new Float32Array(columns);
  const agent = new Float32Array(columns);
  for (let c = 0; c < columns; c++) {
    const from = Math.floor((c * frames) / columns);
    const to = Math.floor(((c + 1) * frames) / columns);
    let l = 0;
    let r = 0;
    for (let i = from; i < to; i++) {
      const a = Math.abs(pcm[2 * i]!);
      const b = Math.abs(pcm[2 * i + 1]!);
      if (a > l) l = a;
      if (b > r) r = b;
    }
    caller[c] = l / 32768;
    agent[c] = r / 32768;
  }
  return { caller, agent, durationS: frames / rate };
}

function draw(canvas: HTMLCanvasElement, lanes: Lanes, playedS: number): void {
  const g = canvas.getContext("2d");
  if (g === null) return;
  const w = canvas.width;
  const half = canvas.height / 2;
  g.clearRect(0, 0, w, canvas.height);
  g.fillStyle = "#f0f2f5";
  g.fillRect(0, half - 0.5, w, 1);
  const cols = lanes.caller.length;
  const lane = (peaks: Float32Array, mid: number, color: string) => {
    g.fillStyle = color;
    for (let c = 0; c < cols; c++) {
      // A square root, as the level bars: quiet speech stays visible.
      const amp = Math.sqrt(peaks[c]!) * (half / 2 - 2);
      if (amp < 0.5) continue;
      g.fillRect((c * w) / cols, mid - amp, Math.max(1, w / cols), 2 * amp);
    }
  };
  lane(lanes.caller, half / 2, CALLER);
  lane(lanes.agent, half + half / 2, AGENT);
  if (lanes.durationS > 0) {
    g.fillStyle = "#1d2430";
    g.fillRect(Math.min(w - 1, (playedS / lanes.durationS) * w), 0, 1.5, canvas.height);
  }
}

/** The player for call `id`; it loads the file itself. */
export function recordingView(id: string): RecordingView {
  const canvas = h("canvas", { id: "waveform", width: String(COLUMNS), height: String(HEIGHT), "aria-label": "waveform: caller above, agent below" });
  const audio = h("audio", { id: "player", controls: "", preload: "auto" });
  const status = h("span", { class: "muted" }, "Loading the recording…");
  const el = h(
    "div",
    { id: "recording", "data-state": "loading" },
    h("div", { class: "lanes muted" }, h("span", { class: "lane-caller" }, "caller"), " above, ", h("span", { class: "lane-agent" }, "agent"), " below · ", status),
    canvas,
    audio,
  );
  let lanes: Lanes | undefined;
  let pendingSeekS: number | undefined;
  const redraw = () => lanes !== undefined && draw(canvas, lanes, audio.currentTime);
  const tick = () => {
    redraw();
    if (!audio.paused) requestAnimationFrame(tick);
  };
  audio.addEventListener("play", () => requestAnimationFrame(tick));
  audio.addEventListener("seeked", redraw);
  audio.addEventListener("timeupdate", redraw);
  audio.addEventListener("loadedmetadata", () => {
    if (pendingSeekS !== undefined) audio.currentTime = pendingSeekS;
    pendingSeekS = undefined;
  });
  const seekS = (s: number) => {
    if (audio.readyState >= 1) audio.currentTime = s;
    else pendingSeekS = s;
    redraw();
  };
  canvas.addEventListener("click", (e) => {
    if (lanes === undefined) return;
    const box = canvas.getBoundingClientRect();
    seekS(((e.clientX - box.left) / box.width) * lanes.durationS);
  });
  void fetchBytes(`/api/calls/${encodeURIComponent(id)}/recording`).then(
    (r) => {
      if (r.bytes === undefined) {
        el.dataset.state = "missing";
        status.textContent = r.error ?? `no recording (HTTP ${r.status})`;
        return;
      }
      lanes = lanesOf(r.bytes);
      if (lanes === undefined) {
        el.dataset.state = "unreadable";
        status.textContent = "The recording is not a WAV this page can read.";
        return;
      }
      audio.src = URL.createObjectURL(new Blob([r.bytes], { type: "audio/wav" }));
      el.dataset.state = "ready";
      status.textContent = `${Math.round(lanes.durationS)} s`;
      (globalThis as unknown as { __recording?: Lanes }).__recording = lanes;
      redraw();
    },
    (err: unknown) => {
      el.dataset.state = "failed";
      status.textContent = `Could not load the recording: ${String(err)}`;
    },
  );
  return {
    el,
    seekTo: (ms) => {
      seekS(Math.max(0, ms / 1000));
      void audio.play().catch(() => undefined);
    },
  };
}
