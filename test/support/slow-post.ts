// A slow HTTP client on a raw TCP socket: sends the request line, the headers and the first part of the body,
// waits for the test to say go on (`between`), then sends the rest. Resolves with what came back; status 0 when
// the server closed the connection without an answer.
export interface SlowAnswer {
  status: number;
  body: string;
  raw: string;
}

export async function slowPost(
  port: number,
  path: string,
  headers: Record<string, string>,
  body: string,
  o: { firstBytes: number; between: () => Promise<void> },
): Promise<SlowAnswer> {
  const bytes = Buffer.from(body);
  let raw = "";
  let closed!: () => void;
  const done = new Promise<void>((r) => (closed = r));
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data(_s, chunk) {
        raw += chunk.toString();
      },
      close() {
        closed();
      },
      error() {
        closed();
      },
    },
  });
  const head =
    `POST ${path} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nconnection: close\r\ncontent-length: ${bytes.length}\r\n` +
    Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join("") +
    "\r\n";
  socket.write(Buffer.concat([Buffer.from(head), bytes.subarray(0, o.firstBytes)]));
  socket.flush();
  await o.between();
  socket.write(bytes.subarray(o.firstBytes));
  socket.flush();
  await done;
  const m = /^HTTP\/1\.1 (\d{3})/.exec(raw);
  const at = raw.indexOf("\r\n\r\n");
  return { status: m === null ? 0 : Number(m[1]), body: at < 0 ? "" : raw.slice(at + 4), raw };
}
