// GET /metrics over a real relay (caller socket ⇄ relay ⇄ Live spy on loopback): strict Prometheus text, the
// counters move as a call runs, the token guard, and label values stay bounded over 200 calls with distinct ids.
import { describe, expect, test } from "bun:test";
import { rawUpgrade } from "../support/caller.ts";
import type { Agent, CallTool } from "../../src/call/agent.ts";
import { KILL_AUDIO } from "../../src/telephony/audio-socket.ts";
import { singleAgent } from "../../src/call/agent.ts";
import { mintStreamToken } from "../../src/telephony/stream-token.ts";
import { parsePrometheusText, sumOf, valueOf, type Family } from "../support/prom-text.ts";
import { Caller, numberedPcm, PROTO, startHarness, until, type Harness } from "../relay/harness.ts";

const lookup: CallTool = {
  declaration: { name: "lookup_order", description: "Find an order.", parameters: { type: "object", properties: { order: { type: "string" } } } },
  timeoutMs: 2000,
  run: async (args) => ({ order: args.order, status: "ok" }),
};
const agent: Agent = { name: "support", model: "gemini-3.8-live", voice: "Puck", prompt: "Test.", greeting: "", tools: [lookup], maxCallSeconds: 0, idleSeconds: 0 };

async function scrape(hh: Harness, token?: string): Promise<Map<string, Family>> {
  const res = await fetch(hh.base + "/metrics", token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toStartWith("text/plain");
  return parsePrometheusText(await res.text());
}

/** 20 ms frames at 16 kHz: a 300 Hz tone well above the speech threshold. */
function loudFrame(): Uint8Array {
  const f = new Uint8Array(640);
  const v = new DataView(f.buffer);
  for (let i = 0; i < 320; i++) v.setInt16(i * 2, Math.round(8000 * Math.sin((2 * Math.PI * 300 * i) / 16000)), true);
  return f;
}

/** Every label value of every sauti_* sample. */
function labelValues(fams: Map<string, Family>): string[] {
  const out: string[] = [];
  for (const f of fams.values()) {
    if (!f.name.startsWith("sauti_")) continue;
    for (const s of f.samples) for (const [k, v] of Object.entries(s.labels)) if (k !== "le") out.push(v);
  }
  return out;
}

function sautiSeries(fams: Map<string, Family>): number {
  let n = 0;
  for (const f of fams.values()) if (f.name.startsWith("sauti_")) n += f.samples.length;
  return n;
}

const REQUIRED: Array<[string, Family["type"]]> = [
  ["sauti_calls_active", "gauge"],
  ["sauti_calls_total", "counter"],
  ["sauti_call_duration_seconds", "histogram"],
  ["sauti_first_audio_seconds", "histogram"],
  ["sauti_response_seconds", "histogram"],
  ["sauti_barge_ins_total", "counter"],
  ["sauti_playout_underrun_seconds_total", "counter"],
  ["sauti_pacer_late_ticks_total", "counter"],
  ["sauti_event_loop_lag_seconds", "histogram"],
  ["sauti_model_sessions_total", "counter"],
  ["sauti_model_reconnects_total", "counter"],
  ["sauti_model_rotations_total", "counter"],
  ["sauti_model_setup_seconds", "histogram"],
  ["sauti_model_tokens_total", "counter"],
  ["sauti_tool_calls_total", "counter"],
  ["sauti_tool_seconds", "histogram"],
  ["sauti_webhooks_total", "counter"],
  ["sauti_stream_upgrades_total", "counter"],
  ["process_cpu_seconds_total", "counter"],
  ["process_resident_memory_bytes", "gauge"],
  ["process_open_fds", "gauge"],
];

describe("/metrics", () => {
  test("parses as Prometheus text, and its counters move as a call runs through the relay", async () => {
    await using h = await startHarness({}, {}, { router: singleAgent(agent) });
    const before = await scrape(h);
    for (const [name, type] of REQUIRED) {
      expect(before.get(name)?.type ?? `missing ${name}`).toBe(type);
      expect(before.get(name)?.help ?? "").not.toBe("");
    }
    expect(valueOf(before, "sauti_calls_total")).toBeUndefined();

    // Two refused upgrades: a forged token and a missing subprotocol.
    const good = await h.streamUrlFor("HD_m_refused");
    expect((await rawUpgrade(good.replace(/token=[^&]+/, "token=1.abc"), PROTO)).status).toBe(401);
    expect((await rawUpgrade(good, null)).status).toBe(400);

    // The call: caller speaks then falls silent, the agent answers, a tool (and one the agent does not have),
    // a long answer cut by barge-in, hang-up.
    const url = await h.streamUrlFor("HD_m_call");
    const c = await new Caller(url).open();
    await until(() => h.standin.sessions.length > 0 && h.standin.sessions.at(-1)!.ready, "live ready");
    const live = h.standin.sessions.at(-1)!;
    const during = await scrape(h);
    expect(valueOf(during, "sauti_calls_active", { agent: "support" })).toBe(1);

    const loud = loudFrame();
    const quiet = numberedPcm(320, 0);
    for (let i = 0; i < 15; i++) {
      c.ws.send(loud);
      await Bun.sleep(20);
    }
    for (let i = 0; i < 10; i++) {
      c.ws.send(quiet);
      await Bun.sleep(20);
    }
    live.speak({ ms: 400 });
    await until(() => live.sent.filter((k) => k.includes("usageMetadata")).length >= 1, "first answer complete", 10000);
    live.toolCall("lookup_order", { order: "A1" });
    live.toolCall("made_up_tool", {});
    await until(() => live.toolResponses.length === 2, "tools answered");
    const heardBefore = c.audioMs();
    live.speak({ ms: 5000 });
    await until(() => c.audioMs() > heardBefore + 400, "second answer playing", 10000);
    live.interrupt();
    await until(() => c.texts.includes(KILL_AUDIO), "killAudio");
    c.ws.close();

    let after = await scrape(h);
    for (let i = 0; i < 200 && valueOf(after, "sauti_calls_total", { agent: "support", end_reason: "caller_hangup" }) !== 1; i++) {
      await Bun.sleep(25);
      after = await scrape(h);
    }
    expect(valueOf(after, "sauti_calls_total", { agent: "support", end_reason: "caller_hangup" })).toBe(1);
    expect(valueOf(after, "sauti_calls_active", { agent: "support" })).toBe(0);
    expect(valueOf(after, "sauti_call_duration_seconds_count")).toBe(1);
    expect(valueOf(after, "sauti_call_duration_seconds_sum")!).toBeGreaterThan(0.5);
    expect(valueOf(after, "sauti_first_audio_seconds_count")).toBe(2);
    expect(valueOf(after, "sauti_response_seconds_count")).toBe(1);
    expect(valueOf(after, "sauti_response_seconds_sum")!).toBeGreaterThan(0.2); // at least the 200 ms of silence sent
    expect(valueOf(after, "sauti_barge_ins_total")).toBe(1);
    expect(valueOf(after, "sauti_tool_calls_total", { tool: "lookup_order", outcome: "ok" })).toBe(1);
    expect(valueOf(after, "sauti_tool_calls_total", { tool: "unknown", outcome: "error" })).toBe(1);
    expect(valueOf(after, "sauti_tool_seconds_count", { tool: "lookup_order" })).toBe(1);
    expect(valueOf(after, "sauti_model_sessions_total", { outcome: "ok" })).toBe(2);
    expect(valueOf(after, "sauti_model_setup_seconds_count")).toBe(2);
    expect(sumOf(after, "sauti_model_tokens_total", { direction: "output" })).toBeGreaterThan(0);
    expect(sumOf(after, "sauti_model_tokens_total", { direction: "input" })).toBeGreaterThan(0);
    expect(valueOf(after, "sauti_webhooks_total", { route: "/voice", status: "200" })).toBe(2);
    expect(valueOf(after, "sauti_stream_upgrades_total", { outcome: "ok" })).toBe(1);
    expect(valueOf(after, "sauti_stream_upgrades_total", { outcome: "bad_token" })).toBe(1);
    expect(valueOf(after, "sauti_stream_upgrades_total", { outcome: "no_subprotocol" })).toBe(1);
    expect(valueOf(after, "sauti_pacer_ticks_total")!).toBeGreaterThan(10);
    expect(valueOf(after, "sauti_event_loop_lag_seconds_count")!).toBeGreaterThan(0);
    expect(valueOf(after, "process_resident_memory_bytes")!).toBeGreaterThan(1e6);
    expect(valueOf(after, "process_open_fds")!).toBeGreaterThan(0);
    // Never a call id or a phone number as a label value.
    for (const v of labelValues(after)) {
      expect(v).not.toContain("HD_");
      expect(v).not.toMatch(/2547/);
    }
  }, 30000);

  test("METRICS_TOKEN guards /metrics with a Bearer token; health and readiness stay open", async () => {
    await using h = await startHarness({ METRICS_TOKEN: "metrics-s3cret" });
    expect((await fetch(h.base + "/metrics")).status).toBe(401);
    const wrong = await fetch(h.base + "/metrics", { headers: { authorization: "Bearer metrics-wrong" } });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("www-authenticate")).toStartWith("Bearer");
    expect((await fetch(h.base + "/metrics", { headers: { authorization: "Basic bWV0cmljcy1zM2NyZXQ=" } })).status).toBe(401);
    expect((await fetch(h.base + "/metrics", { headers: { authorization: "Bearer metrics-s3cret-and-more" } })).status).toBe(401);
    const fams = await scrape(h, "metrics-s3cret");
    expect(fams.get("sauti_calls_total")?.type).toBe("counter");
    expect((await fetch(h.base + "/healthz")).status).toBe(200);
    expect((await fetch(h.base + "/readyz")).status).toBe(200);
    expect(h.logs.join("\n")).not.toContain("metrics-s3cret");
  });

  test("label values stay bounded over 200 calls with distinct ids (and tool names the model made up)", async () => {
    await using h = await startHarness({}, {}, { router: singleAgent(agent) });
    const hh = h;
    // Each batch: 20 calls up at once, each asked by the model for a tool under a name unique to it (and given a
    // phone number as an argument), then all hung up.
    const batch = async (from: number, to: number) => {
      for (let i = from; i < to; i += 20) {
        const ids = Array.from({ length: Math.min(20, to - i) }, (_, k) => `HD_card_${i + k}_${crypto.randomUUID()}`);
        const callers = await Promise.all(ids.map(async (id) => new Caller(await hh.streamUrlFor(id)).open()));
        await until(() => hh.calls.activeCalls === ids.length, "calls up");
        const live = hh.standin.live();
        expect(live.length).toBe(ids.length);
        for (const s of live) s.toolCall(`tool_${s.id}_${crypto.randomUUID().slice(0, 8)}`, { phone: "+254700000001" });
        await until(() => live.every((s) => s.toolResponses.length === 1), "made-up tools answered");
        for (const c of callers) c.ws.close();
        await until(() => hh.calls.activeCalls === 0 && hh.standin.live().length === 0, "calls ended", 10000);
      }
    };
    const settled = async (n: number) => {
      let f = await scrape(hh);
      for (let i = 0; i < 400 && valueOf(f, "sauti_calls_total", { agent: "support", end_reason: "caller_hangup" }) !== n; i++) {
        await Bun.sleep(25);
        f = await scrape(hh);
      }
      expect(valueOf(f, "sauti_calls_total", { agent: "support", end_reason: "caller_hangup" })).toBe(n);
      return f;
    };
    await batch(0, 20);
    const first = await settled(20);
    const seriesAt20 = sautiSeries(first);
    await batch(20, 200);
    const last = await settled(200);
    expect(sautiSeries(last)).toBe(seriesAt20);
    for (const v of labelValues(last)) {
      expect(v).not.toContain("HD_card");
      expect(v).not.toMatch(/^tool_/);
      expect(v).not.toContain("2547");
    }
    const toolLabels = new Set(last.get("sauti_tool_calls_total")!.samples.map((s) => s.labels.tool));
    expect([...toolLabels].every((t) => t === "unknown" || t === "lookup_order")).toBe(true);
  }, 60000);
});

