// One recording's file as the main thread sees it: batches go to the process's disk writer (writer-worker.ts, a
// thread of its own), gathered for a few ms so that all recordings' batches travel in one message. Nothing here
// waits for the disk. A file whose writes fall more than `maxQueuedBytes` behind is given up (a disk that slow
// would otherwise make the process hold ever more audio); the writer's own failures come back as messages.
//
// The batches of a round are written by the tapes straight into one shared buffer, which the writer hands back
// when it is done with it: in steady state no batch allocates (a buffer per batch, transferred and dropped by the
// other thread, cost the main thread page faults and collections; bench/README.md#recording).
import type { TapeOut } from "./tape.ts";
import type { FromWriter, ToWriter, WriterError, WriterEvent, WriterOp } from "./writer-protocol.ts";

/** Batches wait this long for others to go with them to the writer thread. */
const GATHER_MS = 50;
/** A round's buffer: one message a round up to about 300 calls at 16 kHz (640 KB at 200). A fuller round goes in
 *  several, and each message is a wake-up of the writer thread: 256 KB buffers cost about 2.5 % more CPU per call
 *  at 200 calls (bench/README.md#recording). */
const CHUNK_BYTES = 1024 * 1024;
/** Idle buffers kept for reuse: one being filled while the writer has the other; more are given back. */
const POOL_MAX = 2;

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

const EMPTY = new Int32Array(0);

/** The process's writer thread, started with the first recording. */
class DiskWriter {
  private worker: Worker | undefined;
  private ops: WriterOp[] = [];
  private writes: number[] = [];
  /** The round's buffer, as 32-bit sample frames; `used` of them are taken. */
  words: Int32Array = EMPTY;
  private used = 0;
  private readonly pool: ArrayBuffer[] = [];
  /** The writes of each message sent and not yet answered, oldest first. */
  private readonly inFlight: number[][] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private nextId = 1;
  readonly files = new Map<number, WavFile>();

  register(f: WavFile): number {
    const id = this.nextId++;
    this.files.set(id, f);
    return id;
  }

  send(m: WriterOp): void {
    this.ops.push(m);
    this.timer ??= setTimeout(() => this.flush(), GATHER_MS);
  }

  /** Room for `frames` sample frames of file `id` in `words`, from the index returned. */
  reserve(id: number, frames: number): number {
    if (this.used + frames > this.words.length) {
      if (this.used > 0) this.flush();
      const buf = frames * 4 <= CHUNK_BYTES ? (this.pool.pop() ?? new ArrayBuffer(CHUNK_BYTES)) : new ArrayBuffer(frames * 4);
      this.words = new Int32Array(buf);
    }
    const at = this.used;
    this.used += frames;
    this.writes.push(id, at * 4, frames * 4);
    this.timer ??= setTimeout(() => this.flush(), GATHER_MS);
    return at;
  }

  private start(): Worker {
    const w = new Worker(new URL("./writer-worker.ts", import.meta.url).href);
    // The thread must not keep a process alive that has nothing else to do.
    w.unref();
    w.onmessage = (e: MessageEvent<FromWriter>) => this.answered(e.data);
    w.onerror = (e) => {
      const err = new Error(`the recordings' writer thread failed: ${e.message}`);
      this.worker = undefined;
      this.inFlight.length = 0;
      for (const f of this.files.values()) f.receive({ op: "failed", id: 0, error: { message: err.message }, dataBytes: f.written });
    };
    return w;
  }

  private answered(m: FromWriter): void {
    const writes = this.inFlight.shift();
    if (writes !== undefined) for (let i = 0; i < writes.length; i += 3) this.files.get(writes[i]!)?.taken(writes[i + 2]!);
    if (m.buf !== null && m.buf.byteLength === CHUNK_BYTES && this.pool.length < POOL_MAX) this.pool.push(m.buf);
    for (const ev of m.events) this.files.get(ev.id)?.receive(ev);
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.ops.length === 0 && this.writes.length === 0) return;
    const buf = this.used > 0 ? (this.words.buffer as ArrayBuffer) : null;
    const msg: ToWriter = { ops: this.ops, writes: this.writes, buf };
    this.worker ??= this.start();
    this.worker.postMessage(msg, buf === null ? [] : [buf]);
    this.inFlight.push(this.writes);
    this.ops = [];
    this.writes = [];
    this.words = EMPTY;
    this.used = 0;
  }
}

let writer: DiskWriter | undefined;

export class WavFile implements TapeOut {
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

  /** Room for a batch (TapeOut): never blocks; -1 once the file has failed or is closing. */
  reserve(frames: number): number {
    if (this.error !== undefined || this.closing) return -1;
    const bytes = frames * 4;
    if (this.queued + bytes > this.o.maxQueuedBytes) {
      this.fail(new Error(`the disk fell behind: more than ${this.o.maxQueuedBytes} bytes of audio waiting to be written`));
      return -1;
    }
    this.queued += bytes;
    return this.w.reserve(this.id, frames);
  }

  get words(): Int32Array {
    return this.w.words;
  }

  /** The writer is done with `bytes` of this file's batches (written, or dropped after a failure). */
  taken(bytes: number): void {
    this.queued -= bytes;
  }

  /** From the writer thread. */
  receive(m: WriterEvent): void {
    switch (m.op) {
      case "opened":
        this.name = m.name;
        this.resolveOpened(true);
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
