// ServerDecoder: model audio reaches the call as bytes at the message's rate, and a call handler that throws is
// logged without breaking the decoding of later messages.
import { describe, expect, test } from "bun:test";
import type { ModelLegEvents } from "../../src/call/model-leg.ts";
import { ServerDecoder } from "../../src/gemini/decode.ts";
import { newLiveCounters } from "../../src/gemini/stats.ts";
import { captureLog } from "../support/log.ts";

function audioMessage(pcm: Uint8Array, mimeType: string, turnComplete?: true) {
  return { serverContent: { modelTurn: { parts: [{ inlineData: { mimeType, data: Buffer.from(pcm).toString("base64") } }] }, turnComplete } };
}

function events(audio: ModelLegEvents["audio"], turnComplete: () => void = () => {}): ModelLegEvents {
  const none = () => {};
  return {
    audio,
    interrupted: none,
    generationComplete: none,
    turnComplete,
    inputTranscription: none,
    outputTranscription: none,
    toolCall: none,
    toolCallCancelled: none,
    usage: none,
    grounding: none,
    failed: none,
  };
}

describe("ServerDecoder audio", () => {
  test("bytes and rate of each chunk; a throwing handler is logged and the next chunk still arrives", () => {
    const { log, lines } = captureLog("error");
    const counters = newLiveCounters();
    const d = new ServerDecoder(log, counters);
    const got: Array<{ bytes: number[]; rate: number }> = [];
    let turns = 0;
    let throwNext = false;
    d.events = events(
      (pcm, rate) => {
        if (throwNext) {
          throwNext = false;
          throw new Error("handler broke");
        }
        got.push({ bytes: [...pcm], rate });
      },
      () => turns++,
    );

    d.handle(audioMessage(new Uint8Array([1, 2, 3, 4]), "audio/pcm;rate=24000"));
    throwNext = true;
    d.handle(audioMessage(new Uint8Array([5, 6]), "audio/pcm;rate=24000", true));
    d.handle(audioMessage(new Uint8Array([7, 8, 9, 10]), "audio/pcm;rate=16000"));

    expect(got).toEqual([
      { bytes: [1, 2, 3, 4], rate: 24000 },
      { bytes: [7, 8, 9, 10], rate: 16000 },
    ]);
    // The message whose audio handler threw still delivered its turnComplete.
    expect(turns).toBe(1);
    expect(lines.filter((l) => l.includes("live: event handler threw") && l.includes("handler broke"))).toHaveLength(1);
    expect(counters.audioMessages).toBe(3);
  });
});

describe("ServerDecoder turn ends and grounding", () => {
  test("turnCompleteReason RESPONSE_REJECTED / MALFORMED_FUNCTION_CALL mark the turn rejected; others do not", () => {
    const { log } = captureLog("silent");
    const counters = newLiveCounters();
    const d = new ServerDecoder(log, counters);
    const ends: Array<[string | undefined, boolean]> = [];
    d.events = { ...events(() => {}), turnComplete: (reason, rejected) => void ends.push([reason, rejected]) };
    for (const reason of ["RESPONSE_REJECTED", "MALFORMED_FUNCTION_CALL", "NEED_MORE_INPUT", undefined]) d.handle({ serverContent: { turnComplete: true, turnCompleteReason: reason } });
    expect(ends).toEqual([
      ["RESPONSE_REJECTED", true],
      ["MALFORMED_FUNCTION_CALL", true],
      ["NEED_MORE_INPUT", false],
      [undefined, false],
    ]);
    expect(counters.rejectedTurns).toBe(2);
  });

  test("groundingMetadata: queries and web sources read out, the metadata kept whole; chunks without a web uri skipped", () => {
    const { log } = captureLog("silent");
    const counters = newLiveCounters();
    const d = new ServerDecoder(log, counters);
    const got: unknown[] = [];
    d.events = { ...events(() => {}), grounding: (g) => void got.push(g) };
    const meta = {
      webSearchQueries: ["matatu fares Nairobi", 7],
      groundingChunks: [{ web: { uri: "https://a.example/1", title: "A" } }, { web: { uri: "https://b.example/2" } }, { retrievedContext: { uri: "x" } }, "junk"],
      searchEntryPoint: { renderedContent: "<div/>" },
    };
    d.handle({ serverContent: { groundingMetadata: meta, turnComplete: true } });
    d.handle({ serverContent: { groundingMetadata: "not an object" as never } });
    expect(got).toEqual([
      {
        queries: ["matatu fares Nairobi"],
        sources: [
          { uri: "https://a.example/1", title: "A" },
          { uri: "https://b.example/2", title: null },
        ],
        raw: [meta],
      },
    ]);
    expect(counters.groundings).toBe(1);
  });
});
