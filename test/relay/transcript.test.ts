import { describe, expect, test } from "bun:test";
import type { TranscriptEvent } from "../../src/call/events.ts";
import { PARTIAL_EVERY_MS, TranscriptAggregator } from "../../src/call/transcript.ts";

describe("transcript aggregation", () => {
  test("fragments every 40 ms give a partial event at most every PARTIAL_EVERY_MS, and one final with the whole text", () => {
    const out: TranscriptEvent[] = [];
    const t = new TranscriptAggregator("c1", (e) => out.push(e));
    const words = Array.from({ length: 20 }, (_, i) => `w${i} `);
    words.forEach((w, i) => t.agentFragment(w, 1000 + i * 40));
    t.agentTurnEnded(1000 + 20 * 40, 800, false);

    const partials = out.filter((e) => !e.final);
    // 20 fragments over 760 ms: the first at once, then one per 250 ms of fragments.
    expect(partials.map((e) => e.endMs)).toEqual([1000, 1280, 1560]);
    expect(partials.length).toBeLessThan(words.length);
    for (let i = 1; i < partials.length; i++) expect(partials[i]!.endMs - partials[i - 1]!.endMs).toBeGreaterThanOrEqual(PARTIAL_EVERY_MS);
    // Each partial holds everything said up to it; the final holds all of it.
    expect(partials[1]!.text).toBe(words.slice(0, 8).join(""));
    const finals = out.filter((e) => e.final);
    expect(finals).toHaveLength(1);
    expect(finals[0]).toMatchObject({ role: "agent", text: words.join("").trim(), startMs: 1000, heardMs: 800, interrupted: false });
  });

  test("a new utterance starts its own partials at once", () => {
    const out: TranscriptEvent[] = [];
    const t = new TranscriptAggregator("c1", (e) => out.push(e));
    t.callerFragment("Hello", false, 0);
    t.callerFragment(" there", true, 10);
    t.callerFragment("Again", false, 20);
    expect(out.map((e) => [e.final, e.text])).toEqual([
      [false, "Hello"],
      [true, "Hello there"],
      [false, "Again"],
    ]);
  });

  test("grounding: kept for the agent's next line when it comes first, merged per turn, on the final line only", () => {
    const out: TranscriptEvent[] = [];
    const t = new TranscriptAggregator("c1", (e) => out.push(e));
    const a = { queries: ["q1"], sources: [{ uri: "https://a.example/", title: "A" }], raw: [{ n: 1 }] };
    const b = { queries: ["q1", "q2"], sources: [{ uri: "https://a.example/", title: "A again" }, { uri: "https://b.example/", title: null }], raw: [{ n: 2 }] };
    t.callerFragment("Will it rain?", true, 0);
    t.agentGrounding(a);
    t.agentFragment("Yes, ", 100);
    t.agentGrounding(b);
    t.agentFragment("after four.", 400);
    t.agentTurnEnded(500, 400, false);
    t.agentFragment("Anything else?", 600);
    t.agentTurnEnded(700, 300, false);
    expect(out.filter((e) => !e.final).every((e) => e.grounding === undefined)).toBe(true);
    const finals = out.filter((e) => e.final);
    expect(finals.map((e) => [e.role, e.text, e.grounding])).toEqual([
      ["caller", "Will it rain?", undefined],
      [
        "agent",
        "Yes, after four.",
        { queries: ["q1", "q2"], sources: [{ uri: "https://a.example/", title: "A" }, { uri: "https://b.example/", title: null }], raw: [{ n: 1 }, { n: 2 }] },
      ],
      ["agent", "Anything else?", undefined],
    ]);
  });
});
