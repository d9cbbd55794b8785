// The Sautikit audio socket (mod_audio_fork, subprotocol audio.drachtio.org; docs/sautikit-stream.md#audio-framing).
// Where a caller frame enters the relay: binary frames are S16LE mono PCM treated as a byte stream
// (frames may be coalesced or split at any byte), text frames are metadata or notices.
// The console's browser softphone speaks the same protocol on its own socket kind; only its hang-up differs.
import type { ServerWebSocket, WebSocketHandler } from "bun";
import { LogLimit } from "../log-limit.ts";
import { clip, type Logger } from "../log.ts";
import { hangupCall, type HangupOptions } from "./hangup.ts";
import { SilenceWatch } from "./silence-watch.ts";
import type { CallHandler, CallSocket } from "./types.ts";

export const SUBPROTOCOL = "audio.drachtio.org";
/** mod_audio_fork buffers up to 2 s and writes it as one frame when it falls behind: 2 s @16 kHz = 64000 B. */
export const MAX_FRAME_BYTES = 64 * 1024;
/** About 1 s of 16 kHz audio: we keep a lead of a few frames, so anything near this means the peer stopped reading. */
export const BACKPRESSURE_LIMIT = 64 * 1024;
/** Tells the media server to drop what it buffered; only the jambonz build of mod_audio_fork honours it, and the
 *  console's softphone always does (docs/sautikit-stream.md#killaudio). */
export const KILL_AUDIO = '{"type":"killAudio"}';

/** What both audio socket kinds carry in ws.data. */
export interface AudioSocketData {
  /** Tag for the server's one WebSocket dispatcher. */
  kind: "media" | "softphone";
  source: "phone" | "browser";
  callId: string;
  log: Logger;
  handler: CallHandler | undefined;
  /** Odd byte held over from the previous binary frame, or -1. */
  carry: number;
  scratch: Buffer | undefined;
  sawText: boolean;
  sawAudio: boolean;
  framesIn: number;
  bytesIn: number;
  /** Frames of any kind (text, empty, audio): what the silence watch looks at. */
  framesSeen: number;
  textFrames: number;
  /** killAudio messages sent (barge-ins the far end was told to drop its buffer for). */
  clears: number;
  /** Repeated per-socket log lines (text frames) are logged a few times, then counted. */
  limit: LogLimit;
}

/** Sautikit's media server. */
export type SocketData = AudioSocketData & { kind: "media"; source: "phone" };
/** The console's browser softphone. */
export type SoftphoneSocketData = AudioSocketData & { kind: "softphone"; source: "browser" };

// One object literal with every field, no spread: JSC keeps a literal's fields inside the object, where a spread
// added the rest in a separate out-of-line store, one more cache miss on every caller frame.
function state<K extends AudioSocketData["kind"], S extends AudioSocketData["source"]>(kind: K, source: S, callId: string, log: Logger) {
  return {
    kind,
    source,
    callId,
    log,
    handler: undefined,
    carry: -1,
    scratch: undefined,
    sawText: false,
    sawAudio: false,
    framesIn: 0,
    bytesIn: 0,
    framesSeen: 0,
    textFrames: 0,
    clears: 0,
    limit: new LogLimit(log),
  };
}

export function socketData(callId: string, log: Logger): SocketData {
  return state("media", "phone", callId, log);
}

export function softphoneSocketData(callId: string, log: Logger): SoftphoneSocketData {
  return state("softphone", "browser", callId, log);
}

export type StartCall = (socket: CallSocket, log: Logger) => CallHandler;

/** Sautikit REST credentials; undefined when SAUTIKIT_API_KEY is not set (main.ts warns at start). */
export type RestHangup = HangupOptions | undefined;

function callSocket(ws: ServerWebSocket<AudioSocketData>, o: AudioSocketOptions): CallSocket {
  const browser = ws.data.source === "browser";
  const rest = o.rest;
  // The browser softphone always honours killAudio; the media server only in its jambonz build (SEND_KILL_AUDIO).
  const clears = browser || o.sendKillAudio;
  return {
    callId: ws.data.callId,
    source: ws.data.source,
    sendAudio: (frame) => ws.sendBinary(frame),
    sendText: (text) => ws.sendText(text),
    clearAudio() {
      if (!clears) return false;
      ws.data.clears++;
      ws.sendText(KILL_AUDIO);
      return true;
    },
    cork: (fn) => {
      ws.cork(fn);
    },
    close: (code, reason) => ws.close(code, reason),
    // Closing the media socket does not end a connect="true" stream (docs/sautikit-stream.md#hanging-up).
    async hangup(reason) {
      // A browser call is nothing but its socket: closing it is the whole hang-up.
      if (browser) {
        ws.close(1000, reason.slice(0, 100));
        return;
      }
      // Without REST credentials main.ts warned once at start; per call this is only worth an info line.
      if (rest !== undefined) await hangupCall(rest, ws.data.callId, ws.data.log);
      else ws.data.log.info({ reason }, "no SAUTIKIT_API_KEY: closing the socket only");
      ws.close(1000, reason.slice(0, 100));
    },
  };
}

/** Runs a handler callback; a fault in one call closes that call's socket and nothing else. */
function guarded(ws: ServerWebSocket<AudioSocketData>, what: string, fn: (h: CallHandler) => void): void {
  const h = ws.data.handler;
  if (!h) return;
  try {
    fn(h);
  } catch (err) {
    failed(ws, h, what, err);
  }
}

/** A handler threw: its call ends and its socket closes; no other call notices. */
function failed(ws: ServerWebSocket<AudioSocketData>, h: CallHandler, what: string, err: unknown): void {
  ws.data.log.error({ err, where: what }, "call handler failed; closing this call's socket");
  ws.data.handler = undefined;
  try {
    h.onClose(1011, "handler failed");
  } catch {
    // already failing; the socket close below is what matters
  }
  ws.close(1011, "internal error");
}

