// The contract between the Sautikit audio socket (src/telephony) and a call (src/call).

/** What a call may do to its Sautikit audio socket. Return values follow Bun's ws.send(): >0 bytes written,
 *  -1 queued under backpressure (wait for drain), 0 dropped (over the limit, or closed). */
export interface CallSocket {
  readonly callId: string;
  sendAudio(frame: Uint8Array): number;
  sendText(text: string): number;
  /** Batches several sends into one syscall (timer callbacks are not auto-corked). */
  cork(fn: () => void): void;
  close(code?: number, reason?: string): void;
}

/** What the socket layer hands a call. `pcm` holds whole S16LE samples and is only valid during the call. */
export interface CallHandler {
  onMetadata(meta: Record<string, unknown> | undefined, raw: string): void;
  onAudio(pcm: Uint8Array): void;
  onText(text: string): void;
  onDrain(): void;
  onClose(code: number, reason: string): void;
}
