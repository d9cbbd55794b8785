// Real Chromium for the console tests: Debian's `chromium` package driven by playwright-core (no browser download
// here; `bun run test`, .ci/test, installs it with apt). Fake media devices feed the microphone from a WAV file, which Chromium loops.
// A missing browser fails the test unless SKIP_BROWSER_TESTS=1 says to skip, loudly.
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { expect } from "bun:test";
import { chromium, type Browser, type Page } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const ARTIFACTS = join(new URL("../..", import.meta.url).pathname, "test-artifacts");

/** True when the browser tests should run; false (with a warning) only when SKIP_BROWSER_TESTS=1 and no browser. */
export function browserAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.SKIP_BROWSER_TESTS === "1") {
    const bar = "!".repeat(100);
    process.stderr.write(`\n${bar}\n!!! SKIPPING THE BROWSER TESTS: no Chromium at ${CHROMIUM} and SKIP_BROWSER_TESTS=1.\n!!! The console is NOT tested. Install it with: apt-get install -y chromium\n${bar}\n\n`);
    return false;
  }
  return true; // launch() then fails with a message saying what to install
}

export async function launch(wavPath: string): Promise<Browser & AsyncDisposable> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: install Debian's package (apt-get install -y chromium), set CHROMIUM_PATH, or set SKIP_BROWSER_TESTS=1 to skip the browser tests`);
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--use-fake-ui-for-media-stream",
      "--use-fake-device-for-media-stream",
      `--use-file-for-fake-audio-capture=${wavPath}`,
      "--autoplay-policy=no-user-gesture-required",
      "--no-sandbox",
    ],
  });
  return Object.assign(browser, { [Symbol.asyncDispose]: () => browser.close() });
}

export function artifactPath(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}

/** A 16-bit mono PCM WAV file. */
export function wav(samples: Int16Array, rate: number): Uint8Array {
  const data = samples.byteLength;
  const out = new Uint8Array(44 + data);
  const v = new DataView(out.buffer);
  const ascii = (at: number, s: string) => [...s].forEach((c, i) => v.setUint8(at + i, c.charCodeAt(0)));
  ascii(0, "RIFF");
  v.setUint32(4, 36 + data, true);
  ascii(8, "WAVE");
  ascii(12, "fmt ");
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true); // PCM
  v.setUint16(22, 1, true); // mono
  v.setUint32(24, rate, true);
  v.setUint32(28, rate * 2, true);
  v.setUint16(32, 2, true);
  v.setUint16(34, 16, true);
  ascii(36, "data");
  v.setUint32(40, data, true);
  out.set(new Uint8Array(samples.buffer, samples.byteOffset, data), 44);
  return out;
}

/**
 * Speech-like sound: after `leadMs` of silence, voiced "syllables" (a gliding fundamental near 140 Hz with ten
 * falling harmonics, under a ~4 Hz syllable envelope) for `talkMs`, then `pauseMs` of near-silence, repeated.
 * Loud enough for an energy voice detector, with pauses long enough to end a turn.
 */
export function speechLike(rate: number, opts: { leadMs?: number; talkMs?: number; pauseMs?: number; repeats?: number; amplitude?: number } = {}): Int16Array {
  const lead = Math.round((rate * (opts.leadMs ?? 0)) / 1000);
  const talk = Math.round((rate * (opts.talkMs ?? 1400)) / 1000);
  const pause = Math.round((rate * (opts.pauseMs ?? 1600)) / 1000);
  const repeats = opts.repeats ?? 2;
  const amp = (opts.amplitude ?? 0.45) * 32767;
  const out = new Int16Array(lead + (talk + pause) * repeats);
  let phase = 0;
  let seed = 7;
  const noise = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff - 0.5) * 2;
  for (let r = 0; r < repeats; r++) {
    const base = lead + r * (talk + pause);
    for (let i = 0; i < talk; i++) {
      const t = i / rate;
      const f0 = 140 + 25 * Math.sin(2 * Math.PI * 1.3 * t) + 10 * r;
      phase += (2 * Math.PI * f0) / rate;
      let v = 0;
      for (let k = 1; k <= 10; k++) v += Math.sin(k * phase) / k;
      const syllable = 0.55 + 0.45 * Math.sin(2 * Math.PI * 4 * t - Math.PI / 2);
      const edge = Math.min(1, i / (0.03 * rate), (talk - i) / (0.03 * rate));
      out[base + i] = Math.round(amp * 0.6 * v * syllable * edge);
    }
    for (let i = 0; i < pause; i++) out[base + talk + i] = Math.round(30 * noise());
  }
  return out;
}

export function silence(rate: number, ms: number): Int16Array {
  return new Int16Array(Math.round((rate * ms) / 1000));
}

// ---------- the softphone page ----------

/** The page's counters (window.__sauti). */
export interface Sauti {
  state: string;
  callId: string | undefined;
  rxBytes: number;
  rxPeak: number;
  txBytes: number;
  playbackBufferedMs: number;
  playedMs: number;
  kills: number;
  flushes: number;
  lastFlush: { droppedMs: number; bufferedMs: number } | undefined;
}

export const sauti = (p: Page) => p.evaluate(() => (globalThis as unknown as { __sauti: Sauti }).__sauti);

/** Polls the page (each poll is a round trip to the browser, so poll gently). */
export async function untilPage(p: Page, pred: (s: Sauti) => boolean, label: string, timeoutMs = 15000): Promise<Sauti> {
  const t0 = Date.now();
  for (;;) {
    const s = await sauti(p);
    if (pred(s)) return s;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for: ${label} (page state ${JSON.stringify(s)})`);
    await Bun.sleep(50);
  }
}

export async function startCall(p: Page, base: string): Promise<string> {
  await p.goto(`${base}/console`);
  await p.waitForSelector("#agent option[value='default']", { state: "attached" });
  await p.click("#call");
  const s = await untilPage(p, (s) => s.state === "in-call" || s.state === "failed", "softphone in a call");
  expect(s.state).toBe("in-call");
  return s.callId!;
}

