// A CallSocket double for testing a Call without a server: it records what the call sends to the caller (audio
// frames, texts, clears, hang-ups) and answers sends the way Bun's ws.send does (bytes written).
import type { CallSocket, CallSource } from "../../src/telephony/types.ts";

export class SocketDouble implements CallSocket {
  readonly frames: Uint8Array[] = [];
  readonly texts: string[] = [];
  clears = 0;
  readonly hangups: string[] = [];
  closed: { code?: number; reason?: string } | undefined;

  constructor(
    readonly callId = "call-1",
    readonly source: CallSource = "phone",
  ) {}

  sendAudio(frame: Uint8Array): number {
    this.frames.push(new Uint8Array(frame));
    return frame.length;
  }

  sendText(text: string): number {
    this.texts.push(text);
    return text.length;
  }

  clearAudio(): boolean {
    this.clears++;
    return true;
  }

  cork(fn: () => void): void {
    fn();
  }

  close(code?: number, reason?: string): void {
    this.closed = { code, reason };
  }

  hangup(reason: string): Promise<void> {
    this.hangups.push(reason);
    this.close(1000, reason);
    return Promise.resolve();
  }

  /** Audio sent to the caller so far, ms at `rate`. */
  audioMs(rate: number): number {
    return (this.frames.reduce((n, f) => n + f.length, 0) / 2 / rate) * 1000;
  }
}
