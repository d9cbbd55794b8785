// A Sautikit-like caller: what the media server does on the audio socket (subprotocol audio.drachtio.org,
// metadata text frame, binary PCM), as a real WebSocket client recording every frame it gets.
import { until } from "./wait.ts";

export const PROTO = "audio.drachtio.org";

/** A bare upgrade request as a media server sends it (no WebSocket client), to see the HTTP status the relay
 *  answers with (101 when it would accept it). */
export function rawUpgrade(url: string, protocol: string | null = PROTO): Promise<Response> {
  const headers: Record<string, string> = {
    upgrade: "websocket",
    connection: "Upgrade",
    "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
    "sec-websocket-version": "13",
  };
  if (protocol !== null) headers["sec-websocket-protocol"] = protocol;
  return fetch(url.replace(/^ws/, "http"), { headers });
}

/** The stream URL from the relay's <Stream url="…"> answer, with XML entities undone. */
export function streamUrlFrom(xml: string): string {
  const m = /<Stream\b[^>]*\burl="([^"]+)"/.exec(xml);
  if (!m) throw new Error(`no <Stream url> in webhook answer: ${xml.slice(0, 200)}`);
  return m[1]!.replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

/** A Sautikit-like caller: a real WebSocket client recording every frame it gets. */
export class Caller {
  readonly ws: WebSocket;
  readonly frames: Uint8Array[] = [];
  readonly texts: string[] = [];
  readonly frameAt: number[] = [];
  opened = false;
  closed: { code: number; reason: string } | undefined;
  error = false;

  constructor(url: string, protocols: string[] = [PROTO]) {
    this.ws = new WebSocket(url, protocols);
    this.ws.binaryType = "arraybuffer";
    this.ws.onopen = () => (this.opened = true);
    this.ws.onerror = () => (this.error = true);
    this.ws.onclose = (e) => (this.closed = { code: e.code, reason: e.reason });
    this.ws.onmessage = (e) => {
      if (typeof e.data === "string") this.texts.push(e.data);
      else {
        this.frames.push(new Uint8Array(e.data as ArrayBuffer));
        this.frameAt.push(performance.now());
      }
    };
  }

  /** `await using c = ...`: the socket is closed when the test scope ends. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.closed === undefined && this.ws.readyState <= WebSocket.OPEN) this.ws.close();
  }

  async open(): Promise<this> {
    await until(() => this.opened || this.closed !== undefined, "caller socket open");
    if (!this.opened) throw new Error(`caller socket did not open: ${JSON.stringify(this.closed)}`);
    return this;
  }

  /** Audio received so far (frames `from` on), ms of S16LE mono at `rate`: frame sizes follow PLAYOUT_FRAME_MS. */
  audioMs(from = 0, rate = 16000): number {
    let bytes = 0;
    for (let i = from; i < this.frames.length; i++) bytes += this.frames[i]!.byteLength;
    return bytes / (rate / 500);
  }

  /** Samples the caller heard that are not silence. */
  loudSamples(from = 0): number {
    let n = 0;
    for (let i = from; i < this.frames.length; i++) {
      const f = this.frames[i]!;
      const v = new DataView(f.buffer, f.byteOffset, f.byteLength);
      for (let j = 0; j + 1 < f.byteLength; j += 2) if (Math.abs(v.getInt16(j, true)) > 200) n++;
    }
    return n;
  }
}

/** Quiet 16 kHz PCM (below the stand-in's speech threshold) with a running sample counter, for exact-stream checks. */
export function numberedPcm(samples: number, start: number): Uint8Array {
  const out = new Uint8Array(samples * 2);
  const v = new DataView(out.buffer);
  for (let i = 0; i < samples; i++) v.setInt16(i * 2, ((start + i) % 200) - 100, true);
  return out;
}
