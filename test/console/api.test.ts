// The console's API over real HTTP and WebSockets against the relay and the Live spy: the admin guard, minting
// softphone calls with one-use socket URLs, a softphone call end to end (browser source, killAudio, plain-close
// hang-up), masking of numbers, the in-memory history and the live event stream.
import { afterAll, describe, expect, test } from "bun:test";
import type { Agent } from "../../src/call/agent.ts";
import { KILL_AUDIO } from "../../src/telephony/audio-socket.ts";
import type { AgentRouter } from "../../src/call/agent.ts";
import type { SoftphoneTicket } from "../../src/console/web/softphone-ticket.ts";
import { fakeSautikitRest } from "../support/sautikit-rest.ts";
import { agentsFile, cleanupAgentFiles } from "../relay/fixtures.ts";
import { tone, toBytes } from "../support/signal.ts";
import { Caller, PROTO, startHarness, until, type Harness } from "../relay/harness.ts";

const agent = (name: string, voice: string): Agent => ({ name, model: "gemini-3.8-live", voice, prompt: "Test.", greeting: "", tools: [], maxCallSeconds: 0, idleSeconds: 0 });
const support = agent("support", "Puck");
const sales = agent("sales", "Charon");
const twoAgents: AgentRouter = { route: () => support, list: () => [support, sales].map((agent) => ({ agent, numbers: null })) };

afterAll(cleanupAgentFiles);

function mint(h: Harness, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${h.base}/api/softphone`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: typeof body === "string" ? body : JSON.stringify(body) });
}

const wsUrl = (h: Harness, path: string) => `ws://127.0.0.1:${h.relay.port}${path}`;
const voiceOf = (setup: Record<string, unknown> | undefined) =>
  (setup?.generationConfig as { speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName: string } } } }).speechConfig.voiceConfig.prebuiltVoiceConfig.voiceName;

/** Reads Server-Sent Events from a fetch body into an array. */
function readEvents(res: Response): { events: Array<{ event: string; data: any }>; stop: () => void } {
  const events: Array<{ event: string; data: any }> = [];
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  void (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buf += value;
        let cut: number;
        while ((cut = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event !== undefined && data !== undefined) events.push({ event, data: JSON.parse(data) });
        }
      }
    } catch {
      // cancelled
    }
  })();
  return { events, stop: () => void reader.cancel().catch(() => {}) };
}

