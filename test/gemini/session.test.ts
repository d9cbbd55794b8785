// LiveSession against the stand-in over real loopback sockets: setup discipline, queueing, downlink events,
// greeting, close, timeouts.
import { describe, expect, test } from "bun:test";
import { cleanupAfterEach } from "../support/cleanup.ts";
import type { LiveSession } from "../../src/gemini/session.ts";
import { StandinServer, type StandinOptions } from "../support/gemini-spy.ts";
import { loud16k, makeSession, readSeq, recorder, seqChunk, until } from "./helpers.ts";

const defer = cleanupAfterEach();

async function standin(opts: Partial<StandinOptions> = {}): Promise<[StandinServer, string]> {
  const s = new StandinServer(opts);
  const url = await s.start();
  defer(() => s.stop());
  return [s, url];
}

function track(s: LiveSession): LiveSession {
  defer(() => s.close());
  return s;
}

describe("setup discipline", () => {
  test("nothing but setup before setupComplete; queued audio flushed after it, in order", async () => {
    const seen: number[] = [];
    const [srv, url] = await standin({ setupDelayMs: 300, onCallerAudio: (_s, pcm) => void seen.push(readSeq(pcm)) });
    const s = track(makeSession(url));
    const started = s.start();
    for (let i = 0; i < 20; i++) s.sendAudio(seqChunk(i));
    await until(() => srv.sessions.length === 1 && srv.sessions[0]!.setup !== undefined, "setup received");
    for (let i = 20; i < 40; i++) s.sendAudio(seqChunk(i)); // still before setupComplete
    expect(s.state).toBe("connecting");
    await started;
    expect(s.state).toBe("ready");
    for (let i = 40; i < 50; i++) s.sendAudio(seqChunk(i));
    await until(() => seen.length === 50, "all 50 chunks");
    const ss = srv.sessions[0]!;
    expect(ss.beforeReady).toBe(0);
    expect(ss.received[0]).toBe("setup");
    expect(ss.received.slice(1).every((k) => k === "audio")).toBe(true);
    expect(seen).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(ss.binaryFrames).toBe(0); // client frames are text
    expect(s.stats().framesSent).toBe(50);
    expect(s.stats().queueDroppedChunks).toBe(0);
  });

  test("at setupComplete: queued audio first, then held tool results and texts in order, then the greeting", async () => {
    const [srv, url] = await standin({ setupDelayMs: 200 });
    const s = track(makeSession(url, { greeting: "Greet the caller." }));
    const started = s.start();
    s.attach(recorder().handlers);
    for (let i = 0; i < 5; i++) s.sendAudio(seqChunk(i));
    s.sendText("system note");
    s.sendToolResult("call-1", "lookup", { ok: true });
    s.sendAudio(seqChunk(5));
    await started;
    const ss = srv.sessions[0]!;
    await until(() => ss.received.length === 10, "everything arrived");
    expect(ss.received).toEqual(["setup", ...Array(6).fill("audio"), "text", "toolResponse", "text"]);
    expect(ss.texts).toEqual(["system note", "Greet the caller."]);
    expect(s.stats()).toMatchObject({ framesSent: 6, textsSent: 1, toolResponses: 1, toolResponsesDeferred: 1, greetings: 1 });
  });

  test("the pre-setup queue holds 2 s (64000 bytes): the oldest is dropped and counted", async () => {
    const seen: number[] = [];
    const [, url] = await standin({ setupDelayMs: 400, onCallerAudio: (_s, pcm) => void seen.push(readSeq(pcm)) });
    const s = track(makeSession(url));
    const started = s.start();
    for (let i = 0; i < 130; i++) s.sendAudio(seqChunk(i)); // 130 × 640 = 83200 bytes > 64000
    await started;
    await until(() => seen.length === 100, "100 chunks (64000 bytes)");
    expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => i + 30));
    expect(s.stats().queueDroppedChunks).toBe(30);
    expect(s.stats().queueDroppedBytes).toBe(30 * 640);
  });

  test("setup that never completes → failure (start rejects, failed fires once, socket closed)", async () => {
    const [srv, url] = await standin({ setupDelayMs: 60000 });
    const s = track(makeSession(url, { setupTimeoutMs: 300 }));
    const r = recorder();
    s.attach(r.handlers);
    await expect(s.start()).rejects.toThrow(/setup/);
    expect(s.state).toBe("failed");
    await until(() => srv.sessions[0]?.closed !== undefined, "stand-in sees the close");
    await Bun.sleep(100);
    expect(r.failed.length).toBe(1);
    expect(r.failed[0]!.code).toBe(4902);
    expect(srv.sessions.length).toBe(1);
  });

  test("a server that accepts TCP but never answers the upgrade → connect timeout, terminated", async () => {
    let accepted = 0;
    let closedSockets = 0;
    const tcp = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: { open: () => void accepted++, data() {}, close: () => void closedSockets++ },
    });
    defer(() => tcp.stop(true));
    const s = track(makeSession(`ws://127.0.0.1:${tcp.port}/ws`, { connectTimeoutMs: 300, setupTimeoutMs: 5000 }));
    await expect(s.start()).rejects.toThrow(/connect timeout/);
    await until(() => closedSockets === 1, "hung socket terminated");
    expect(accepted).toBe(1);
  });
});

