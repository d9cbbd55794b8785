// The audio socket: subprotocol, token, metadata, byte-stream reassembly, limits. Real WebSocket clients.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rawUpgrade } from "../support/caller.ts";
import { mintStreamToken } from "../../src/telephony/stream-token.ts";
import { Caller, numberedPcm, PROTO, startHarness, until, type Harness } from "./harness.ts";

let h: Harness;
const received = new Map<number, Uint8Array[]>();
beforeAll(async () => {
  h = await startHarness({}, {
    onCallerAudio: (s, pcm) => {
      const list = received.get(s.id) ?? [];
      list.push(pcm.slice());
      received.set(s.id, list);
    },
  });
});
afterAll(async () => {
  await h.stop();
});

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.byteLength;
  }
  return out;
}

describe("upgrade", () => {
  test("a client offering foo first still ends on audio.drachtio.org", async () => {
    const c = await new Caller(await h.streamUrlFor("HD_proto"), ["foo", PROTO]).open();
    expect(c.ws.protocol).toBe(PROTO);
    c.ws.close();
  });

  test("no subprotocol offered → 400", async () => {
    const url = await h.streamUrlFor("HD_noproto");
    expect((await rawUpgrade(url, null)).status).toBe(400);
    expect((await rawUpgrade(url, "foo")).status).toBe(400);
  });

  test("bad, foreign, expired or missing token → 401, and no Live session is opened", async () => {
    const url = new URL(await h.streamUrlFor("HD_tok"));
    const before = h.standin.sessions.length;
    const bad = new URL(url);
    bad.searchParams.set("token", "123.abc");
    expect((await rawUpgrade(bad.toString(), PROTO)).status).toBe(401);
    const other = new URL(url);
    other.searchParams.set("call", "HD_someone_else");
    expect((await rawUpgrade(other.toString(), PROTO)).status).toBe(401);
    const expired = new URL(url);
    expired.searchParams.set("token", mintStreamToken("stream-secret", "HD_tok", 10, Math.floor(Date.now() / 1000) - 60));
    expect((await rawUpgrade(expired.toString(), PROTO)).status).toBe(401);
    const none = new URL(url);
    none.searchParams.delete("token");
    expect((await rawUpgrade(none.toString(), PROTO)).status).toBe(401);
    expect(h.standin.sessions.length).toBe(before);
  });
});

describe("audio frames", () => {
  test("metadata text frame, then odd-split, coalesced and empty frames reach Gemini as the exact sample stream", async () => {
    const c = await new Caller(await h.streamUrlFor("HD_bytes")).open();
    c.ws.send(JSON.stringify({ callSid: "HD_bytes", from: "+254700000001" }));
    const pcm = numberedPcm(16000, 0); // 1 s
    // Cut at awkward places: odd sizes, a 1-byte frame, an empty frame, a coalesced 3-frame block.
    const cuts = [641, 1, 0, 639, 1920, 3, 5001, 77];
    let off = 0;
    for (const n of cuts) {
      c.ws.send(pcm.subarray(off, off + n));
      off += n;
    }
    while (off < pcm.byteLength) {
      const n = Math.min(pcm.byteLength - off, 640);
      c.ws.send(pcm.subarray(off, off + n));
      off += n;
    }
    const session = () => h.standin.sessions.find((s) => s.audioBytes >= pcm.byteLength);
    await until(() => session() !== undefined, "stand-in received every byte");
    const got = concat(received.get(session()!.id)!);
    expect(got.byteLength).toBe(pcm.byteLength);
    expect(Buffer.from(got).equals(Buffer.from(pcm))).toBe(true);
    expect(h.logs.some((l) => l.includes('"stream metadata"') && l.includes('"callSid"'))).toBe(true);
    c.ws.close();
  });

  test("a later text frame is logged; non-JSON metadata never fails the call", async () => {
    const c = await new Caller(await h.streamUrlFor("HD_text")).open();
    c.ws.send("not json at all");
    c.ws.send(numberedPcm(320, 0));
    c.ws.send('{"event":"dtmf","dtmf":"5"}');
    await until(() => h.logs.some((l) => l.includes("stream text frame") && l.includes("dtmf")), "text frame logged");
    expect(c.closed).toBeUndefined();
    c.ws.close();
  });

  test("an oversize frame closes that socket only; another call keeps streaming", async () => {
    const a = await new Caller(await h.streamUrlFor("HD_big")).open();
    const b = await new Caller(await h.streamUrlFor("HD_small")).open();
    a.ws.send(new Uint8Array(200 * 1024));
    await until(() => a.closed !== undefined, "oversize socket closed");
    expect(a.closed!.code).toBe(1009);
    b.ws.send(numberedPcm(640, 0));
    await Bun.sleep(200);
    expect(b.closed).toBeUndefined();
    b.ws.send(numberedPcm(640, 0));
    expect(b.ws.readyState).toBe(WebSocket.OPEN);
    b.ws.close();
  });
});
