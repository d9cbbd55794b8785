// Messages between the main thread and the recordings' disk writer (writer-worker.ts). Both ways they travel in
// arrays, one postMessage per round, with the audio buffers transferred, not copied.

export type ToWriter =
  | { op: "open"; id: number; dir: string; callId: string; tag: string; rate: number }
  | { op: "write"; id: number; buf: ArrayBuffer }
  | { op: "close"; id: number };

export type WriterError = { code?: string; message: string };

export type FromWriter =
  | { op: "opened"; id: number; name: string }
  /** The file stopped: nothing more is written to it (what was is kept). */
  | { op: "failed"; id: number; error: WriterError; dataBytes: number }
  /** Bytes of audio the writer took off its queue for the file (written or, after a failure, dropped). */
  | { op: "written"; id: number; bytes: number }
  /** `name` is set when the finished file exists as <name>.wav. */
  | { op: "closed"; id: number; name: string | undefined; dataBytes: number; error: WriterError | undefined; renameFailed?: boolean };
