// A Sautikit-like caller: signed webhook POST with the live field names, parses the <Stream> XML, opens the
// socket with audio.drachtio.org, sends a metadata text frame, then marked 20 ms frames on the shared clock.
// On the way back it feeds the media-server model and analyses each answer the bench asked for.
import { signBody } from "../src/signing/sautikit.ts";
import { PROTO, streamUrlFrom } from "../test/support/caller.ts";
import { FRAME_BYTES, writeMarkedFrame } from "./marker.ts";
import { MediaServerModel } from "./mediaserver-model.ts";
import { WireSocket } from "./wire.ts";

/** Above this a sample counts as "not silence" (the stand-in's tone is thousands; caller frames stay < 64). */
export const LOUD = 300;

export interface Answer {
  at: number; // the bench asked the stand-in to speak
  firstChunkAt: number; // the stand-in sent the answer's first audio chunk (or `at` when it cannot tell)
  ms: number;
  hz: number;
  interruptAt: number | null;
  /** Bytes received while this answer was the current one (tail included), and where its last non-zero byte
   *  ended: the delivered audio without the relay's trailing silence and frame padding. */
  bytes: number;
  audibleBytes: number;
  // received stream (arrival side)
  firstLoudAt: number | null;
  samples: number;
  firstLoud: number;
  lastLoud: number;
  crossings: number;
  firstCross: number;
  lastCross: number;
  prev: number;
  // played stream (media-server model)
  playing: boolean;
  pendingUnderMs: number;
  underrunMs: number;
  heardAfterInterruptMs: number;
  killAt: number | null;
}

export function newAnswer(at: number, ms: number, hz: number): Answer {
  return {
    at, firstChunkAt: at, ms, hz, interruptAt: null, bytes: 0, audibleBytes: 0,
    firstLoudAt: null, samples: 0, firstLoud: -1, lastLoud: -1, crossings: 0, firstCross: 0, lastCross: 0, prev: 0,
    playing: false, pendingUnderMs: 0, underrunMs: 0, heardAfterInterruptMs: 0, killAt: null,
  };
}

let callSeq = 0;

function hex(n: number): string {
  return n.toString(16).padStart(12, "0");
}

export class Call {
  readonly id = `HD_${hex(Date.now() * 1000 + (callSeq++ % 1000))}`;
  ws: WireSocket | undefined;
  open = false;
  closed = false;
  seq = 0;
  sentAt = new Float64Array(1024);
  recvAt = new Float64Array(1024); // uplink: when the stand-in got the frame's marker (0 = not yet)
  readonly answers: Answer[] = [];
  readonly model: MediaServerModel;
  kills = 0;
  private carry: Uint8Array | null = null;
  // One prebuilt WebSocket frame per call: the marker is written into its payload, then it is sent as it is.
  private readonly wire = WireSocket.binaryFrame(FRAME_BYTES);
  private readonly frame = this.wire.payload;
  private oddIn = -1;

  constructor(readonly idx: number, private readonly split: boolean, startMs: number, private readonly deep = true) {
    this.model = new MediaServerModel(startMs, LOUD, (t, real, loud) => this.onPlayed(t, real, loud));
  }