describe("admin guard", () => {
  test("with ADMIN_TOKEN every console endpoint wants the Bearer token", async () => {
    await using h = await startHarness({ ADMIN_TOKEN: "s3cret-admin-token-0001" });
    for (const [method, path] of [
      ["GET", "/api/softphone/agents"],
      ["POST", "/api/softphone"],
      ["GET", "/api/console/calls"],
      ["GET", "/api/console/calls/x"],
      ["GET", "/api/console/events"],
      ["GET", "/api/console/tools"],
      ["POST", "/api/console/tools/run"],
    ] as const) {
      const none = await fetch(h.base + path, { method });
      expect(none.status).toBe(401);
      expect(((await none.json()) as { reason: string }).reason).toBe("no token");
      const wrong = await fetch(h.base + path, { method, headers: { authorization: "Bearer nope" } });
      expect(wrong.status).toBe(401);
    }
    const ok = await fetch(`${h.base}/api/softphone/agents`, { headers: { authorization: "Bearer s3cret-admin-token-0001" } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ agents: [{ name: "default", model: "gemini-3.8-live", voice: "Kore", tools: [], numbers: null, outbound: null }], inputRate: 16000, outputRate: 16000 });
  });

  test("without ADMIN_TOKEN: loopback is let in, a proxied request is not; the pages themselves are public", async () => {
    await using h = await startHarness();
    expect((await fetch(`${h.base}/api/softphone/agents`)).status).toBe(200);
    expect((await fetch(`${h.base}/api/softphone/agents`, { headers: { "x-forwarded-for": "203.0.113.9" } })).status).toBe(401);
    const page = await fetch(`${h.base}/console`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("Talk to an agent");
  });
});

describe("tools panel API", () => {
  test("lists each agent's tools with their schemas; a run answers what the model would get; bad requests are named", async () => {
    const service = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: async (req) => Response.json({ got: ((await req.json()) as { args: unknown }).args }) });
    try {
      const yaml = `agents:
  - name: shop
    prompt: p
    tools:
      - builtin: google_search
      - name: price_of
        description: "A price."
        parameters: { type: object, properties: { item: { type: string } }, required: [item] }
        url: "http://127.0.0.1:${service.port}/price?key=k-secret-1"
        headers: { X-Key: "hdr-secret-2" }
`;
      await using h = await startHarness({ AGENTS_FILE: agentsFile(yaml) });
      const list = await fetch(`${h.base}/api/console/tools`);
      const body = (await list.json()) as { agents: Array<Record<string, unknown>> };
      expect(body.agents).toEqual([
        {
          name: "shop",
          model: "gemini-3.8-live",
          webSearch: true,
          tools: [
            {
              name: "price_of",
              description: "A price.",
              kind: "http",
              parameters: { type: "object", properties: { item: { type: "string" } }, required: ["item"] },
              behavior: null,
              scheduling: null,
              timeoutMs: 5000,
              url: `http://127.0.0.1:${service.port}/price?key=****`,
              headerNames: ["X-Key"],
              signed: false,
            },
          ],
        },
      ]);
      expect(JSON.stringify(body)).not.toContain("secret");
      const post = (b: unknown, type = "application/json") => fetch(`${h.base}/api/console/tools/run`, { method: "POST", headers: { "content-type": type }, body: JSON.stringify(b) });
      const ok = await post({ agent: "shop", tool: "price_of", args: { item: "sugar" } });
      expect(ok.status).toBe(200);
      expect(await ok.json()).toMatchObject({ outcome: "ok", response: { status: "ok", output: { got: { item: "sugar" } } }, endedCall: false });
      const invalid = (await (await post({ agent: "shop", tool: "price_of", args: {} })).json()) as { outcome: string; response: { message: string } };
      expect(invalid.outcome).toBe("error");
      expect(invalid.response.message).toBe("invalid arguments: item: is missing. Correct them and call again.");
      expect((await post({ agent: "shop", tool: "price_of" }, "text/plain")).status).toBe(415);
      expect((await post({ agent: "shop", tool: "price_of", args: [1] })).status).toBe(400);
      expect((await post({ agent: 1, tool: "price_of" })).status).toBe(400);
      expect((await post({ agent: "nobody", tool: "price_of" })).status).toBe(404);
      expect(((await (await post({ agent: "shop", tool: "google_search" })).json()) as { error: string }).error).toBe('agent shop has no tool named "google_search"');
    } finally {
      service.stop(true);
    }
  });
});