/** guarded() for caller audio, without a closure per frame: every caller frame passes here. */
function audio(ws: ServerWebSocket<AudioSocketData>, d: AudioSocketData, pcm: Uint8Array): void {
  const h = d.handler;
  if (!h) return;
  try {
    h.onAudio(pcm);
  } catch (err) {
    failed(ws, h, "audio", err);
  }
}

function onBinary(ws: ServerWebSocket<AudioSocketData>, d: AudioSocketData, msg: Buffer): void {
  const n = msg.length;
  if (n === 0) return; // mod_audio_fork sends an empty frame on graceful stop
  d.framesIn++;
  d.bytesIn += n;
  if (!d.sawAudio) {
    d.sawAudio = true;
    d.log.info({ bytes: n }, "first caller audio");
  }
  if (d.carry < 0) {
    if ((n & 1) === 0) return audio(ws, d, msg);
    d.carry = msg[n - 1]!;
    if (n > 1) audio(ws, d, msg.subarray(0, n - 1));
    return;
  }
  // Rare path: the previous frame ended mid-sample. Join through a per-socket scratch buffer.
  const scratch = (d.scratch ??= Buffer.allocUnsafe(MAX_FRAME_BYTES + 2));
  scratch[0] = d.carry;
  msg.copy(scratch, 1);
  const total = n + 1;
  const whole = total & ~1;
  d.carry = whole === total ? -1 : scratch[total - 1]!;
  audio(ws, d, scratch.subarray(0, whole));
}

function onText(ws: ServerWebSocket<AudioSocketData>, text: string): void {
  const d = ws.data;
  if (!d.sawText && !d.sawAudio) {
    d.sawText = true;
    let meta: Record<string, unknown> | undefined;
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)) meta = parsed as Record<string, unknown>;
    } catch {
      // the metadata schema is undocumented; never fail on it
    }
    const keys = meta ? Object.keys(meta) : [];
    d.log.info({ keys: keys.slice(0, 20).map((k) => clip(k, 32)), keyCount: keys.length, bytes: text.length, json: meta !== undefined }, "stream metadata");
    return guarded(ws, "metadata", (h) => h.onMetadata(meta, text));
  }
  d.sawText = true;
  d.textFrames++;
  // Anyone holding the stream URL can send text frames; a flood of them must not flood the log.
  d.limit.info("text_frame", { text: clip(text, 200) }, "stream text frame");
  guarded(ws, "text", (h) => h.onText(text));
}

export interface AudioSocketOptions {
  /** Sautikit REST credentials for phone calls' hang-up; undefined for browser calls or when not configured. */
  rest: RestHangup;
  /** Send killAudio to the media server on barge-in (SEND_KILL_AUDIO); the softphone gets it regardless. */
  sendKillAudio: boolean;
  /** No frame of any kind for this long ends the call as media_lost (CALLER_SILENCE_TIMEOUT_S); 0 = off. */
  silenceTimeoutMs: number;
  /** The socket is gone (after the call heard of it): the server marks the stream URL used up. */
  closed?: (callId: string) => void;
}

/** The media path is gone while the socket stays up: the call ends (and hangs up); no call, just close. */
function mediaLost(ws: ServerWebSocket<AudioSocketData>, quietMs: number): void {
  const d = ws.data;
  d.log.warn({ quietMs: Math.round(quietMs), framesIn: d.framesIn }, "no frame from the caller's socket: the media path is lost, ending the call");
  if (d.handler === undefined) {
    ws.close(1001, "media lost");
    return;
  }
  guarded(ws, "media lost", (h) => h.onMediaLost(quietMs));
}

/** Handlers for either audio socket kind; `rest` is only used by phone calls. */
export function audioSocketHandlers<D extends AudioSocketData>(startCall: StartCall, o: AudioSocketOptions): WebSocketHandler<D> {
  const watch = new SilenceWatch<ServerWebSocket<D>>(o.silenceTimeoutMs, (ws) => ws.data.framesSeen, mediaLost);
  return {
    data: {} as D,
    maxPayloadLength: MAX_FRAME_BYTES,
    backpressureLimit: BACKPRESSURE_LIMIT,
    closeOnBackpressureLimit: false,
    idleTimeout: 60,
    sendPings: true,
    perMessageDeflate: false,
    open(ws) {
      ws.binaryType = "nodebuffer";
      ws.data.log.info("audio socket open");
      watch.add(ws);
      try {
        ws.data.handler = startCall(callSocket(ws, o), ws.data.log);
      } catch (err) {
        ws.data.log.error({ err }, "could not start call");
        ws.close(1011, "could not start call");
      }
    },
    message(ws, msg) {
      const d = ws.data;
      d.framesSeen++;
      if (typeof msg === "string") onText(ws, msg);
      else onBinary(ws, d, msg as Buffer);
    },
    drain(ws) {
      guarded(ws, "drain", (h) => h.onDrain());
    },
    close(ws, code, reason) {
      const d = ws.data;
      watch.remove(ws);
      d.log.info(
        { code, reason: clip(reason, 100), framesIn: d.framesIn, bytesIn: d.bytesIn, textFrames: d.textFrames, killAudioSent: d.clears, suppressedLogs: d.limit.suppressed() },
        "audio socket closed",
      );
      const h = d.handler;
      d.handler = undefined;
      if (h) {
        try {
          h.onClose(code, reason);
        } catch (err) {
          d.log.error({ err }, "call close handler failed");
        }
      }
      o.closed?.(d.callId);
    },
  };
}
