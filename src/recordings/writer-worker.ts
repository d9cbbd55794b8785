// The recordings' disk writer, on a thread of its own (one per process, for every recording): it takes batches of
// audio from the main thread and writes them with plain synchronous writes. Here a slow or stuck disk holds up
// only this thread, never a call's frames; and one synchronous write costs a few µs, where an asynchronous one on
// the main thread costs a thread hand-off each (measured in docs/bun.md#file-writes).
//
// After each batch the WAV header is rewritten with the sizes written so far, so a process that dies leaves a file
// that plays up to its last batch. The first failure of a file (full or read-only disk) stops that file only.
import { closeSync, mkdirSync, openSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { FromWriter, ToWriter, WriterEvent, WriterOp } from "./writer-protocol.ts";
import { HEADER_BYTES, wavHeader } from "./wav.ts";
import { partName, WAV } from "./names.ts";

declare const self: Worker;

interface File {
  fd: number;
  dir: string;
  name: string;
  tag: string;
  rate: number;
  dataBytes: number;
  error: { code?: string; message: string } | undefined;
}

const files = new Map<number, File>();
const header = Buffer.alloc(HEADER_BYTES);

function errorOf(err: unknown): { code?: string; message: string } {
  const e = err as NodeJS.ErrnoException;
  return { code: typeof e?.code === "string" ? e.code : undefined, message: e instanceof Error ? e.message : String(err) };
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Bytes [from, from + len) of `b` at `position`. */
function writeAll(fd: number, b: Uint8Array, position: number, from = 0, len = b.length): void {
  for (let off = 0; off < len; ) {
    const n = writeSync(fd, b, from + off, len - off, position + off);
    if (n <= 0) throw Object.assign(new Error("no space left on device (short write)"), { code: "ENOSPC" });
    off += n;
  }
}

/** A new file for `callId`: named by the call, or with a suffix when a recording of that name exists. */
function open(id: number, m: Extract<WriterOp, { op: "open" }>, out: WriterEvent[]): void {
  try {
    mkdirSync(m.dir, { recursive: true });
    for (let i = 0; ; i++) {
      const name = i === 0 ? m.callId : `${m.callId}~${Date.now().toString(36)}${i > 1 ? i : ""}`;
      if (exists(join(m.dir, name + WAV))) continue;
      let fd: number;
      try {
        fd = openSync(join(m.dir, partName(name, m.tag)), "wx");
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "EEXIST" && i < 4) continue;
        throw err;
      }
      const f: File = { fd, dir: m.dir, name, tag: m.tag, rate: m.rate, dataBytes: 0, error: undefined };
      files.set(id, f);
      try {
        writeAll(fd, wavHeader({ rate: m.rate, channels: 2 }, 0, header), 0);
      } catch (err) {
        fail(id, f, err, out);
        return;
      }
      out.push({ op: "opened", id, name });
      return;
    }
  } catch (err) {
    out.push({ op: "failed", id, error: errorOf(err), dataBytes: 0 });
  }
}

function fail(id: number, f: File, err: unknown, out: WriterEvent[]): void {
  if (f.error !== undefined) return;
  f.error = errorOf(err);
  out.push({ op: "failed", id, error: f.error, dataBytes: f.dataBytes });
}

function write(id: number, buf: Uint8Array, from: number, len: number, out: WriterEvent[]): void {
  const f = files.get(id);
  if (f === undefined || f.error !== undefined) return;
  try {
    writeAll(f.fd, buf, HEADER_BYTES + f.dataBytes, from, len);
    f.dataBytes += len;
    writeAll(f.fd, wavHeader({ rate: f.rate, channels: 2 }, f.dataBytes, header), 0);
  } catch (err) {
    fail(id, f, err, out);
  }
}

/** Closes the file; renames it to <name>.wav, or removes it when it failed before any audio was in it. */
function close(id: number, out: WriterEvent[]): void {
  const f = files.get(id);
  files.delete(id);
  if (f === undefined) {
    out.push({ op: "closed", id, name: undefined, dataBytes: 0, error: undefined });
    return;
  }
  try {
    closeSync(f.fd);
  } catch {
    // nothing more can be done with it
  }
  const part = join(f.dir, partName(f.name, f.tag));
  if (f.error !== undefined && f.dataBytes === 0) {
    try {
      unlinkSync(part);
    } catch {
      // gone, or the directory is read-only: nothing was in it
    }
    out.push({ op: "closed", id, name: undefined, dataBytes: 0, error: f.error });
    return;
  }
  try {
    renameSync(part, join(f.dir, f.name + WAV));
    out.push({ op: "closed", id, name: f.name, dataBytes: f.dataBytes, error: f.error });
  } catch (err) {
    // The audio stays in the part file; the sweep for abandoned ones (recovery.ts) finishes it later.
    out.push({ op: "closed", id, name: undefined, dataBytes: f.dataBytes, error: f.error ?? errorOf(err), renameFailed: true });
  }
}

self.onmessage = (e: MessageEvent<ToWriter>) => {
  const { ops, writes, buf } = e.data;
  const events: WriterEvent[] = [];
  for (const m of ops) if (m.op === "open") open(m.id, m, events);
  if (buf !== null) {
    const bytes = new Uint8Array(buf);
    for (let i = 0; i < writes.length; i += 3) write(writes[i]!, bytes, writes[i + 1]!, writes[i + 2]!, events);
  }
  for (const m of ops) if (m.op === "close") close(m.id, events);
  // Always answered: the main thread counts its batches off when the answer comes, and takes the buffer back.
  const answer: FromWriter = { events, buf };
  self.postMessage(answer, buf === null ? [] : [buf]);
};
