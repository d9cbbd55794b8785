// The calls page plays a call's recording, in real Chromium: the page loads the file, draws the caller's lane above
// the agent's (read back from the canvas's pixels: ink in each lane where, and only where, that side made sound),
// and clicking a transcript line seeks the player to it. An <audio> pointed at the API seeks with Range requests.
import { afterAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import type { CallRecord } from "../../src/records/record.ts";
import { Caller, startHarness, until } from "../relay/harness.ts";
import { artifactPath, browserAvailable, launch, silence, wav } from "../support/browser.ts";
import { scratchDir } from "../recordings/support.ts";

const run = browserAvailable();

/** The page's DOM, typed only as far as these tests use it (test files are compiled without the DOM library). */
type Doc = { querySelector(s: string): any; createElement(t: string): any; body: { append(e: unknown): void } };
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** 20 ms of a 300 Hz tone at 16 kHz (below the stand-in's speech threshold, so it does not answer it). */
function tone(amp: number): Uint8Array {
  const b = Buffer.alloc(640);
  for (let i = 0; i < 320; i++) b.writeInt16LE(Math.round(amp * Math.sin((2 * Math.PI * 300 * i) / 16000)), i * 2);
  return b;
}

describe.skipIf(!run)("the recording in the console", () => {
  test("the calls page loads the file, draws both lanes from it, and a transcript line seeks the player", async () => {
    const d = scratchDir("console");
    dirs.push(d);
    await using h = await startHarness({ RECORD_CALLS: "true", RECORDINGS_DIR: d, RECORDING_NOTICE: "" });
    await h.records.store.ready;

    // A call: the caller makes sound for its first second, then is quiet; the agent speaks from 2 s to 4 s.
    const c = await new Caller(await h.streamUrlFor("web-rec-1")).open();
    await until(() => h.standin.live().some((s) => s.ready), "model session ready");
    const live = h.standin.live().find((s) => s.ready)!;
    for (let t = 0; t < 5000; t += 20) {
      if (t === 2000) live.speak({ ms: 2000, transcript: "Here is what the agent said." });
      c.ws.send(t < 1000 ? tone(8000) : new Uint8Array(640));
      await Bun.sleep(20);
    }
    c.ws.close();
    let rec: CallRecord | undefined;
    for (let i = 0; rec?.recording?.status !== "ready"; i++) {
      if (i > 200) throw new Error("the recording never became ready");
      await Bun.sleep(50);
      rec = await h.records.store.getCall("web-rec-1");
    }
    const line = rec.transcript.find((u) => u.role === "agent")!;
    expect(line).toBeDefined();

    const wavPath = artifactPath("silence-48k.wav");
    await Bun.write(wavPath, wav(silence(48000, 2000), 48000));
    await using browser = await launch(wavPath);
    const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
    const recordingRequests: string[] = [];
    page.on("request", (r) => {
      if (r.url().includes("/recording")) recordingRequests.push(r.url());
    });
    await page.goto(`${h.base}/console/calls#call=web-rec-1`);
    await page.waitForSelector("#recording[data-state='ready']", { timeout: 20000 });
    expect(recordingRequests.length).toBeGreaterThanOrEqual(1);
    const duration = await page.evaluate(async () => {
      const a = (globalThis as unknown as { document: Doc }).document.querySelector("#player");
      if (a.readyState < 1) await new Promise((r) => a.addEventListener("loadedmetadata", r, { once: true }));
      return a.duration;
    });
    expect(Math.abs(duration - rec.recording!.durationMs / 1000)).toBeLessThan(0.1);

    // The pixels: columns with ink in the upper lane and in the lower lane.
    const ink = await page.evaluate(() => {
      const cv = (globalThis as unknown as { document: Doc }).document.querySelector("#waveform");
      const g = cv.getContext("2d")!;
      const { data, width, height } = g.getImageData(0, 0, cv.width, cv.height);
      const lane = (y0: number, y1: number, rgb: [number, number, number]) => {
        const cols: boolean[] = [];
        for (let x = 0; x < width; x++) {
          let hit = false;
          for (let y = y0; y < y1 && !hit; y++) {
            const i = (y * width + x) * 4;
            hit = data[i + 3]! > 200 && Math.abs(data[i]! - rgb[0]) < 30 && Math.abs(data[i + 1]! - rgb[1]) < 30 && Math.abs(data[i + 2]! - rgb[2]) < 30;
          }
          cols.push(hit);
        }
        return cols;
      };
      return { width, caller: lane(0, height / 2, [0x3b, 0x6f, 0xd4]), agent: lane(height / 2, height, [0x0b, 0x7a, 0x5c]) };
    });
    const seconds = rec.recording!.durationMs / 1000;
    const col = (s: number) => Math.floor((s / seconds) * ink.width);
    const share = (cols: boolean[], from: number, to: number) => cols.slice(col(from), col(to)).filter(Boolean).length / Math.max(1, col(to) - col(from));
    // The caller's second of tone is in the upper lane only; the agent's answer in the lower lane only.
    expect(share(ink.caller, 0.1, 0.9)).toBeGreaterThan(0.9);
    expect(share(ink.agent, 0.1, 0.9)).toBe(0);
    expect(share(ink.caller, 1.5, seconds - 0.1)).toBe(0);
    const agentFrom = line.startMs / 1000;
    expect(share(ink.agent, agentFrom + 0.2, agentFrom + 1.6)).toBeGreaterThan(0.9);
    await page.screenshot({ path: artifactPath("console-recording.png"), fullPage: true });

    // A click on the agent's line seeks the player to where it was said (and plays from there).
    await page.click("#detail .line.agent.seekable");
    const at = await page.evaluate(() => (globalThis as unknown as { document: Doc }).document.querySelector("#player").currentTime);
    expect(Math.abs(at - line.startMs / 1000)).toBeLessThan(0.5);
    expect(at).toBeGreaterThan(1);
  }, 90000);

  test("an <audio> element on the API URL seeks with Range requests answered 206", async () => {
    const d = scratchDir("console-range");
    dirs.push(d);
    await using h = await startHarness({ RECORD_CALLS: "true", RECORDINGS_DIR: d, RECORDING_NOTICE: "" });
    await h.records.store.ready;
    const c = await new Caller(await h.streamUrlFor("web-rec-2")).open();
    for (let t = 0; t < 3000; t += 20) {
      c.ws.send(tone(4000));
      await Bun.sleep(20);
    }
    c.ws.close();
    for (let i = 0; (await h.records.store.getRecording("web-rec-2"))?.status !== "ready"; i++) {
      if (i > 200) throw new Error("the recording never became ready");
      await Bun.sleep(50);
    }
    const wavPath = artifactPath("silence-48k.wav");
    await Bun.write(wavPath, wav(silence(48000, 2000), 48000));
    await using browser = await launch(wavPath);
    const page = await browser.newPage();
    const ranges: Array<{ range: string | undefined; status: number }> = [];
    page.on("response", (r) => {
      if (r.url().endsWith("/api/calls/web-rec-2/recording")) ranges.push({ range: r.request().headers().range, status: r.status() });
    });
    await page.goto(`${h.base}/healthz`);
    const played = await page.evaluate(async (src) => {
      const doc = (globalThis as unknown as { document: Doc }).document;
      const a = doc.createElement("audio");
      a.preload = "auto";
      a.src = src;
      doc.body.append(a);
      await new Promise((r, j) => {
        a.addEventListener("loadedmetadata", r, { once: true });
        a.addEventListener("error", () => j(new Error(`media error ${a.error?.code}`)), { once: true });
      });
      a.currentTime = a.duration - 0.5;
      await new Promise((r) => a.addEventListener("seeked", r, { once: true }));
      return { duration: a.duration, at: a.currentTime };
    }, `${h.base}/api/calls/web-rec-2/recording`);
    expect(played.duration).toBeGreaterThan(2.5);
    expect(played.at).toBeGreaterThan(2);
    expect(ranges.length).toBeGreaterThanOrEqual(1);
    expect(ranges.every((r) => r.range !== undefined && r.status === 206)).toBe(true);
  }, 60000);
});
