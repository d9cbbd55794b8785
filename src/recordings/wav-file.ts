// One recording's file as the main thread sees it: batches go to the process's disk writer (writer-worker.ts, a
// thread of its own), gathered for a few ms so that all recordings' batches travel in one message. Nothing here
// waits for the disk. A file whose writes fall more than `maxQueuedBytes` behind is given up (a disk that slow
// would otherwise make the process hold ever more audio); the writer's own failures come back as messages.
import type { FromWriter, ToWriter, WriterError } from "./writer-protocol.ts";

/** Batches wait this long for others to go with them to the writer thread. */
const GATHER_MS = 50;

export interface WavFileOptions {
  dir: string;
  callId: string;
  /** This process's tag in the part file's name (names.ts). */
  tag: string;
  rate: number;
  maxQueuedBytes: number;
  /** The first failure, once. */
  failed(err: Error): void;
}

function asError(e: WriterError): Error {
  return Object.assign(new Error(e.code !== undefined && !e.message.startsWith(e.code) ? `${e.code}: ${e.message}` : e.message), { code: e.code });
}

/** The process's writer thread, started with the first recording. */
class DiskWriter {
  private worker: Worker | undefined;
  private outbox: ToWriter[] = [];
  private transfer: ArrayBuffer[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private nextId = 1;
  readonly files = new Map<number, WavFile>();

  register(f: WavFile): number {
    const id = this.nextId++;
    this.files.set(id, f);
    return id;
  }

  send(m: ToWriter, buf?: ArrayBuffer): void {
    this.outbox.push(m);
    if (buf !== undefined) this.transfer.push(buf);
    this.timer ??= setTimeout(() => this.flush(), GATHER_MS);
  }

  private start(): Worker {
    const w = new Worker(new URL("./writer-worker.ts", import.meta.url).href);
    // The thread must not keep a process alive that has nothing else to do.
    w.unref();
    w.onmessage = (e: MessageEvent<FromWriter[]>) => {
      for (const m of e.data) this.files.get(m.id)?.receive(m);
    };
    w.onerror = (e) => {
      const err = new Error(`the recordings' writer thread failed: ${e.message}`);
      this.worker = undefined;
      for (const f of this.files.values()) f.receive({ op: "failed", id: 0, error: { message: err.message }, dataBytes: f.written });
    };
    return w;
  }

  private flush(): void {
    this.timer = undefined;
    const msgs = this.outbox;
    const transfer = this.transfer;
    this.outbox = [];
    this.transfer = [];
    if (msgs.length === 0) return;
    this.worker ??= this.start();
    this.worker.postMessage(msgs, transfer);
  }
}

let writer: DiskWriter | undefined;

export class WavFile {
  /** Set at the first failure: why this file stopped. */
  error: Error | undefined = undefined;
  /** The file's name (<name>.wav once finished) once it is open. */
  name: string | undefined;
  private readonly id: number;
  private readonly w: DiskWriter;
  private dataBytes = 0;
  private queued = 0;
  private closing = false;
  private readonly opened: Promise<boolean>;
  private resolveOpened!: (ok: boolean) => void;
  private resolveClosed: ((ok: boolean) => void) | undefined;

  constructor(private readonly o: WavFileOptions) {
    this.w = writer ??= new DiskWriter();
    this.id = this.w.register(this);
    this.opened = new Promise((r) => (this.resolveOpened = r));
    this.w.send({ op: "open", id: this.id, dir: o.dir, callId: o.callId, tag: o.tag, rate: o.rate });
  }

  /** Audio written to the file so far (the data chunk), bytes. */
  get written(): number {
    return this.dataBytes;
  }

  /** Resolves true once the file is open with its header, false if it could not be. */
  get ready(): Promise<boolean> {
    return this.opened;
  }

  /** Queues a batch (the file takes the buffer). Never blocks; dropped once the file has failed. */
  append(batch: Buffer): void {
    if (this.error !== undefined || this.closing) return;
    if (this.queued + batch.length > this.o.maxQueuedBytes) {
      this.fail(new Error(`the disk fell behind: more than ${this.o.maxQueuedBytes} bytes of audio waiting to be written`));
      return;
    }
    this.queued += batch.length;
    // A batch is a whole ArrayBuffer of its own (tape.ts), so it can be handed over without a copy.
    const buf = batch.byteOffset === 0 && batch.byteLength === batch.buffer.byteLength ? (batch.buffer as ArrayBuffer) : batch.buffer.slice(batch.byteOffset, batch.byteOffset + batch.byteLength);
    this.w.send({ op: "write", id: this.id, buf: buf as ArrayBuffer }, buf as ArrayBuffer);
  }

  /** From the writer thread. */
  receive(m: FromWriter): void {
    switch (m.op) {
      case "opened":
        this.name = m.name;
        this.resolveOpened(true);
        return;
      case "written":
        this.queued -= m.bytes;
        return;
      case "failed":
        this.dataBytes = m.dataBytes;
        this.fail(asError(m.error));
        this.resolveOpened(this.name !== undefined);
        return;
      case "closed":
        this.w.files.delete(this.id);
        this.dataBytes = m.dataBytes;
        if (m.error !== undefined) this.fail(asError(m.error));
        this.name = m.name;
        this.resolveOpened(false);
        this.resolveClosed?.(m.name !== undefined);
        return;
    }
  }

  private fail(err: Error): void {
    if (this.error !== undefined) return;
    this.error = err;
    this.o.failed(err);
  }

  /** Writes what is queued (unless failed) and closes; resolves with whether the finished file exists. */
  close(): Promise<boolean> {
    this.closing = true;
    return new Promise((r) => {
      this.resolveClosed = r;
      this.w.send({ op: "close", id: this.id });
    });
  }
}
