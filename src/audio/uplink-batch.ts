// Optional uplink batching (UPLINK_BATCH_MS): gathers caller audio at the model's rate until a batch is full, then
// hands it on as one chunk, so the model leg sends one message (one syscall) per batch instead of per frame. It
// costs up to the batch duration in latency; 0 forwards every frame at once (the default). No allocation per
// frame: one buffer per call, and the view handed out is cached while batches keep one size.

export class UplinkBatcher {
  private readonly buf: Buffer;
  private fill = 0;
  private view: Buffer;

  constructor(
    readonly batchBytes: number,
    private readonly send: (chunk: Uint8Array) => void,
  ) {
    // Room for a full batch plus one large coalesced frame (mod_audio_fork writes up to 2 s at once when late).
    this.buf = Buffer.allocUnsafeSlow(batchBytes + 64 * 1024);
    this.view = this.buf.subarray(0, 0);
  }

  push(pcm: Uint8Array): void {
    if (this.fill + pcm.byteLength > this.buf.length) this.flush();
    if (pcm.byteLength > this.buf.length) return this.send(pcm);
    this.buf.set(pcm, this.fill);
    this.fill += pcm.byteLength;
    if (this.fill >= this.batchBytes) this.flush();
  }

  /** Sends what is gathered (end of call, or a caller pause). */
  flush(): void {
    const n = this.fill;
    if (n === 0) return;
    this.fill = 0;
    if (this.view.length !== n) this.view = this.buf.subarray(0, n);
    this.send(this.view);
  }
}