describe("softphone", () => {
  test("minting: bad body 400, unknown agent 404, else 201 with a one-use URL for a pre-warmed session of that agent", async () => {
    await using h = await startHarness({}, {}, { router: twoAgents });
    expect((await mint(h, "{not json")).status).toBe(400);
    // A cross-site "simple" POST (no preflight) is not accepted.
    const plain = await fetch(`${h.base}/api/softphone`, { method: "POST", headers: { "content-type": "text/plain" }, body: '{"agent":"sales"}' });
    expect(plain.status).toBe(415);
    expect(h.standin.sessions).toHaveLength(0);
    expect((await mint(h, { agent: 7 })).status).toBe(400);
    const missing = await mint(h, { agent: "nobody" });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: string }).error).toContain("nobody");

    const agents = (await (await fetch(`${h.base}/api/softphone/agents`)).json()) as { agents: Array<{ name: string }> };
    expect(agents.agents.map((a) => a.name)).toEqual(["support", "sales"]);

    const t0 = Date.now();
    const res = await mint(h, { agent: "sales" });
    expect(res.status).toBe(201);
    const m = (await res.json()) as SoftphoneTicket;
    expect(m.callId).toMatch(/^web-[0-9a-f-]{36}$/);
    expect(m.agent).toBe("sales");
    expect(m.url).toStartWith(`/softphone?call=${m.callId}&token=`);
    const ttl = Date.parse(m.expiresAt) - t0;
    expect(ttl).toBeGreaterThan(55_000);
    expect(ttl).toBeLessThanOrEqual(61_000);
    expect({ inputRate: m.inputRate, outputRate: m.outputRate }).toEqual({ inputRate: 16000, outputRate: 16000 });
    // The session is opened at mint time, for the chosen agent.
    await until(() => h.standin.sessions.some((s) => s.ready), "pre-warmed session");
    expect(voiceOf(h.standin.sessions[0]!.setup)).toBe("Charon");
    // The admin-less log carries no ticket.
    expect(h.logs.join("\n")).not.toContain(m.url.split("token=")[1]!);
  });

  test("an agents file whose agents all have numbers: every agent is offered with its numbers, and a call to one runs it", async () => {
    // No default agent: before, the console asked the router for "the agent of an unknown number", found none
    // and offered nothing; minting {"agent":"sales"} answered 404.
    const file = agentsFile(`agents:
  - name: support
    numbers: ["+254 711 000 001"]
    voice: Puck
    prompt: "You are support."
  - name: sales
    numbers: ["254711000002", "+254711000003"]
    voice: Charon
    prompt: "You are sales."
`);
    await using h = await startHarness({ AGENTS_FILE: file, ADMIN_TOKEN: "s3cret-admin-token-0001" });
    const auth = { authorization: "Bearer s3cret-admin-token-0001" };
    const list = (await (await fetch(`${h.base}/api/softphone/agents`, { headers: auth })).json()) as { agents: Array<{ name: string; numbers: string[] | null }> };
    expect(list.agents.map((a) => [a.name, a.numbers])).toEqual([
      ["support", ["+254711000001"]],
      ["sales", ["+254711000002", "+254711000003"]],
    ]);
    const res = await mint(h, { agent: "sales" }, auth);
    expect(res.status).toBe(201);
    const m = (await res.json()) as SoftphoneTicket;
    await using phone = await new Caller(wsUrl(h, m.url)).open();
    await until(() => h.calls.activeCalls === 1, "softphone call started");
    expect(h.calls.calls()[0]!.info.agent.name).toBe("sales");
    expect(h.standin.sessions).toHaveLength(1);
    expect(voiceOf(h.standin.sessions[0]!.setup)).toBe("Charon");
    expect(JSON.stringify(h.standin.sessions[0]!.setup)).toContain("You are sales.");
    phone.ws.close();
  });

  test("the socket URL works once; a replay, a wrong token or a missing subprotocol are refused", async () => {
    await using h = await startHarness();
    const m = (await (await mint(h, {})).json()) as SoftphoneTicket;
    const [path, query] = m.url.split("?");
    const wrong = await fetch(`${h.base}${path}?${query!.replace(/token=[^&]+/, "token=AAAA")}`, {
      headers: { upgrade: "websocket", connection: "upgrade", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version": "13", "sec-websocket-protocol": PROTO },
    });
    expect(wrong.status).toBe(401);
    const noProto = new Caller(wsUrl(h, m.url), ["something-else"]);
    await until(() => noProto.closed !== undefined || noProto.error, "refused without the subprotocol");
    expect(noProto.opened).toBe(false);

    // The wrong token and the refused handshake did not use the ticket up.
    await using first = await new Caller(wsUrl(h, m.url)).open();
    const replay = new Caller(wsUrl(h, m.url));
    await until(() => replay.closed !== undefined || replay.error, "replay refused");
    expect(replay.opened).toBe(false);
    expect(h.logs.some((l) => l.includes("softphone upgrade rejected") && l.includes('"reason":"unknown"'))).toBe(true);
    first.ws.close();
  });

  test("a softphone call: browser source, audio both ways, killAudio even when SEND_KILL_AUDIO=false, hang-up is a plain close", async () => {
    using rest = fakeSautikitRest();
    await using h = await startHarness({ SEND_KILL_AUDIO: "false", SAUTIKIT_API_KEY: "sk", SAUTIKIT_API_URL: rest.url }, {}, { router: twoAgents });
    const m = (await (await mint(h, { agent: "sales" })).json()) as SoftphoneTicket;
    await using c = await new Caller(wsUrl(h, m.url)).open();
    c.ws.send(JSON.stringify({ callId: m.callId, source: "browser", sampleRate: 16000 }));
    await until(() => h.calls.activeCalls === 1, "call started");
    const call = h.calls.calls()[0]!;
    expect(call.info).toMatchObject({ callId: m.callId, caller: "browser", callee: "", source: "browser" });
    expect(call.info.agent.name).toBe("sales");

    const live = h.standin.sessions[0]!;
    const pcm = toBytes(tone(16000, 300, 0.2, 2000));
    for (let i = 0; i < pcm.length; i += 640) c.ws.send(pcm.subarray(i, i + 640));
    await until(() => live.audioBytes > 0, "caller audio reached the model");
    live.speak({ ms: 3000 });
    await until(() => c.audioMs() > 200, "agent audio reached the browser");
    live.interrupt();
    await until(() => c.texts.includes(KILL_AUDIO), "killAudio sent to the browser");

    // The relay ends the call (as end_call or a time limit would): a close with the reason, no REST hang-up.
    await call.hangup("agent_end_call", "test");
    await until(() => c.closed !== undefined, "socket closed by the relay");
    expect(c.closed).toEqual({ code: 1000, reason: "agent_end_call" });
    expect(rest.hangups).toEqual([]);
    const rec = (await (await fetch(`${h.base}/api/console/calls/${m.callId}`)).json()) as { source: string; endReason: string; agent: string; live: boolean };
    expect(rec).toMatchObject({ source: "browser", endReason: "agent_end_call", agent: "sales", live: false });
  });

  test("the chosen agent answers even when the pre-warmed session timed out before the socket came", async () => {
    await using h = await startHarness({ PREWARM_IDLE_MS: "1000" }, {}, { router: twoAgents });
    const m = (await (await mint(h, { agent: "sales" })).json()) as SoftphoneTicket;
    await until(() => h.standin.sessions[0]?.closed !== undefined, "idle pre-warmed session closed", 5000);
    await using c = await new Caller(wsUrl(h, m.url)).open();
    await until(() => h.calls.activeCalls === 1 && h.standin.sessions.length === 2, "call started on a new session");
    expect(h.calls.calls()[0]!.info.agent.name).toBe("sales");
    await until(() => h.standin.sessions[1]!.setup !== undefined, "setup sent");
    expect(voiceOf(h.standin.sessions[1]!.setup)).toBe("Charon");
    c.ws.close();
  });
});

