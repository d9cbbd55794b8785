// What the voice webhook logs about a new call: one line, written after the answer is decided, saying what was
// answered (never "<Stream>" when the fallback went out).
import { describe, expect, test } from "bun:test";
import { startHarness, type Harness } from "../relay/harness.ts";

const linesOf = (hh: Harness, callId: string) =>
  hh.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.callId === callId && String(l.msg).startsWith("new call"));

describe("the webhook's line about a new call", () => {
  test("a model session that cannot be opened: one line, about the fallback, and none about <Stream>", async () => {
    // The stand-in wants another key: the pre-warm's upgrade is refused, so the webhook answers the fallback.
    await using h = await startHarness({}, { apiKey: "another-key" });
    const res = await h.post("/voice", "sessionId=HD_nomodel&callerNumber=%2B254700000001&destinationNumber=%2B254700000002");
    const xml = await res.text();
    expect(xml).toContain("<Say");
    expect(xml).not.toContain("<Stream");
    const lines = linesOf(h, "HD_nomodel");
    expect(lines.map((l) => l.msg)).toEqual(["new call: no model session; answered with the fallback message and a hang-up"]);
    expect(lines[0]).toMatchObject({ level: 50, answer: "fallback", agent: "default", caller: "…001", callee: "…002" });
    expect(h.logs.some((l) => l.includes("answering with <Stream>") || (l.includes("HD_nomodel") && l.includes("answered with <Stream>")))).toBe(false);
  });

  test("a call that streams: one line, after the pre-warm, saying <Stream> and how the pre-warm went", async () => {
    await using h = await startHarness();
    const res = await h.post("/voice", "sessionId=HD_streams&callerNumber=%2B254700000001&destinationNumber=%2B254700000002");
    expect(await res.text()).toContain("<Stream");
    const lines = linesOf(h, "HD_streams");
    expect(lines.map((l) => l.msg)).toEqual(["new call: answered with <Stream>"]);
    expect(lines[0]).toMatchObject({ level: 30, answer: "stream", prewarm: "ready", agent: "default", caller: "…001", callee: "…002" });
    const at = h.logs.findIndex((l) => l.includes("new call: answered with <Stream>"));
    const warm = h.logs.findIndex((l) => l.includes("HD_streams") && l.includes("setupComplete"));
    if (warm >= 0) expect(at).toBeGreaterThan(warm);
  });
});
