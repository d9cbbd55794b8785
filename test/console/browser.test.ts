// The console in real Chromium: the softphone calls the relay in offline mode with a speech-like WAV as its
// microphone and hears the echo model answer; the calls page shows the call live, then in history with how it
// ended; barge-in empties the page's playback buffer. Screenshots of each page go to test-artifacts/.
import { afterAll, describe, expect, test } from "bun:test";
import { scratchDatabaseUrl } from "../support/scratch-db.ts";
import { assemble } from "../../src/assemble.ts";
import { loadConfig } from "../../src/config.ts";
import { startOfflineModel } from "../../src/gemini/offline/server.ts";
import { agentsFile, cleanupAgentFiles } from "../relay/fixtures.ts";
import { startHarness } from "../relay/harness.ts";
import { artifactPath, browserAvailable, launch, sauti, silence, speechLike, startCall, untilPage, wav } from "../support/browser.ts";
import { captureLog } from "../support/log.ts";
import { until } from "../support/wait.ts";

const run = browserAvailable();
afterAll(cleanupAgentFiles);

describe.skipIf(!run)("console in Chromium", () => {
  test("offline: the softphone hears the echo, the calls page shows it live and then in history", async () => {
    const wavPath = artifactPath("speech-48k.wav");
    // Quiet while the greeting plays, then pauses long enough for each echo to play out before the next "sentence"
    // (Chromium loops the file, lead included).
    await Bun.write(wavPath, wav(speechLike(48000, { leadMs: 1500, talkMs: 1400, pauseMs: 2400 }), 48000));
    const { log } = captureLog("info");
    const offline = await startOfflineModel();
    const config = loadConfig({ PORT: "0", HOST: "127.0.0.1", STREAM_TOKEN_SECRET: "s", DATABASE_URL: scratchDatabaseUrl() });
    const { calls, relay } = assemble(config, { url: offline.url, apiKey: "offline", label: "offline" }, log);
    const base = `http://127.0.0.1:${relay.port}`;
    await using browser = await launch(wavPath);
    try {
      const phone = await browser.newPage();
      const callId = await startCall(phone, base);
      expect(callId).toStartWith("web-");

      // The calls page lists it while it runs, with its source, and shows its transcript as it is spoken.
      const board = await browser.newPage({ viewport: { width: 1000, height: 900 } });
      await board.goto(`${base}/console/calls`);
      const row = `#live tr[data-call-id='${callId}']`;
      await board.waitForSelector(row);
      expect(await board.textContent(row)).toContain("browser");
      await board.click(row);
      await board.waitForSelector(`#detail[data-call-id='${callId}'][data-live='true']`);

      // The greeting, then our own words echoed back through the relay: audio bytes and a level come back.
      await board.waitForSelector("#detail .line.caller:not(.partial)", { timeout: 20000 });
      await board.waitForSelector("#detail .line.agent:not(.partial):has-text('(echo)')", { timeout: 20000 });
      const s = await untilPage(phone, (s) => s.rxBytes > 48000 && s.playedMs > 1000, "echo audio received and played", 20000);
      expect(s.rxPeak).toBeGreaterThan(0.05);
      expect(s.txBytes).toBeGreaterThan(32000);
      // The live list shows levels and a running duration for the call.
      await until(() => calls.activeCalls === 1, "one call in the relay");
      await phone.screenshot({ path: artifactPath("console-softphone.png") });
      await board.screenshot({ path: artifactPath("console-calls-live.png"), fullPage: true });

      // Hang up: the call ends with a record, leaves the live list and shows in history with how it ended.
      await phone.click("#call");
      await untilPage(phone, (s) => s.state === "ended", "softphone ended");
      await board.waitForSelector(`#recent tr[data-call-id='${callId}'][data-end-reason='caller_hangup']`);
      await board.waitForSelector(`#detail[data-call-id='${callId}'][data-live='false'][data-end-reason='caller_hangup']`);
      expect(await board.$(row)).toBeNull();
      await until(() => calls.activeCalls === 0, "call over in the relay");
      const rec = (await (await fetch(`${base}/api/console/calls/${callId}`)).json()) as { source: string; endReason: string; transcript: unknown[] };
      expect(rec.source).toBe("browser");
      expect(rec.endReason).toBe("caller_hangup");
      expect(rec.transcript.length).toBeGreaterThanOrEqual(2);
      await board.screenshot({ path: artifactPath("console-calls-ended.png"), fullPage: true });

      // A fresh calls page loads it from history.
      const later = await browser.newPage();
      await later.goto(`${base}/console/calls`);
      await later.waitForSelector(`#recent tr[data-call-id='${callId}'][data-end-reason='caller_hangup']`);
    } finally {
      await relay.stop();
      await offline.stop();
    }
  }, 60000);

  test("with ADMIN_TOKEN the pages ask for it once, keep it for the tab and send it only as a header", async () => {
    const wavPath = artifactPath("silence-48k.wav");
    await Bun.write(wavPath, wav(silence(48000, 2000), 48000));
    await using h = await startHarness({ ADMIN_TOKEN: "tok-in-the-browser-0003" });
    await using browser = await launch(wavPath);
    const page = await browser.newPage();
    const urls: string[] = [];
    const authorized: string[] = [];
    page.on("request", (r) => {
      urls.push(r.url());
      if (r.headers().authorization === "Bearer tok-in-the-browser-0003") authorized.push(new URL(r.url()).pathname);
    });
    await page.goto(`${h.base}/console`);
    await page.waitForSelector("#token-dialog[open]");
    await page.fill("#token-dialog input", "wrong");
    await page.click("#token-dialog button");
    await page.waitForSelector("#token-dialog[open] .why:has-text('refused')");
    await page.fill("#token-dialog input", "tok-in-the-browser-0003");
    await page.click("#token-dialog button");
    await page.waitForSelector("#agent option[value='default']", { state: "attached" });
    await page.screenshot({ path: artifactPath("console-softphone-idle.png") });
    await page.click("#call");
    await untilPage(page, (s) => s.state === "in-call", "in a call with the token");

    // The calls page in the same tab uses the stored token without asking again.
    await page.goto(`${h.base}/console/calls`);
    await page.waitForSelector("#recent tr[data-call-id]");
    expect(await page.$("#token-dialog[open]")).toBeNull();
    expect(await page.evaluate(() => sessionStorage.getItem("sauti-admin-token"))).toBe("tok-in-the-browser-0003");
    expect(authorized).toEqual(expect.arrayContaining(["/api/softphone/agents", "/api/softphone", "/api/calls"]));
    expect(urls.filter((u) => u.includes("tok-in-the-browser-0003"))).toEqual([]);
  }, 60000);

  test("an agents file whose agents all answer numbers: the picker offers each with its numbers, and a call reaches the one picked", async () => {
    const wavPath = artifactPath("silence-48k.wav");
    await Bun.write(wavPath, wav(silence(48000, 2000), 48000));
    const file = agentsFile(`agents:
  - name: support
    numbers: ["+254711000001"]
    prompt: "You are support."
  - name: sales
    numbers: ["+254711000002", "+254711000003"]
    voice: Charon
    prompt: "You are sales."
`);
    await using h = await startHarness({ AGENTS_FILE: file });
    await using browser = await launch(wavPath);
    const page = await browser.newPage();
    await page.goto(`${h.base}/console`);
    await page.waitForSelector("#agent option[value='sales']", { state: "attached" });
    const options = await page.$$eval("#agent option", (os) => os.map((o) => [o.getAttribute("value"), o.textContent]));
    expect(options).toEqual([
      ["support", "support · +254711000001"],
      ["sales", "sales · +254711000002, +254711000003"],
    ]);
    await page.selectOption("#agent", "sales");
    await page.click("#call");
    await untilPage(page, (s) => s.state === "in-call", "in a call with sales");
    await until(() => h.calls.activeCalls === 1, "call in the relay");
    expect(h.calls.calls()[0]!.info.agent.name).toBe("sales");
    await page.click("#call");
    await untilPage(page, (s) => s.state === "ended", "hung up");
  }, 60000);

  test("barge-in: killAudio empties the page's playback buffer at once", async () => {
    const wavPath = artifactPath("silence-48k.wav");
    await Bun.write(wavPath, wav(silence(48000, 2000), 48000));
    // The Live spy as the model: it stays quiet until told to speak, and the silent microphone never barges in.
    await using h = await startHarness();
    await using browser = await launch(wavPath);
    const phone = await browser.newPage();
    await startCall(phone, h.base);
    await until(() => h.standin.live().some((s) => s.ready), "model session ready");
    const live = h.standin.live().find((s) => s.ready)!;

    live.speak({ ms: 8000, transcript: "A long answer that the caller will cut short." });
    const before = await untilPage(phone, (s) => s.playbackBufferedMs >= 60 && s.playedMs > 200, "playback buffer filled and playing");
    expect(before.kills).toBe(0);
    await phone.screenshot({ path: artifactPath("console-softphone-speaking.png") });

    live.interrupt();
    const after = await untilPage(phone, (s) => s.flushes >= 1, "playback flushed");
    expect(after.kills).toBe(1);
    // What was queued is gone (something was there to drop), and nothing of the cut turn comes after it.
    expect(after.lastFlush!.droppedMs).toBeGreaterThan(20);
    expect(after.lastFlush!.bufferedMs).toBe(0);
    const rx = after.rxBytes;
    await Bun.sleep(300);
    const settled = await sauti(phone);
    expect(settled.playbackBufferedMs).toBe(0);
    expect(settled.rxBytes).toBe(rx);
  }, 60000);
});
