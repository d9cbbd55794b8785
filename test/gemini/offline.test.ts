// The offline echo model over real loopback sockets: echo at 24 kHz, barge-in, greeting, setup-first and resumption
// refusals, the handle book's bounds, and sessions let go when their sockets close.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { HandleBook } from "../../src/gemini/offline/handles.ts";
import { LIVE_PATH, startOfflineModel, type OfflineModel } from "../../src/gemini/offline/server.ts";
import { GREETING_TEXT } from "../../src/gemini/offline/session.ts";
import { loud16k, until } from "./helpers.ts";
import { speechLike } from "../support/memory-scenarios.ts";

type Msg = Record<string, any>;

let model: OfflineModel;
beforeAll(async () => {
  model = await startOfflineModel();
});
afterAll(() => model.stop());

const opened: Client[] = [];
afterEach(() => {
  for (const c of [...opened]) c.close();
});

/** A raw Live client: every server message with its arrival time, and event-driven waits (no polling). */
class Client {
  readonly msgs: Array<{ m: Msg; at: number; binary: boolean }> = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private readonly ws: WebSocket;
  private waiters: Array<() => void> = [];

  private constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.binaryType = "arraybuffer";
    this.closed = new Promise((res) =>
      this.ws.addEventListener("close", (e) => {
        res({ code: e.code, reason: e.reason });
        this.wake();
      }),
    );
    this.ws.addEventListener("message", (e) => {
      const d = e.data as string | ArrayBuffer;
      const text = typeof d === "string" ? d : new TextDecoder().decode(d);
      this.msgs.push({ m: JSON.parse(text) as Msg, at: performance.now(), binary: typeof d !== "string" });
      this.wake();
    });
  }

  static async open(url = model.url): Promise<Client> {
    const c = new Client(url);
    opened.push(c);
    await new Promise((res, rej) => {
      c.ws.addEventListener("open", res);
      c.ws.addEventListener("error", rej);
    });
    return c;
  }

  send(o: unknown): void {
    this.ws.send(JSON.stringify(o));
  }

  audio(pcm: Uint8Array): void {
    this.send({ realtimeInput: { audio: { mimeType: "audio/pcm;rate=16000", data: Buffer.from(pcm).toString("base64") } } });
  }

  /** Speech in 20 ms chunks, as a relay streams it. */
  stream(pcm: Uint8Array): void {
    for (let o = 0; o < pcm.byteLength; o += 640) this.audio(pcm.subarray(o, o + 640));
  }

  /** Sends setup and waits for setupComplete and the first resumption handle; returns that handle. */
  async setup(sessionResumption: Msg = {}): Promise<string> {
    this.send({ setup: { model: "models/gemini-3.8-live", generationConfig: {}, sessionResumption } });
    await this.waitFor((m) => m.setupComplete !== undefined, "setupComplete");
    const i = await this.waitFor((m) => m.sessionResumptionUpdate?.newHandle !== undefined, "first handle");
    return this.msgs[i]!.m.sessionResumptionUpdate.newHandle as string;
  }

  /** Resolves with the index of the first message (from `from`) matching `pred`. */
  async waitFor(pred: (m: Msg) => boolean, label: string, from = 0, timeoutMs = 10000): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const i = this.msgs.findIndex((x, j) => j >= from && pred(x.m));
      if (i >= 0) return i;
      if (performance.now() > deadline) throw new Error(`timed out waiting for: ${label}`);
      const t = setTimeout(() => this.wake(), 50);
      await new Promise<void>((res) => this.waiters.push(res));
      clearTimeout(t);
    }
  }

  close(): void {
    const i = opened.indexOf(this);
    if (i >= 0) opened.splice(i, 1);
    this.ws.close();
  }

  kinds(from = 0): string[] {
    return this.msgs.slice(from).map(({ m }) => (m.serverContent ? Object.keys(m.serverContent).join("+") : Object.keys(m).join("+")));
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

const silence = (ms: number) => new Uint8Array((16000 * ms * 2) / 1000);
const turnComplete = (m: Msg) => m.serverContent?.turnComplete === true;

function audioOf(msgs: Array<{ m: Msg }>): { pcm: Buffer; mimeTypes: Set<string> } {
  const parts = msgs.flatMap(({ m }) => m.serverContent?.modelTurn?.parts ?? []);
  return {
    pcm: Buffer.concat(parts.map((p: Msg) => Buffer.from(p.inlineData.data, "base64"))),
    mimeTypes: new Set(parts.map((p: Msg) => p.inlineData.mimeType as string)),
  };
}

describe("offline echo model", () => {
  test("echoes a loud utterance at 24 kHz (1.5× the samples), paced, then turnComplete after playback", async () => {
    const c = await Client.open();
    await c.setup();
    const speech = loud16k(600, 400);
    c.stream(speech);
    c.stream(silence(400));
    const done = await c.waitFor(turnComplete, "turnComplete");
    const { pcm, mimeTypes } = audioOf(c.msgs);
    expect(pcm.length).toBe((speech.byteLength * 3) / 2);
    expect([...mimeTypes]).toEqual(["audio/pcm;rate=24000"]);
    expect(c.msgs.every((x) => x.binary)).toBe(true);
    const said = c.msgs.find(({ m }) => m.serverContent?.inputTranscription)!.m.serverContent.inputTranscription;
    expect(said).toEqual({ text: "(caller spoke 600 ms)", finished: true });
    expect(c.msgs.find(({ m }) => m.serverContent?.outputTranscription)!.m.serverContent.outputTranscription.text).toBe("(echo)");
    const kinds = c.kinds();
    const firstAudio = kinds.indexOf("modelTurn");
    const gen = kinds.indexOf("generationComplete");
    expect(gen).toBeGreaterThan(kinds.lastIndexOf("modelTurn"));
    expect(done).toBeGreaterThan(gen);
    // 100 ms chunks; the turn ends once 600 ms of playback would be over, not when generation is.
    expect(kinds.filter((k) => k === "modelTurn").length).toBe(6);
    expect(c.msgs[done]!.at - c.msgs[firstAudio]!.at).toBeGreaterThanOrEqual(550);
    expect(c.msgs[done]!.m.usageMetadata.responseTokenCount).toBe(15);
    await c.waitFor((m) => m.sessionResumptionUpdate?.resumable === true, "handle after the turn", done);
    // Handles: one after setup, none while generating, a fresh one after the turn.
    const upd = c.msgs.filter(({ m }) => m.sessionResumptionUpdate).map(({ m }) => m.sessionResumptionUpdate);
    expect(upd.map((u) => u.resumable)).toEqual([true, false, true]);
    expect(upd[2].newHandle).not.toBe(upd[0].newHandle);
    c.close();
  });

  test("caller speech while it answers → interrupted, then turnComplete, and the answer stops", async () => {
    const c = await Client.open();
    await c.setup();
    c.stream(loud16k(1000));
    c.stream(silence(400));
    await c.waitFor((m) => m.serverContent?.modelTurn !== undefined, "echo starts");
    const n = c.msgs.length;
    c.stream(loud16k(200));
    const i = await c.waitFor((m) => m.serverContent?.interrupted === true, "interrupted", n);
    await c.waitFor(turnComplete, "turnComplete after interrupted", i);
    expect(c.kinds(i).slice(0, 2)).toEqual(["interrupted", "turnComplete"]);
    await Bun.sleep(300);
    const after = c.kinds(i);
    expect(after).not.toContain("modelTurn");
    expect(after).not.toContain("generationComplete");
    expect(c.kinds(n).slice(0, i - n)).not.toContain("turnComplete");
    c.close();
  });

  test("realtimeInput.text (greeting) → a short soft tone with the offline agent's transcript", async () => {
    const c = await Client.open();
    await c.setup();
    c.send({ realtimeInput: { text: "Greet the caller briefly." } });
    await c.waitFor(turnComplete, "turnComplete");
    const { pcm } = audioOf(c.msgs);
    expect(pcm.length).toBeGreaterThan(0);
    expect(pcm.length).toBeLessThanOrEqual(24000 * 2); // under a second
    let peak = 0;
    for (let o = 0; o < pcm.length; o += 2) peak = Math.max(peak, Math.abs(pcm.readInt16LE(o)));
    expect(peak).toBeLessThan(32767 * 0.2);
    const out = c.msgs.map(({ m }) => m.serverContent?.outputTranscription?.text).filter((t) => t !== undefined);
    expect(out.join("")).toBe(GREETING_TEXT);
    c.close();
  });

  test("a first message other than setup → close 1007", async () => {
    const c = await Client.open();
    c.audio(silence(20));
    expect(await c.closed).toEqual({ code: 1007, reason: "Request contains an invalid argument." });
  });

  test("resumes with a handle it issued (also after the socket closed); an unknown handle → 1008", async () => {
    const a = await Client.open();
    const handle = await a.setup();
    a.close();
    await a.closed;
    const b = await Client.open();
    expect(await b.setup({ handle })).not.toBe(handle);
    b.close();
    const x = await Client.open();
    x.send({ setup: { model: "models/gemini-3.8-live", sessionResumption: { handle: "never-issued" } } });
    expect(await x.closed).toEqual({ code: 1008, reason: "BidiGenerateContent session not found" });
  });

  test("only the Live path upgrades", async () => {
    const http = model.url.replace("ws://", "http://").replace(LIVE_PATH, "/elsewhere");
    expect((await fetch(http)).status).toBe(404);
  });
});

describe("resumption handle book", () => {
  test("keeps a few handles per conversation, forgets ended conversations after retainMs or past maxEnded", () => {
    let now = 0;
    const book = new HandleBook({ retainMs: 1000, maxEnded: 3, perConversation: 2 }, () => now);
    const c = book.open();
    const [h1, h2, h3] = [book.issue(c), book.issue(c), book.issue(c)];
    expect(book.size).toBe(2);
    expect(book.resume(h1)).toBeUndefined();
    expect(book.resume(h3)).toBe(c);
    book.release(c);
    book.release(c);
    expect(book.endedCount).toBe(1);
    now = 999;
    expect(book.resume(h2)).toBe(c); // still within retainMs
    book.release(c);
    now = 2000;
    expect(book.resume(h3)).toBeUndefined();
    expect(book.size).toBe(0);
    for (let i = 0; i < 10; i++) {
      const d = book.open();
      book.issue(d);
      book.release(d);
    }
    expect(book.endedCount).toBe(3);
    expect(book.size).toBe(3);
  });
});

describe("offline model sessions", () => {
  // Memory over thousands of calls is measured on the relay process from outside: offline-memory.test.ts.
  test("200 calls hung up mid-answer leave no live session behind", async () => {
    const speech = Buffer.concat([speechLike(1000), silence(400)]);
    for (let i = 0; i < 200; i++) {
      const c = await Client.open();
      await c.setup();
      for (let o = 0; o < speech.byteLength; o += 8000) c.audio(speech.subarray(o, o + 8000));
      await c.waitFor((m) => m.serverContent?.modelTurn !== undefined, "echo");
      c.close(); // mid-answer: the session must drop its timers and audio
      await c.closed;
    }
    await until(() => model.liveSessions() === 0, "sockets closed on the server");
  }, 30_000);
});
