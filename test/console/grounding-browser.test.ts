// Search grounding on the console's calls page, in real Chromium: a phone call to an agent with google_search,
// the Live stand-in answering with groundingMetadata; the agent's line shows what was searched and the pages, live
// and from the record once the call is over.
import { describe, expect, test } from "bun:test";
import { agentsFile, cleanupAgentFiles } from "../relay/fixtures.ts";
import { Caller, startHarness, until } from "../relay/harness.ts";
import { artifactPath, browserAvailable, launch, silence, wav } from "../support/browser.ts";

const run = browserAvailable();

describe.skipIf(!run)("grounding on the calls page", () => {
  test("the agent's line shows the searches and the pages it drew on", async () => {
    const wavPath = artifactPath("silence-48k-grounding.wav");
    await Bun.write(wavPath, wav(silence(48000, 500), 48000));
    const yaml = `agents:\n  - name: news\n    prompt: "News."\n    tools:\n      - builtin: google_search\n`;
    await using h = await startHarness({ AGENTS_FILE: agentsFile(yaml) }, { speechRms: 1000 });
    try {
      await using browser = await launch(wavPath);
      const caller = await new Caller(await h.streamUrlFor("HD_grounded")).open();
      await until(() => h.standin.sessions[0]?.ready === true, "live ready");
      const pcm = new Int16Array(320 * 20);
      for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(9000 * Math.sin((2 * Math.PI * 300 * i) / 16000));
      caller.ws.send(new Uint8Array(pcm.buffer));
      for (let i = 0; i < 30; i++) caller.ws.send(new Uint8Array(640));
      const s = h.standin.sessions[0]!;
      await until(() => s.groundings === 1 && s.sent.filter((k) => k.includes("usageMetadata")).length === 1, "grounded answer done");
      await Bun.sleep(300);
      caller.ws.close();

      const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
      await page.goto(`${h.base}/console/calls`);
      const row = "#recent tr[data-call-id='HD_grounded'][data-end-reason='caller_hangup']";
      await page.waitForSelector(row);
      await page.click(row);
      const links = "#detail .line.agent .grounding a";
      await page.waitForSelector(links);
      expect(await page.textContent("#detail .line.agent .grounding")).toContain("searched: Nairobi weather today");
      expect(await page.$$eval(links, (as) => as.map((a) => [a.textContent, a.getAttribute("href"), a.getAttribute("rel")]))).toEqual([
        ["weather.example.com", "https://vertexaisearch.cloud.google.com/grounding-api-redirect/standin-1", "noopener noreferrer"],
        ["news.example.co.ke", "https://vertexaisearch.cloud.google.com/grounding-api-redirect/standin-2", "noopener noreferrer"],
      ]);
      await page.screenshot({ path: artifactPath("console-calls-grounding.png"), fullPage: true });
    } finally {
      cleanupAgentFiles();
    }
  }, 60000);
});