  async dial(base: string, secret: string): Promise<void> {
    const body = new URLSearchParams({
      sessionId: this.id,
      callerNumber: `+2547${String(10000000 + this.idx).slice(-8)}`,
      destinationNumber: "+254709000000",
      callSessionState: "Ringing",
      direction: "inbound",
      isActive: "true",
    }).toString();
    const res = await fetch(`${base}/voice`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "x-sautikit-signature": signBody(secret, body) },
      body,
    });
    const xml = await res.text();
    if (!res.ok) throw new Error(`webhook ${res.status}: ${xml.slice(0, 200)}`);
    const url = streamUrlFrom(xml);
    const ws = await WireSocket.connect(url, PROTO, {
      binary: (p) => this.onMessage(p),
      text: (t) => this.onMessage(t),
      closed: () => {
        this.open = false;
        this.closed = true;
      },
    });
    this.ws = ws;
    ws.sendText(JSON.stringify({ callSid: this.id, from: "+254700000001", to: "+254709000000", sampleRate: 16000 }));
    this.open = true;
  }

  /** Sends this call's next frame; `now` is the send time recorded for the uplink figure. */
  sendFrame(now: number): void {
    if (!this.open || !this.ws) return;
    const seq = this.seq++;
    if (seq >= this.sentAt.length) this.grow();
    writeMarkedFrame(this.frame, this.idx, seq);
    this.sentAt[seq] = now;
    if (!this.split) {
      this.ws.sendFrame(this.wire.frame);
      return;
    }
    // Split at an odd byte offset and carry the rest into the next message, as mod_audio_fork's coalescing
    // does; the marker sits in the head, so it still leaves on this frame's tick.
    const cut = 101 + 2 * ((seq * 37) % 200);
    const head = this.frame.subarray(0, cut);
    const prev = this.carry;
    const msg = new Uint8Array((prev?.length ?? 0) + head.length);
    if (prev) msg.set(prev, 0);
    msg.set(head, prev?.length ?? 0);
    this.carry = this.frame.slice(cut);
    this.ws.sendBinary(msg);
  }

  /** The stand-in got this call's frame `seq` at `t`. */
  uplink(seq: number, t: number): void {
    if (seq < this.seq && this.recvAt[seq] === 0) this.recvAt[seq] = t;
  }

  close(): void {
    this.open = false;
    try {
      this.ws?.close(1000);
    } catch {
      // already closing
    }
  }

  private grow(): void {
    const s = new Float64Array(this.sentAt.length * 2);
    s.set(this.sentAt);
    this.sentAt = s;
    const r = new Float64Array(this.recvAt.length * 2);
    r.set(this.recvAt);
    this.recvAt = r;
  }

  private answerAt(t: number): Answer | undefined {
    for (let i = this.answers.length - 1; i >= 0; i--) if (this.answers[i]!.at <= t) return this.answers[i];
    return undefined;
  }

  private onMessage(data: Uint8Array | string): void {
    const t = performance.now();
    if (typeof data === "string") {
      if (data.includes("killAudio")) {
        this.kills++;
        this.model.kill(t);
        const a = this.answerAt(t);
        if (a && a.killAt === null) a.killAt = t;
      }
      return;
    }
    const bytes = data; // a view into the socket's buffer, valid during this call
    this.model.audio(t, bytes);
    const a = this.answerAt(t);
    if (a) {
      for (let i = bytes.length - 1; i >= 0; i--) {
        if (bytes[i] !== 0) {
          a.audibleBytes = a.bytes + i + 1;
          break;
        }
      }
      a.bytes += bytes.length;
      this.analyse(a, bytes, t);
    }
  }

  /** Arrival-side figures: first loud sample, tone span and zero crossings (frequency). */
  private analyse(a: Answer, bytes: Uint8Array, t: number): void {
    // Big steps only need first audio: skip the per-sample work once it is found (it is the bench's CPU).
    if (!this.deep && (a.firstLoudAt !== null || bytes.length < 2)) return;
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let i = 0;
    const samples: number[] = [];
    if (this.oddIn >= 0 && bytes.length > 0) {
      samples.push(((this.oddIn | (bytes[0]! << 8)) << 16) >> 16);
      this.oddIn = -1;
      i = 1;
    }
    const n = (bytes.length - i) >> 1;
    let prev = a.prev;
    const visit = (x: number) => {
      const idx = a.samples++;
      if (x > LOUD || x < -LOUD) {
        if (a.firstLoud < 0) {
          a.firstLoud = idx;
          a.firstLoudAt = t;
        }
        a.lastLoud = idx;
      }
      // Rising zero crossings with sub-sample interpolation; ignore near-silent wiggles.
      if (prev < 0 && x >= 0 && x - prev > LOUD / 4) {
        const pos = idx - 1 + -prev / (x - prev);
        if (a.crossings === 0) a.firstCross = pos;
        a.lastCross = pos;
        a.crossings++;
      }
      prev = x;
    };
    for (const x of samples) visit(x);
    for (let k = 0; k < n; k++) visit(dv.getInt16(i + k * 2, true));
    a.prev = prev;
    if (i + n * 2 < bytes.length) this.oddIn = bytes[bytes.length - 1]!;
  }

  /** Played-side figures from the media-server model: underruns inside an answer, audio heard after interrupt. */
  private onPlayed(t: number, real: number, loud: boolean): void {
    const a = this.answerAt(t);
    if (!a) return;
    const shortMs = (320 - real) / 16;
    if (loud) {
      if (a.interruptAt !== null && t > a.interruptAt) a.heardAfterInterruptMs += real / 16;
      // Silence before this loud tick was inside the answer: it was an underrun.
      if (a.playing) a.underrunMs += a.pendingUnderMs;
      a.pendingUnderMs = shortMs;
      a.playing = true;
    } else if (a.playing) {
      a.pendingUnderMs += shortMs;
    }
  }
}