describe("uplink back-pressure", () => {
  test("a growing bufferedAmount is counted and logged, and no frame is dropped", async () => {
    const [srv, url] = await standin();
    const s = track(makeSession(url, { bufferedWarnBytes: 64 * 1024 }));
    await s.start();
    const ss = srv.sessions[0]!;
    ss.ws!.pause(); // the stand-in stops reading: the client's socket buffer must grow
    const chunk = new Uint8Array(16000);
    for (let i = 0; i < 400; i++) s.sendAudio(chunk);
    const st = s.stats();
    expect(st.framesSent).toBe(400);
    expect(st.bufferedHighWater).toBeGreaterThan(64 * 1024);
    expect(st.backpressureEvents).toBe(1);
    ss.ws!.resume();
    await until(() => ss.audioBytes === 400 * 16000, "every byte arrives after resume", 20000);
    expect(ss.audioFrames).toBe(400);
  });
});

describe("downlink", () => {
  for (const textFrames of [false, true]) {
    test(`${textFrames ? "text" : "binary"} frames: an answer arrives as audio + transcription + turn events`, async () => {
      const [srv, url] = await standin({ textFrames, answerMs: 500, burstMs: 100, toneHz: 500 });
      const s = track(makeSession(url));
      const r = recorder();
      s.attach(r.handlers);
      await s.start();
      srv.sessions[0]!.speak({ ms: 500, transcript: "one two three four five" });
      await until(() => r.events.includes("turnComplete"), "turnComplete");
      expect(r.audio.length).toBe(5);
      expect(r.audio.every((a) => a.rate === 24000 && a.bytes === 4800)).toBe(true);
      expect(s.outputRate).toBe(24000); // the rate the leg declares is the rate its audio comes at
      expect(r.output.join("")).toBe("one two three four five");
      const gc = r.events.indexOf("generationComplete");
      expect(gc).toBeGreaterThan(r.events.lastIndexOf("audio"));
      expect(r.events.indexOf("turnComplete")).toBeGreaterThan(gc);
      expect(r.events.at(-1)).toBe("usage");
    });
  }

  test("one bundled message: every field handled, audio first, then transcripts, turn signals, usage last", async () => {
    const [srv, url] = await standin();
    const s = track(makeSession(url));
    const r = recorder();
    s.attach(r.handlers);
    await s.start();
    const a = Buffer.alloc(960, 1).toString("base64");
    const b = Buffer.alloc(320, 2).toString("base64");
    srv.sessions[0]!.send({
      serverContent: {
        turnComplete: true,
        turnCompleteReason: "NEED_MORE_INPUT",
        generationComplete: true,
        outputTranscription: { text: "Hi there" },
        inputTranscription: { text: "Hello?", finished: true },
        modelTurn: {
          parts: [
            { inlineData: { mimeType: "audio/pcm;rate=24000", data: a } },
            { inlineData: { mimeType: "audio/pcm;rate=16000", data: b } },
          ],
        },
      },
      usageMetadata: { totalTokenCount: 42 },
    });
    await until(() => r.events.includes("usage"), "usage");
    expect(r.events).toEqual([
      "audio",
      "audio",
      "inputTranscription",
      "outputTranscription",
      "generationComplete",
      "turnComplete:NEED_MORE_INPUT",
      "usage",
    ]);
    expect(r.audio).toEqual([
      { bytes: 960, rate: 24000 },
      { bytes: 320, rate: 16000 },
    ]);
    expect(r.audioBytes[0]!.every((x) => x === 1)).toBe(true);
    expect(r.audioBytes[1]!.every((x) => x === 2)).toBe(true);
    expect(r.input).toEqual(["Hello?"]);
    expect(r.output).toEqual(["Hi there"]);
    expect(r.usage).toEqual([{ tokens: {}, totalTokens: 42 }]);
  });

  test("stand-in bundle mode (3.x style) is handled fully too", async () => {
    const [srv, url] = await standin({ bundle: true });
    const s = track(makeSession(url));
    const r = recorder();
    s.attach(r.handlers);
    await s.start();
    srv.sessions[0]!.speak({ ms: 300, transcript: "a b c" });
    await until(() => r.events.includes("turnComplete"), "turnComplete");
    expect(r.events.filter((e) => e === "audio").length).toBe(3);
    expect(r.output.join("")).toBe("a b c");
    expect(r.events.filter((e) => e === "generationComplete").length).toBe(1);
  });

  test("caller speech over the answer → interrupted then turnComplete (barge-in)", async () => {
    const [srv, url] = await standin({ burstIntervalMs: 100, silenceMs: 200 });
    const s = track(makeSession(url));
    const r = recorder();
    s.attach(r.handlers);
    await s.start();
    srv.sessions[0]!.speak({ ms: 3000 });
    await until(() => r.events.includes("audio"), "answer started");
    const speech = loud16k(200);
    for (let o = 0; o < speech.byteLength; o += 640) s.sendAudio(speech.subarray(o, o + 640));
    await until(() => r.events.includes("interrupted"), "interrupted");
    await until(() => r.events.includes("turnComplete"), "turnComplete");
    expect(r.events.indexOf("turnComplete")).toBeGreaterThan(r.events.indexOf("interrupted"));
    expect(r.events.includes("generationComplete")).toBe(false);
    expect(srv.sessions[0]!.interruptions).toBe(1);
  });
});

