// The console's call page in real Chromium shows what came of a call: the analysis (summary, the success question's
// answer with its reason, the extracted data), each handoff with its notification and person-on-the-line state, and
// "Analyze again" runs the analysis once more (against the generateContent stand-in) and shows the new result.
import { describe, expect, test } from "bun:test";
import { singleAgent } from "../../src/call/agent.ts";
import { startHarness } from "../relay/harness.ts";
import { agent as support } from "../records/helpers.ts";
import { endedCallOps, GOOD_ANSWER, SPEC } from "../analysis/helpers.ts";
import { artifactPath, browserAvailable, launch, silence, wav } from "../support/browser.ts";
import { GenerateStandin } from "../support/generate-standin.ts";

const run = browserAvailable();

describe.skipIf(!run)("the call page in Chromium", () => {
  test("shows the analysis and the handoffs; Analyze again shows the new result", async () => {
    const model = new GenerateStandin("test-key");
    model.start();
    model.answers.push({ json: { summary: "The caller moved the appointment to eleven.", success: false, successReason: "They did not keep ten o'clock.", data: { confirmed: false, new_time: "11:00" } } });
    await using h = await startHarness({ GEMINI_API_URL: model.url }, {}, { router: singleAgent({ ...support, analysis: SPEC }) });
    const wavPath = artifactPath("silence-48k.wav");
    await Bun.write(wavPath, wav(silence(48000, 1000), 48000));
    await using browser = await launch(wavPath);
    try {
      const store = h.records.store;
      await store.ready;
      // A call as the recorder writes it, with its analysis queued; the relay's own worker runs it.
      const ops = endedCallOps("HD_ui", SPEC, Date.now() - 1000, "support");
      await store.write(ops);
      await store.write([
        {
          kind: "handoff",
          id: "HD_ui",
          handoffId: "msg_ui1",
          at: Date.now() - 2000,
          atMs: 4700,
          reason: "wants a nurse",
          summary: "The caller asked for a nurse about the medication.",
          live: { number: "+254711000999", state: "ended", supervisionId: "sup_1", error: null, connectedAt: null, endedAt: null },
        },
      ]);
      const page = await browser.newPage({ viewport: { width: 1000, height: 1000 } });
      await page.goto(`${h.base}/console/calls#call=HD_ui`);
      await page.waitForSelector("#detail[data-call-id='HD_ui'] .analysis[data-state='done']", { timeout: 20000 });
      expect(await page.textContent("#detail .analysis-summary")).toBe("The caller moved the appointment to eleven.");
      expect(await page.getAttribute("#detail .analysis-success", "data-success")).toBe("false");
      expect(await page.textContent("#detail .analysis-success")).toContain("Success: no");
      expect(await page.textContent("#detail .analysis-data")).toContain("new_time11:00");
      const handoff = await page.textContent("#detail .handoff[data-handoff-id='msg_ui1']");
      expect(handoff).toContain("handed to a person: wants a nurse");
      expect(handoff).toContain("person on the line (+254711000999): ended");
      expect(handoff).toContain("The caller asked for a nurse about the medication.");
      await page.screenshot({ path: artifactPath("console-call-analysis.png"), fullPage: true });

      model.answers.push({ json: GOOD_ANSWER });
      await page.click("#analyze-again");
      await page.waitForSelector(`#detail .analysis-summary:has-text("${GOOD_ANSWER.summary}")`, { timeout: 20000 });
      expect(await page.textContent("#detail .analysis-success")).toContain("Success: yes");
      expect(model.received).toHaveLength(2);
    } finally {
      await model.stop();
    }
  }, 60000);
});
