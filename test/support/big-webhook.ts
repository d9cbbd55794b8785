// Run as a child process by test/relay/hardening.test.ts: an outside client posting a 10 MB unsigned form body
// (~1 M keys) to the voice webhook, then a chunked one, so the relay's event loop is measured without the sender's
// own work in it. Prints "ready" once the body is built, posts after a line on stdin, prints the two statuses.
export {}; // a module: top-level await below

const url = process.argv[2]!;

const big = new Uint8Array(10_000_000);
const head = new TextEncoder().encode("sessionId=HD_big");
big.set(head);
const pair = new TextEncoder().encode("&k0000=v"); // 8 bytes; the key digits vary below
for (let off = head.length, i = 0; off + 8 <= big.length; off += 8, i++) {
  big.set(pair, off);
  big[off + 2] = 48 + (i % 10);
  big[off + 3] = 48 + (Math.floor(i / 10) % 10);
  big[off + 4] = 48 + (Math.floor(i / 100) % 10);
  big[off + 5] = 48 + (Math.floor(i / 1000) % 10);
}
const chunk = new TextEncoder().encode("a=".padEnd(64 * 1024, "b"));
console.log("ready");

for await (const _ of console) break; // wait for "go"

const withLength = await fetch(url, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: big });
// A chunked body has no Content-Length: the relay must count it as it streams and cut it off.
const stream = new ReadableStream<Uint8Array>({
  start(ctl) {
    for (let i = 0; i < 8; i++) ctl.enqueue(chunk);
    ctl.close();
  },
});
const chunked = await fetch(url, { method: "POST", body: stream });
console.log(JSON.stringify({ withLength: withLength.status, chunked: chunked.status }));