describe("calls in memory and live events", () => {
  test("a phone call streams started, transcript, levels and ended; numbers masked unless the viewer has the token", async () => {
    await using h = await startHarness({ ADMIN_TOKEN: "tok-tok-tok-tok-0002" });
    const auth = { authorization: "Bearer tok-tok-tok-tok-0002" };
    const loopback = await startHarness();
    try {
      // Token viewer watching the call (its transcript comes through) and a viewer of the list only.
      const watched = readEvents(await fetch(`${h.base}/api/console/events?call=HD_console`, { headers: auth }));
      const all = readEvents(await fetch(`${h.base}/api/console/events`, { headers: auth }));
      await until(() => watched.events.length > 0 && all.events.length > 0, "snapshots");
      expect(watched.events[0]).toEqual({ event: "snapshot", data: { live: [] } });

      await using c = await new Caller(await h.streamUrlFor("HD_console")).open();
      await until(() => h.standin.sessions[0]?.ready === true, "live ready");
      const live = h.standin.sessions[0]!;
      live.send({ serverContent: { inputTranscription: { text: "Hello there", finished: true } } });
      live.speak({ ms: 1500, transcript: "Hi, how can I help?" });
      await until(() => c.audioMs() > 400, "agent audible");
      await until(() => all.events.some((e) => e.event === "levels" && e.data.calls[0]?.out > 0), "agent level seen", 5000);

      const started = all.events.find((e) => e.event === "started")!.data;
      expect(started).toMatchObject({ id: "HD_console", caller: "+254700000001", callee: "+254700000002", source: "phone", agent: "default" });
      expect(watched.events.some((e) => e.event === "transcript" && e.data.role === "caller" && e.data.text === "Hello there" && e.data.final)).toBe(true);
      expect(all.events.some((e) => e.event === "transcript")).toBe(false); // only the watcher gets the words

      // A late viewer of the same call gets its transcript so far in its snapshot.
      const late = readEvents(await fetch(`${h.base}/api/console/events?call=HD_console`, { headers: auth }));
      await until(() => late.events.length > 0, "late snapshot");
      expect(late.events[0]!.data.call).toMatchObject({ id: "HD_console", live: true, transcript: [{ role: "caller", text: "Hello there" }] });
      expect(late.events[0]!.data.live).toHaveLength(1);

      c.ws.close();
      await until(() => all.events.some((e) => e.event === "ended"), "ended event");
      expect(all.events.find((e) => e.event === "ended")!.data).toMatchObject({ id: "HD_console", endReason: "caller_hangup", durationMs: expect.any(Number) });
      expect(h.relay.console.hub.viewerCount).toBe(3);
      for (const s of [watched, all, late]) s.stop();
      // Viewers that go away are forgotten (and the levels timer stops with the last one).
      await until(() => h.relay.console.hub.viewerCount === 0, "viewers gone after their streams closed");

      const list = (await (await fetch(`${h.base}/api/console/calls`, { headers: auth })).json()) as { calls: Array<Record<string, unknown>>; next: string | null };
      expect(list.next).toBeNull();
      expect(list.calls).toHaveLength(1);
      expect(list.calls[0]).toMatchObject({ id: "HD_console", caller: "+254700000001", endReason: "caller_hangup" });

      // Without a token (loopback), the same kind of call shows only the last 3 digits, everywhere.
      const viewer = readEvents(await fetch(`${loopback.base}/api/console/events`));
      await using c2 = await new Caller(await loopback.streamUrlFor("HD_masked")).open();
      await until(() => viewer.events.some((e) => e.event === "started"), "started (masked)");
      expect(viewer.events.find((e) => e.event === "started")!.data).toMatchObject({ caller: "…001", callee: "…002" });
      c2.ws.close();
      await until(() => viewer.events.some((e) => e.event === "ended"), "ended (masked)");
      viewer.stop();
      const body = await (await fetch(`${loopback.base}/api/console/calls`)).text();
      expect(body).toContain("…001");
      expect(body).not.toContain("254700000001");
      const one = await (await fetch(`${loopback.base}/api/console/calls/HD_masked`)).text();
      expect(one).not.toContain("254700000001");
      expect((await fetch(`${loopback.base}/api/console/calls/nope`)).status).toBe(404);
    } finally {
      await loopback.stop();
    }
  });

  test("history pages newest first with a `next` cursor", async () => {
    await using h = await startHarness();
    for (const id of ["HD_a", "HD_b", "HD_c"]) {
      await using c = await new Caller(await h.streamUrlFor(id)).open();
      await until(() => h.calls.activeCalls === 1, `${id} started`);
      c.ws.close();
      await until(() => h.calls.activeCalls === 0, `${id} ended`);
      await Bun.sleep(5); // distinct end times
    }
    type Page = { calls: Array<{ id: string }>; next: string | null };
    for (let i = 0; ; i++) {
      const all = (await (await fetch(`${h.base}/api/console/calls`)).json()) as Page;
      if (all.calls.length === 3) break;
      if (i > 200) throw new Error("three calls never reached the history");
      await Bun.sleep(10);
    }
    const p1 = (await (await fetch(`${h.base}/api/console/calls?limit=2`)).json()) as Page;
    expect(p1.calls.map((c) => c.id)).toEqual(["HD_c", "HD_b"]);
    expect(p1.next).not.toBeNull();
    const p2 = (await (await fetch(`${h.base}/api/console/calls?limit=2&before=${p1.next}`)).json()) as Page;
    expect(p2.calls.map((c) => c.id)).toEqual(["HD_a"]);
    expect(p2.next).toBeNull();
    expect((await fetch(`${h.base}/api/console/calls?before=yesterday`)).status).toBe(400);
  });
});