test("model rotations (goAway) and reconnects (an unexpected close) are counted when the call ends", async () => {
  await using h = await startHarness({}, { goAwayMs: 0 });
  const c = await new Caller(await h.streamUrlFor("HD_m_rot")).open();
  await until(() => h.standin.live().some((s) => s.ready), "live ready");
  h.standin.live()[0]!.goAway(2000);
  await until(() => h.standin.sessions.length === 2 && h.standin.sessions[1]!.ready, "rotated", 10000);
  h.standin.sessions[1]!.close(1011, "Internal error encountered.");
  await until(() => h.standin.sessions.length === 3 && h.standin.sessions[2]!.ready, "reconnected", 10000);
  c.ws.close();
  let f = await scrape(h);
  for (let i = 0; i < 200 && valueOf(f, "sauti_calls_total", { end_reason: "caller_hangup" }) !== 1; i++) {
    await Bun.sleep(25);
    f = await scrape(h);
  }
  expect(valueOf(f, "sauti_calls_total", { agent: "default", end_reason: "caller_hangup" })).toBe(1);
  expect(valueOf(f, "sauti_model_rotations_total")).toBe(1);
  expect(valueOf(f, "sauti_model_reconnects_total")).toBe(1);
  // Sessions count calls' model sessions, not the sockets a session goes through.
  expect(valueOf(f, "sauti_model_sessions_total", { outcome: "ok" })).toBe(1);
});

test("an expired stream token counts as expired_token", async () => {
  await using h = await startHarness();
  const token = mintStreamToken(h.config.streamTokenSecret, "HD_old", 10, Math.floor(Date.now() / 1000) - 3600);
  const res = await rawUpgrade(`${h.base}/stream?call=HD_old&token=${token}`, PROTO);
  expect(res.status).toBe(401);
  expect(valueOf(await scrape(h), "sauti_stream_upgrades_total", { outcome: "expired_token" })).toBe(1);
});