describe("greeting and close", () => {
  test("greeting goes out once, after setupComplete and attach (attach later than start)", async () => {
    const [srv, url] = await standin();
    const s = track(makeSession(url, { greeting: "Greet the caller." }));
    await s.start();
    await Bun.sleep(50);
    expect(srv.sessions[0]!.texts).toEqual([]); // not attached yet: no greeting
    const r = recorder();
    s.attach(r.handlers);
    await until(() => srv.sessions[0]!.texts.length === 1, "greeting");
    expect(srv.sessions[0]!.texts).toEqual(["Greet the caller."]);
    await until(() => r.events.includes("turnComplete"), "greeting answered");
    s.attach(r.handlers); // re-attaching does not re-greet
    await Bun.sleep(50);
    expect(s.stats().greetings).toBe(1);
  });

  test("empty greeting sends no text", async () => {
    const [srv, url] = await standin();
    const s = track(makeSession(url, { greeting: "" }));
    s.attach(recorder().handlers);
    await s.start();
    s.sendAudio(seqChunk(1));
    await until(() => srv.sessions[0]!.audioFrames === 1, "audio");
    expect(srv.sessions[0]!.texts).toEqual([]);
  });

  test("close() closes the Live socket (the stand-in sees a client close) and sends nothing after", async () => {
    const [srv, url] = await standin();
    const s = makeSession(url);
    await s.start();
    s.sendAudio(seqChunk(1));
    await s.close();
    const ss = srv.sessions[0]!;
    await until(() => ss.closed !== undefined, "closed");
    expect(ss.closed).toEqual({ code: 1000, reason: "call ended", by: "client" });
    expect(s.state).toBe("closed");
    s.sendAudio(seqChunk(2));
    expect(s.stats().droppedClosed).toBe(1);
    expect(srv.live().length).toBe(0);
  });

  test("close() during the handshake rejects start and leaves no socket open", async () => {
    const [srv, url] = await standin({ setupDelayMs: 60000 });
    const s = makeSession(url);
    const started = s.start();
    await until(() => srv.sessions[0]?.setup !== undefined, "setup");
    void s.close();
    await expect(started).rejects.toThrow(/closed/);
    await until(() => srv.sessions[0]!.closed !== undefined, "closed");
    expect(srv.sessions[0]!.closed!.by).toBe("client");
  });
});

describe("pre-warm", () => {
  test("a session closed before anyone awaits start() raises no unhandled rejection", async () => {
    const [srv, url] = await standin({ setupDelayMs: 60000 });
    let unhandled = 0;
    const onUnhandled = () => void unhandled++;
    process.on("unhandledRejection", onUnhandled);
    try {
      const s = makeSession(url);
      void s.start();
      await until(() => srv.sessions[0]?.setup !== undefined, "setup");
      await s.close();
      await Bun.sleep(50);
      expect(unhandled).toBe(0);
      expect(srv.sessions[0]!.closed?.by).toBe("client");
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });
});
