// A lean WebSocket client for the load generator: a plain TCP socket (Bun.connect) speaking just enough RFC 6455
// to play a media server. Bun's WebSocket client spends far more per message than the relay under test, so at a
// thousand calls the bench, not the relay, would set the limit. Here each 20 ms frame is one prebuilt buffer and
// one write: the header is written once per call, the mask key is zero (a valid key: XOR with zero), and only the
// 20 marker bytes change between frames.
import type { Socket } from "bun";

export interface WireEvents {
  binary(payload: Uint8Array): void;
  text(payload: string): void;
  closed(code: number): void;
}

const decoder = new TextDecoder();

/** Client frame header for a payload of `len` bytes (< 65536), FIN set, zero mask key. */
function header(opcode: number, len: number): Uint8Array {
  if (len < 126) return Uint8Array.of(0x80 | opcode, 0x80 | len, 0, 0, 0, 0);
  return Uint8Array.of(0x80 | opcode, 0x80 | 126, len >> 8, len & 0xff, 0, 0, 0, 0);
}

export class WireSocket {
  private sock: Socket<undefined> | undefined;
  private inbuf = new Uint8Array(64 * 1024);
  private inLen = 0;
  private upgraded = false;
  private pending: Uint8Array[] = []; // written under backpressure, flushed on drain
  private ended = false;

  private constructor(private readonly events: WireEvents) {}

  /** Opens `ws://host:port/path?query` offering `protocol`; resolves once the 101 names it. */
  static connect(url: string, protocol: string, events: WireEvents, timeoutMs = 10_000): Promise<WireSocket> {
    const u = new URL(url);
    const w = new WireSocket(events);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("socket open timeout")), timeoutMs);
      let settle = (err?: Error) => {
        clearTimeout(timer);
        settle = () => {};
        if (err) reject(err);
        else resolve(w);
      };
      Bun.connect({
        hostname: u.hostname,
        port: Number(u.port),
        socket: {
          open(sock) {
            w.sock = sock;
            const key = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64");
            sock.write(
              `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
                `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ${protocol}\r\n\r\n`,
            );
          },
          data(_sock, chunk) {
            const err = w.onData(chunk, protocol);
            if (err) settle(err);
            else if (w.upgraded) settle();
          },
          drain() {
            w.flushPending();
          },
          close() {
            w.finish(1006);
            settle(new Error("socket closed during handshake"));
          },
          error(_sock, e) {
            settle(e instanceof Error ? e : new Error(String(e)));
          },
        },
      }).catch((e: unknown) => settle(e instanceof Error ? e : new Error(String(e))));
    });
  }

  /** A reusable binary frame: header + `payloadBytes`; write the payload into `payload`, then send(frame). */
  static binaryFrame(payloadBytes: number): { frame: Uint8Array; payload: Uint8Array } {
    const h = header(2, payloadBytes);
    const frame = new Uint8Array(h.length + payloadBytes);
    frame.set(h, 0);
    return { frame, payload: frame.subarray(h.length) };
  }

  get open(): boolean {
    return this.upgraded && !this.ended;
  }

  /** Sends a prebuilt frame (see binaryFrame); the bytes are copied into the kernel or the pending list. */
  sendFrame(frame: Uint8Array): void {
    if (!this.open) return;
    if (this.pending.length > 0) {
      this.pending.push(frame.slice());
      return;
    }
    const n = this.sock!.write(frame);
    if (n < frame.length) this.pending.push(frame.slice(Math.max(0, n)));
  }

  sendBinary(payload: Uint8Array): void {
    const h = header(2, payload.length);
    const f = new Uint8Array(h.length + payload.length);
    f.set(h, 0);
    f.set(payload, h.length);
    this.sendFrame(f);
  }

  sendText(text: string): void {
    const p = new TextEncoder().encode(text);
    const h = header(1, p.length);
    const f = new Uint8Array(h.length + p.length);
    f.set(h, 0);
    f.set(p, h.length);
    this.sendFrame(f);
  }

  close(code = 1000): void {
    if (!this.open) return;
    this.sendFrame(Uint8Array.of(0x88, 0x82, 0, 0, 0, 0, code >> 8, code & 0xff));
    this.sock?.end();
    this.finish(code);
  }

  private finish(code: number): void {
    if (this.ended) return;
    this.ended = true;
    if (this.upgraded) this.events.closed(code);
  }

  private flushPending(): void {
    while (this.pending.length > 0 && this.sock !== undefined) {
      const f = this.pending[0]!;
      const n = this.sock.write(f);
      if (n < f.length) {
        this.pending[0] = f.slice(Math.max(0, n));
        return;
      }
      this.pending.shift();
    }
  }

  private onData(chunk: Uint8Array, protocol: string): Error | undefined {
    if (this.inLen + chunk.length > this.inbuf.length) {
      const next = new Uint8Array(Math.max(this.inbuf.length * 2, this.inLen + chunk.length));
      next.set(this.inbuf.subarray(0, this.inLen));
      this.inbuf = next;
    }
    this.inbuf.set(chunk, this.inLen);
    this.inLen += chunk.length;
    if (!this.upgraded) {
      const head = decoder.decode(this.inbuf.subarray(0, this.inLen));
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return undefined;
      if (!/^HTTP\/1\.1 101/.test(head)) return new Error(`upgrade refused: ${head.split("\r\n")[0]}`);
      if (!new RegExp(`^sec-websocket-protocol:\\s*${protocol}\\s*$`, "im").test(head.slice(0, end))) {
        return new Error("upgrade did not select the subprotocol");
      }
      const used = Buffer.byteLength(head.slice(0, end + 4));
      this.inbuf.copyWithin(0, used, this.inLen);
      this.inLen -= used;
      this.upgraded = true;
    }
    this.parseFrames();
    return undefined;
  }

  private parseFrames(): void {
    let off = 0;
    const b = this.inbuf;
    while (this.inLen - off >= 2) {
      const op = b[off]! & 0x0f;
      let len = b[off + 1]! & 0x7f;
      let p = off + 2;
      if (len === 126) {
        if (this.inLen - off < 4) break;
        len = (b[off + 2]! << 8) | b[off + 3]!;
        p = off + 4;
      } else if (len === 127) {
        if (this.inLen - off < 10) break;
        len = Number(new DataView(b.buffer, b.byteOffset + off + 2, 8).getBigUint64(0));
        p = off + 10;
      }
      if (this.inLen - p < len) break;
      const payload = b.subarray(p, p + len);
      if (op === 2) this.events.binary(payload);
      else if (op === 1) this.events.text(decoder.decode(payload));
      else if (op === 9) this.sendFrame(Uint8Array.of(0x8a, 0x80 | len, 0, 0, 0, 0, ...payload)); // pong
      else if (op === 8) {
        const code = len >= 2 ? (payload[0]! << 8) | payload[1]! : 1005;
        this.sock?.end();
        this.finish(code);
      }
      off = p + len;
    }
    if (off > 0) {
      b.copyWithin(0, off, this.inLen);
      this.inLen -= off;
    }
  }
}
