// The contract between a telephony socket (src/telephony: Sautikit's media stream, or the console's browser
// softphone) and a call (src/call). Owned here because the socket side calls into a CallHandler and hands out a
// CallSocket.

/** Where a call's audio comes from: a phone call through Sautikit, or the console's softphone. */
export type CallSource = "phone" | "browser";

/** What a call may do to its audio socket. Return values follow Bun's ws.send(): >0 bytes written,
 *  -1 queued under backpressure (wait for drain), 0 dropped (over the limit, or closed). */
export interface CallSocket {
  readonly callId: string;
  readonly source: CallSource;
  sendAudio(frame: Uint8Array): number;
  sendText(text: string): number;
  /** Barge-in: the far end drops the audio it buffered, as far as its protocol allows (killAudio for
   *  mod_audio_fork's jambonz build and the softphone; nothing for a media server that cannot). True when the far
   *  end was told to drop it. */
  clearAudio(): boolean;
  /** Batches several sends into one syscall (timer callbacks are not auto-corked). */
  cork(fn: () => void): void;
  close(code?: number, reason?: string): void;
  /**
   * Ends the call for the caller, not just the socket: for a phone call, the telephony provider's REST hang-up
   * (closing the media socket alone leaves the caller on dead air), then the close. Never throws.
   */
  hangup(reason: string): Promise<void>;
}

/** What the socket layer hands a call. `pcm` holds whole S16LE samples and is only valid during the call. */
export interface CallHandler {
  onMetadata(meta: Record<string, unknown> | undefined, raw: string): void;
  onAudio(pcm: Uint8Array): void;
  onText(text: string): void;
  onDrain(): void;
  /** No frame of any kind came for `quietMs` (CALLER_SILENCE_TIMEOUT_S): end the call for the caller too. */
  onMediaLost(quietMs: number): void;
  onClose(code: number, reason: string): void;
}
