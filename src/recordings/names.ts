// Names of recording files in RECORDINGS_DIR. A finished recording is `<name>.wav`, where name is the call id (or
// `<call id>~<suffix>` when a file of that name already existed). While it is written it is
// `<name>.wav.<pid>-<nonce>.part`: the writing process's id and a random word of its own, so a later process can
// tell a file abandoned by a process that died (recovery.ts) from one another live process is still writing.

export const WAV = ".wav";

const PART = /^(.+)\.wav\.(\d+)-([a-z0-9]+)\.part$/;

/** This process's tag: pid plus a nonce, so a new process that got the old pid (PID 1 in a container) is told apart. */
export function processTag(): string {
  return `${process.pid}-${crypto.getRandomValues(new Uint32Array(1))[0]!.toString(36)}`;
}

export function partName(name: string, tag: string): string {
  return `${name}${WAV}.${tag}.part`;
}

export interface PartFile {
  name: string;
  pid: number;
  tag: string;
}

export function parsePart(file: string): PartFile | undefined {
  const m = PART.exec(file);
  return m === null ? undefined : { name: m[1]!, pid: Number(m[2]), tag: `${m[2]}-${m[3]}` };
}

/** `<name>.wav` → name; undefined for anything else. */
export function finishedName(file: string): string | undefined {
  return file.endsWith(WAV) && file.length > WAV.length && !file.startsWith(".") ? file.slice(0, -WAV.length) : undefined;
}

/** The call a recording belongs to. */
export function callIdOf(name: string): string {
  const i = name.indexOf("~");
  return i < 0 ? name : name.slice(0, i);
}

export function errorText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === "string" && !err.message.startsWith(code) ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}
