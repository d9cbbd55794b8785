// Messages between the main thread and the recordings' disk writer (writer-worker.ts). One message a round each
// way: the round's opens and closes, and every batch of the round in one buffer (`buf`, transferred, not copied),
// which the writer hands back in its answer so the main thread reuses it instead of allocating per batch.

export type WriterOp =
  | { op: "open"; id: number; dir: string; callId: string; tag: string; rate: number }
  | { op: "close"; id: number };

export interface ToWriter {
  /** Opens are done before the round's writes, closes after them. */
  ops: WriterOp[];
  /** Per batch, in order: file id, byte offset in `buf`, bytes. */
  writes: number[];
  buf: ArrayBuffer | null;
}

export type WriterError = { code?: string; message: string };

export type WriterEvent =
  | { op: "opened"; id: number; name: string }
  /** The file stopped: nothing more is written to it (what was is kept). */
  | { op: "failed"; id: number; error: WriterError; dataBytes: number }
  /** `name` is set when the finished file exists as <name>.wav. */
  | { op: "closed"; id: number; name: string | undefined; dataBytes: number; error: WriterError | undefined; renameFailed?: boolean };

/** The answer to each message, in order: its batches are off the writer's hands (written, or dropped after a
 *  failure) and `buf` comes back. */
export interface FromWriter {
  events: WriterEvent[];
  buf: ArrayBuffer | null;
}
