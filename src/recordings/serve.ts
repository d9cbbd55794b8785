// A recording file over HTTP with byte ranges (RFC 9110 §14), so a browser's <audio> can seek without loading it
// all. One range per request, as media elements ask; anything else gets the whole file. The 206 is built here
// rather than left to Bun.serve's own handling of file bodies (docs/bun.md#ranges), so the API answers the same
// through Hono and in tests.
import { stat } from "node:fs/promises";

const RANGE = /^bytes=(\d*)-(\d*)$/;

/** The file's response, or undefined when it does not exist. */
export async function serveFile(path: string, req: Request, filename: string): Promise<Response | undefined> {
  let size: number;
  try {
    const s = await stat(path);
    if (!s.isFile()) return undefined;
    size = s.size;
  } catch {
    return undefined;
  }
  const headers: Record<string, string> = {
    "content-type": "audio/wav",
    "accept-ranges": "bytes",
    "cache-control": "private, no-store",
    "content-disposition": `inline; filename="${filename.replace(/["\\\r\n]/g, "_")}"`,
  };
  const file = Bun.file(path);
  const m = RANGE.exec((req.headers.get("range") ?? "").trim());
  if (m === null || (m[1] === "" && m[2] === "")) {
    return new Response(req.method === "HEAD" ? null : file, { status: 200, headers: { ...headers, "content-length": String(size) } });
  }
  let start: number;
  let end: number;
  if (m[1] === "") {
    // Suffix: the last n bytes.
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || end < start) {
    return new Response(null, { status: 416, headers: { ...headers, "content-range": `bytes */${size}` } });
  }
  const length = end - start + 1;
  return new Response(req.method === "HEAD" ? null : file.slice(start, end + 1), {
    status: 206,
    headers: { ...headers, "content-range": `bytes ${start}-${end}/${size}`, "content-length": String(length) },
  });
}
