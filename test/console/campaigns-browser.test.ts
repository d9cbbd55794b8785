// The console's Campaigns page and "Call a phone number", in real Chromium against the relay and the Sautikit fake:
// a CSV previewed (first rows, variables, a refused row and why, a merged number), fixed, created; its progress by
// outcome as it happens; its contacts with links to their call records; and a single outbound test call from the
// softphone page followed to its outcome.
import { describe, expect, test } from "bun:test";
import { cleanupAgentFiles } from "../relay/fixtures.ts";
import { startOutbound } from "../outbound/support.ts";
import { artifactPath, browserAvailable, launch, silence, wav } from "../support/browser.ts";

const run = browserAvailable();

describe.skipIf(!run)("console: campaigns in Chromium", () => {
  test("create a campaign from a CSV with a preview, watch it run, open a contact's call; call a phone number", async () => {
    const wavPath = artifactPath("silence-48k.wav");
    await Bun.write(wavPath, wav(silence(48000, 2000), 48000));
    const oh = await startOutbound({
      fake: { script: (to) => (to.endsWith("1") ? { kind: "answer", helloMs: 200, hangUpAfterMs: 800 } : { kind: "busy", event: true }) },
      env: { ADMIN_TOKEN: "" },
    });
    try {
      const base = oh.h.base;
      await using browser = await launch(wavPath);
      const page = await browser.newPage({ viewport: { width: 1100, height: 1000 } });
      await page.goto(`${base}/console/campaigns`);
      await page.waitForSelector("#agent option[value='reminders']", { state: "attached" });
      await page.fill("#name", "December reminders");
      await page.selectOption("#agent", "reminders");
      // Every day, all day: the test must not depend on when it runs.
      await page.fill("#days", "mon,tue,wed,thu,fri,sat,sun");
      await page.fill("#from", "00:00");
      await page.fill("#to", "24:00");
      await page.fill("#attempts", "1");
      await page.fill("#csv", "to,name,time\n+254716000001,Wanjiru,10:30\n0716000002,Otieno,11:00\n+254716000003,Akinyi,12:00\n254716000001,Dup,13:00\n");
      await page.click("#preview");
      await page.waitForSelector("#preview-summary");
      expect(await page.textContent("#preview-summary")).toContain("2 contact(s) to call");
      expect(await page.textContent("#preview-summary")).toContain("1 row(s) refused");
      expect(await page.textContent("#refused tbody")).toContain("to");
      expect(await page.textContent("#refused tbody")).toContain("E.164");
      expect(await page.textContent("#merged")).toContain("rows 1, 4");
      expect(await page.$$eval("#first-rows tbody tr", (rows) => rows.length)).toBe(2);
      expect(await page.isDisabled("#create")).toBe(true);
      await page.screenshot({ path: artifactPath("console-campaign-preview.png"), fullPage: true });

      // Fix the row, preview again, create.
      await page.fill("#csv", "to,name,time\n+254716000001,Wanjiru,10:30\n+254716000002,Otieno,11:00\n+254716000003,Akinyi,12:00\n");
      await page.click("#preview");
      await page.waitForSelector("#preview-summary:has-text('3 contact(s)')");
      await page.click("#create");
      await page.waitForSelector("#campaign[data-state='done']", { timeout: 30000 });
      expect(await page.textContent("#counts [data-count='busy']")).toContain("2");
      expect(await page.textContent("#counts [data-count='completed']")).toContain("1");
      await page.waitForSelector("#contacts tr[data-row='1'][data-outcome='completed'] a.call-link");
      await page.screenshot({ path: artifactPath("console-campaign-done.png"), fullPage: true });
      await page.waitForSelector("#list tr[data-state='done']");
      // The contact's call record opens on the calls page.
      await page.click("#contacts tr[data-row='1'] a.call-link");
      await page.waitForSelector("#detail[data-end-reason='caller_hangup']", { timeout: 15000 });
      expect(await page.textContent("#detail h2")).toContain("reminders");

      // The softphone page: call a phone number with the agent's variables.
      await page.goto(`${base}/console`);
      await page.waitForSelector("#dial-agent option[value='reminders']", { state: "attached" });
      await page.selectOption("#dial-agent", "reminders");
      await page.fill("#var-name", "Wanjiru");
      await page.fill("#var-time", "10:30");
      await page.fill("#dial-to", "+254716000011");
      await page.click("#dial-call");
      await page.waitForSelector("#dial-status[data-status='done'][data-outcome='completed']", { timeout: 20000 });
      await page.waitForSelector("#dial-record");
      await page.screenshot({ path: artifactPath("console-dial.png"), fullPage: true });
      // A refusal is shown with its field.
      await page.fill("#var-time", "");
      await page.click("#dial-call");
      await page.waitForSelector("#dial-status[data-status='refused']");
      expect(await page.textContent("#dial-status")).toContain("variables.time");
      const call = oh.rest.calls.find((c) => c.to === "+254716000011")!;
      expect(call.clientRequestId).toMatch(/^att_/);
    } finally {
      await oh.stop();
      cleanupAgentFiles();
    }
  }, 90000);
});
