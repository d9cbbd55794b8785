// A fake of Sautikit on loopback, faithful to docs/sautikit-stream.md where a relay depends on it.
//   POST   /v1/calls/{id}/hangup       records the hang-up, answers 200 {"call_id","status":"hung_up"}, ends the call
//   POST   /v1/calls                   Bearer key checked; {from, to:[E.164], voice_callback_url, client_request_id}
//                                      validated (client_request_id only [A-Za-z0-9._:-]); Idempotency-Key honoured: a
//                                      repeat answers the same call and dials nothing; 201 {call_id, session_id,
//                                      status:"ringing", client_request_id}; then plays a scripted callee (below)
//   GET    /v1/calls/{id}              {"call": {id, session_id, status, answered_at, …}} by call id or session id; 404
//   POST   /v1/calls/{id}/supervision  → 201 the supervision (state "connecting"); 409 calls.supervision_in_progress
//                                      while one is active; 400 on a body the API would refuse
//   PATCH  /v1/calls/{id}/supervision  → the supervision with its new mode; 409 until it is connected
//   DELETE /v1/calls/{id}/supervision  → 204 (idempotent)
//   GET    /v1/calls/{id}/supervision  → {"supervision": the active one | null}
// The supervision routes want `Authorization: Bearer …` (401 otherwise); errors come as
// {"error":{code,message,request_id}}. The test moves a supervision along (ring, connect, leave, fail) and can make
// the next POST fail.
// Callees, chosen per dialed number by `script`:
//   answer     POSTs the signed voice webhook (form fields as live calls carry them, clientRequestId in the body and
//              as ?clientRequestId=), opens the stream socket (audio.drachtio.org, metadata frame, 20 ms frames),
//              says "Hello?" (speech-like noise) and listens; hangs up after `hangUpAfterMs`, or when hung up
//   no_answer  rings, then no_answer;  busy;  fail (status failed, or the originate request refused with `httpStatus`)
//   voicemail  answers like `answer`, but plays a greeting, a 1 kHz beep, then silence
// Per-number events (call.answered, call.completed, call.failed) are POSTed, signed, to `eventsUrl` when the
// script says so, optionally twice (delivery is at least once). `using rest = fakeSautikitRest()`.
import { signBody } from "../../src/signing/sautikit.ts";

export interface Hangup {
  callId: string;
  auth: string | null;
  idempotencyKey: string | null;
  at: number;
}

export type CalleeScript =
  | { kind: "answer"; helloMs?: number; hangUpAfterMs?: number; event?: boolean }
  | { kind: "no_answer"; ringMs?: number; event?: boolean; eventStyle?: "status" | "cause"; duplicate?: boolean }
  | { kind: "busy"; ringMs?: number; event?: boolean }
  | { kind: "fail"; httpStatus?: number; event?: boolean }
  | { kind: "voicemail"; greetingMs?: number; beepMs?: number; beepHz?: number; hangUpAfterMs?: number; event?: boolean };

export interface OriginateRequest {
  body: Record<string, unknown>;
  auth: string | null;
  idempotencyKey: string | null;
  /** A repeat of an earlier key: answered with that call, nothing dialed. */
  repeat: boolean;
  status: number;
}

/** One call the fake placed. Times are performance.now(). */
export interface FakeCall {
  callId: string;
  sessionId: string;
  from: string;
  to: string;
  clientRequestId: string;
  idempotencyKey: string;
  script: CalleeScript;
  status: "ringing" | "answered" | "completed" | "failed" | "no_answer" | "busy" | "canceled";
  answeredAt: string | null;
  endedAt: string | null;
  /** The voice webhook's answer (the XML), once posted. */
  webhookAnswer: string | undefined;
  socket: WebSocket | undefined;
  /** Audio sent to the relay so far, ms; and when (audio ms) the callee's words ended (hello, or the greeting). */
  sentMs: number;
  wordsEndMs: number;
  /** voicemail: audio ms at which the beep ended. */
  beepEndMs: number;
  /** Binary frames from the relay, each with the audio ms the callee had sent when it came. */
  heard: Array<{ atSentMs: number; bytes: number; loud: boolean }>;
  closed: boolean;
  events: string[];
  /** The relay's answers to those events (the JSON `status`, or the HTTP status when not 200). */
  eventAnswers: string[];
}

export interface FakeSautikitOptions {
  /** Required Bearer key for /v1/calls; undefined = any key accepted. */
  apiKey: string | undefined;
  /** Signs the voice webhooks it posts (the number's voice_signing_secret). */
  webhookSecret: string;
  /** Where per-number events go (the relay's /sautikit/events); none when unset. */
  eventsUrl: string | undefined;
  eventsSecret: string | undefined;
  /** Which callee answers a dialed number. */
  script: (to: string) => CalleeScript;
  /** Rate of the audio it streams (CALL_SAMPLE_RATE). */
  rate: number;
}

export interface SupervisionRequest {
  method: string;
  callId: string;
  body: unknown;
  auth: string | null;
  idempotencyKey: string | null;
}

export type SupervisionState = "connecting" | "ringing" | "connected" | "ended" | "failed";

export interface FakeSupervision {
  supervision_id: string;
  call_id: string;
  session_id: string;
  mode: "listen" | "whisper" | "barge";
  announce: "none" | "agent" | "both";
  supervisor: { type: "client" | "sip" | "phone"; identity?: string; number?: string; label?: string };
  notify_agent: boolean;
  state: SupervisionState;
  connected_at?: string;
  ended_at?: string;
  created_at: string;
}

export interface FakeSautikitRest extends Disposable {
  url: string;
  hangups: Hangup[];
  originates: OriginateRequest[];
  calls: FakeCall[];
  /** Calls ringing or answered right now, and the most there ever were at once. */
  readonly up: number;
  readonly maxUp: number;
  /** Answer originate requests with 503 while true; hold originate and status requests `slowMs` first. */
  down: boolean;
  slowMs: number;
  /** GET /v1/calls/{id} requests, by the id asked for. */
  statusChecks: string[];
  /** Replaces the status GET /v1/calls/{id} reports (e.g. one Sautikit does not document); undefined = the real one. */
  reportStatus: ((c: FakeCall) => string | undefined) | undefined;
  options: FakeSautikitOptions;
  callFor(clientRequestId: string): FakeCall | undefined;
  supervisionRequests: SupervisionRequest[];
  /** The latest supervision of each call (by the id the relay used, the HD_… session id). */
  supervisions: Map<string, FakeSupervision>;
  /** The next POST …/supervision is answered with this error instead. */
  failNextSupervision(status: number, code: string, message?: string): void;
  /** Moves the call's supervision to `state` (connected stamps connected_at; ended/failed stamp ended_at). */
  setSupervision(callId: string, state: SupervisionState): void;
  stop(): void;
}

const E164 = /^\+[1-9]\d{6,14}$/;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

const active = (s: FakeSupervision | undefined): s is FakeSupervision => s !== undefined && s.state !== "ended" && s.state !== "failed";

const err = (status: number, code: string, message: string) => Response.json({ error: { code, message, request_id: `req_${crypto.randomUUID().slice(0, 8)}` } }, { status });

/** Speech-like audio: noise under a syllable envelope (loud for the relay's detectors, no steady pitch). */
function speechFrame(out: Int16Array, t0Ms: number, rate: number, seed: { v: number }): void {
  for (let i = 0; i < out.length; i++) {
    seed.v = (seed.v * 1103515245 + 12345) >>> 0;
    const noise = ((seed.v >>> 8) & 0xffff) / 32768 - 1;
    const tMs = t0Ms + (i * 1000) / rate;
    const env = 0.55 + 0.45 * Math.sin((2 * Math.PI * tMs) / 250);
    out[i] = Math.round(noise * env * 9000);
  }
}

function toneFrame(out: Int16Array, t0Ms: number, rate: number, hz: number): void {
  for (let i = 0; i < out.length; i++) out[i] = Math.round(8000 * Math.sin(2 * Math.PI * hz * (t0Ms / 1000 + i / rate)));
}

function loud(b: Uint8Array): boolean {
  const v = new Int16Array(b.buffer, b.byteOffset, b.byteLength >> 1);
  let peak = 0;
  for (let i = 0; i < v.length; i += 4) peak = Math.max(peak, Math.abs(v[i]!));
  return peak > 500;
}

export function fakeSautikitRest(opts: Partial<FakeSautikitOptions> = {}): FakeSautikitRest {
  const o: FakeSautikitOptions = {
    apiKey: undefined,
    webhookSecret: "whsec_test_secret",
    eventsUrl: undefined,
    eventsSecret: undefined,
    script: () => ({ kind: "answer" }),
    rate: 16000,
    ...opts,
  };
  const hangups: Hangup[] = [];
  const supervisionRequests: SupervisionRequest[] = [];
  const supervisions = new Map<string, FakeSupervision>();
  let failNext: { status: number; code: string; message: string } | undefined;
  const originates: OriginateRequest[] = [];
  const calls: FakeCall[] = [];
  const byKey = new Map<string, { status: number; body: unknown }>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let up = 0;
  let maxUp = 0;
  let stopped = false;

  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      if (!stopped) fn();
    }, ms);
    timers.add(t);
  };

  const find = (id: string) => calls.find((c) => c.callId === id || c.sessionId === id);

  const end = (c: FakeCall, status: FakeCall["status"], cause: string) => {
    if (c.status !== "ringing" && c.status !== "answered") return;
    const wasAnswered = c.status === "answered";
    c.status = status;
    c.endedAt = new Date().toISOString();
    up--;
    if (c.socket !== undefined && !c.closed) c.socket.close(1000, "call ended");
    const script = c.script;
    if (script.event === true) {
      const kind = status === "completed" ? "call.completed" : "call.failed";
      const style = script.kind === "no_answer" ? (script.eventStyle ?? "status") : "status";
      const data =
        style === "cause"
          ? { status: "completed", hangup_cause: "NO_ANSWER" }
          : { status, hangup_cause: cause, ...(wasAnswered ? { answered_at: c.answeredAt } : {}) };
      void postEvent(c, kind, data, script.kind === "no_answer" && script.duplicate === true);
    }
    // Lifecycle edges re-post the voice URL (the relay answers them with an empty <Response/>).
    if (wasAnswered) void postWebhook(c, "Completed").catch(() => undefined);
  };

  const postEvent = async (c: FakeCall, kind: string, data: Record<string, unknown>, twice = false) => {
    if (o.eventsUrl === undefined) return;
    const eventId = crypto.randomUUID();
    const body = JSON.stringify({
      kind,
      event_id: eventId,
      workspace_id: "ws_test",
      occurred_at: new Date().toISOString(),
      data: { call_id: c.callId, pbx_call_id: c.sessionId, direction: "outbound", from: c.from, to: c.to, number_id: "num_test", ended_at: c.endedAt, ...data },
    });
    const headers: Record<string, string> = { "content-type": "application/json", "x-sautikit-event": kind, "x-sautikit-idempotency-key": eventId };
    if (o.eventsSecret !== undefined) headers["x-sautikit-signature"] = signBody(o.eventsSecret, body);
    for (let i = 0; i < (twice ? 2 : 1); i++) {
      c.events.push(kind);
      const res = await fetch(o.eventsUrl, { method: "POST", headers, body }).catch(() => undefined);
      const answer = res === undefined ? "unreachable" : res.status === 200 ? String(((await res.json()) as { status?: unknown }).status) : String(res.status);
      c.eventAnswers.push(answer);
    }
  };

  const postWebhook = async (c: FakeCall, state: string): Promise<string> => {
    const form = new URLSearchParams({
      sessionId: c.sessionId,
      callerNumber: c.from,
      destinationNumber: c.to,
      direction: "outbound",
      callSessionState: state,
      isActive: state === "Completed" ? "false" : "true",
      clientRequestId: c.clientRequestId,
    }).toString();
    const u = new URL(voiceUrls.get(c.callId)!);
    u.searchParams.set("clientRequestId", c.clientRequestId);
    const res = await fetch(u, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "x-sautikit-signature": signBody(o.webhookSecret, form) },
      body: form,
    });
    return res.text();
  };
  const voiceUrls = new Map<string, string>();

  /** The callee picks up: webhook, stream socket, audio on a 20 ms clock. */
  const answer = async (c: FakeCall) => {
    c.status = "answered";
    c.answeredAt = new Date().toISOString();
    if (c.script.event === true) void postEvent(c, "call.answered", { status: "answered", answered_at: c.answeredAt });
    let xml: string;
    try {
      xml = await postWebhook(c, "Answered");
    } catch {
      return end(c, "failed", "NETWORK_OUT_OF_ORDER");
    }
    c.webhookAnswer = xml;
    const m = /<Stream\b[^>]*\burl="([^"]+)"/.exec(xml);
    if (m === null) {
      // The fallback <Say>…<Hangup/>: the PBX speaks it and hangs up.
      return end(c, "completed", "NORMAL_CLEARING");
    }
    const url = m[1]!.replace(/&amp;/g, "&");
    const ws = new WebSocket(url, ["audio.drachtio.org"]);
    ws.binaryType = "arraybuffer";
    c.socket = ws;
    const frameSamples = (o.rate / 1000) * 20;
    const pcm = new Int16Array(frameSamples);
    const seed = { v: 7 };
    const s = c.script;
    const helloStart = 200;
    const helloMs = s.kind === "answer" ? (s.helloMs ?? 400) : 0;
    const greetingMs = s.kind === "voicemail" ? (s.greetingMs ?? 2500) : 0;
    const beepStart = greetingMs + 300;
    const beepMs = s.kind === "voicemail" ? (s.beepMs ?? 500) : 0;
    const beepHz = s.kind === "voicemail" ? (s.beepHz ?? 1000) : 1000;
    c.wordsEndMs = s.kind === "voicemail" ? helloStart + greetingMs : helloMs > 0 ? helloStart + helloMs : 0;
    c.beepEndMs = s.kind === "voicemail" ? helloStart + beepStart + beepMs : -1;
    let timer: ReturnType<typeof setInterval> | undefined;
    ws.onopen = () => {
      ws.send(JSON.stringify({ streamSid: `MZ${c.sessionId}`, callSid: c.sessionId, from: c.from, to: c.to }));
      timer = setInterval(() => {
        if (ws.readyState !== WebSocket.OPEN) return;
        const t = c.sentMs;
        const rel = t - helloStart;
        pcm.fill(0);
        if (s.kind === "answer" && rel >= 0 && rel < helloMs) speechFrame(pcm, t, o.rate, seed);
        if (s.kind === "voicemail" && rel >= 0 && rel < greetingMs) speechFrame(pcm, t, o.rate, seed);
        if (s.kind === "voicemail" && rel >= beepStart && rel < beepStart + beepMs) toneFrame(pcm, t, o.rate, beepHz);
        // Line noise under everything, as a PSTN leg has.
        for (let i = 0; i < pcm.length; i++) pcm[i] = pcm[i]! + ((i * 7919 + t) % 9) - 4;
        ws.send(new Uint8Array(pcm.buffer.slice(0)));
        c.sentMs += 20;
      }, 20);
    };
    ws.onmessage = (e) => {
      if (typeof e.data === "string") return;
      const b = new Uint8Array(e.data as ArrayBuffer);
      c.heard.push({ atSentMs: c.sentMs, bytes: b.byteLength, loud: loud(b) });
    };
    ws.onclose = () => {
      c.closed = true;
      clearInterval(timer);
      end(c, "completed", "NORMAL_CLEARING");
    };
    const after = s.kind === "answer" || s.kind === "voicemail" ? s.hangUpAfterMs : undefined;
    // The callee hanging up ends the call at once (the PBX tears the leg down, then the socket closes).
    if (after !== undefined) later(after, () => end(c, "completed", "NORMAL_CLEARING"));
  };

  const play = (c: FakeCall) => {
    const s = c.script;
    switch (s.kind) {
      case "answer":
      case "voicemail":
        later(30, () => void answer(c));
        return;
      case "no_answer":
        later(s.ringMs ?? 30, () => end(c, "no_answer", "NO_ANSWER"));
        return;
      case "busy":
        later(s.ringMs ?? 10, () => end(c, "busy", "USER_BUSY"));
        return;
      case "fail":
        later(10, () => end(c, "failed", "CALL_REJECTED"));
        return;
    }
  };

  const originate = async (req: Request): Promise<Response> => {
    const auth = req.headers.get("authorization");
    const key = req.headers.get("idempotency-key");
    let body: Record<string, unknown> = {};
    try {
      body = (await req.json()) as Record<string, unknown>;
    } catch {
      // checked below
    }
    const rec: OriginateRequest = { body, auth, idempotencyKey: key, repeat: false, status: 0 };
    originates.push(rec);
    const answerWith = (r: Response) => ((rec.status = r.status), r);
    if (f.slowMs > 0) await Bun.sleep(f.slowMs);
    if (o.apiKey !== undefined && auth !== `Bearer ${o.apiKey}`) return answerWith(err(401, "unauthorized", "invalid API key"));
    if (f.down) return answerWith(err(503, "unavailable", "try again later"));
    if (key !== null && byKey.has(key)) {
      rec.repeat = true;
      const prev = byKey.get(key)!;
      return answerWith(Response.json(prev.body, { status: prev.status }));
    }
    const to = body.to;
    if (typeof body.from !== "string" || !E164.test(body.from)) return answerWith(err(400, "invalid_request", "from must be an E.164 number"));
    if (!Array.isArray(to) || to.length !== 1 || typeof to[0] !== "string" || !E164.test(to[0])) return answerWith(err(400, "invalid_request", "to must be a list of E.164 numbers"));
    const crid = body.client_request_id;
    if (crid !== undefined && (typeof crid !== "string" || !REQUEST_ID.test(crid))) return answerWith(err(400, "invalid_request", "client_request_id has characters the PBX rejects"));
    if (typeof body.voice_callback_url !== "string") return answerWith(err(400, "invalid_request", "voice_callback_url required (this fake has no number routing)"));
    const script = o.script(to[0]);
    if (script.kind === "fail" && script.httpStatus !== undefined) {
      const r = err(script.httpStatus, "rejected", "the call was refused");
      if (key !== null) byKey.set(key, { status: r.status, body: await r.clone().json() });
      return answerWith(r);
    }
    const c: FakeCall = {
      callId: crypto.randomUUID(),
      sessionId: `HD_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`,
      from: body.from,
      to: to[0],
      clientRequestId: typeof crid === "string" ? crid : "",
      idempotencyKey: key ?? "",
      script,
      status: "ringing",
      answeredAt: null,
      endedAt: null,
      webhookAnswer: undefined,
      socket: undefined,
      sentMs: 0,
      wordsEndMs: 0,
      beepEndMs: -1,
      heard: [],
      closed: false,
      events: [],
      eventAnswers: [],
    };
    calls.push(c);
    voiceUrls.set(c.callId, body.voice_callback_url);
    up++;
    maxUp = Math.max(maxUp, up);
    const answerBody = { call_id: c.callId, session_id: c.sessionId, status: "ringing", client_request_id: c.clientRequestId };
    if (key !== null) byKey.set(key, { status: 201, body: answerBody });
    play(c);
    return answerWith(Response.json(answerBody, { status: 201 }));
  };

  const supervision = async (req: Request, callId: string): Promise<Response> => {
    let body: unknown;
    const text = await req.text();
    try {
      body = text === "" ? undefined : JSON.parse(text);
    } catch {
      return err(400, "invalid_json", "the body is not JSON");
    }
    supervisionRequests.push({ method: req.method, callId, body, auth: req.headers.get("authorization"), idempotencyKey: req.headers.get("idempotency-key") });
    const current = supervisions.get(callId);
    switch (req.method) {
      case "POST": {
        if (failNext !== undefined) {
          const f = failNext;
          failNext = undefined;
          return err(f.status, f.code, f.message);
        }
        const b = body as { mode?: unknown; supervisor?: { type?: unknown; number?: unknown; identity?: unknown }; announce?: unknown; label?: unknown; notify_agent?: unknown } | undefined;
        if (!["listen", "whisper", "barge"].includes(b?.mode as string)) return err(400, "validation_error", "mode must be listen, whisper or barge");
        const sup = b?.supervisor;
        if (sup?.type === "phone") {
          if (typeof sup.number !== "string" || !/^\+[1-9]\d{6,14}$/.test(sup.number)) return err(400, "validation_error", "supervisor.number must be E.164");
        } else if (sup?.type === "client" || sup?.type === "sip") {
          if (typeof sup.identity !== "string" || sup.identity === "") return err(400, "validation_error", "supervisor.identity is required");
        } else return err(400, "validation_error", "supervisor.type must be client, sip or phone");
        if (b?.announce !== undefined && !["none", "agent", "both"].includes(b.announce as string)) return err(400, "validation_error", "announce must be none, agent or both");
        if (typeof b?.label === "string" && b.label.length > 64) return err(400, "validation_error", "label is at most 64 characters");
        if (active(current)) return err(409, "calls.supervision_in_progress", "this call already has a supervisor");
        const s: FakeSupervision = {
          supervision_id: `sup_${crypto.randomUUID().slice(0, 12)}`,
          call_id: crypto.randomUUID(),
          session_id: callId,
          mode: b!.mode as FakeSupervision["mode"],
          announce: (b?.announce as FakeSupervision["announce"]) ?? "none",
          supervisor: { ...(sup as FakeSupervision["supervisor"]), ...(typeof b?.label === "string" ? { label: b.label } : {}) },
          notify_agent: b?.notify_agent === undefined ? true : Boolean(b.notify_agent),
          state: "connecting",
          created_at: new Date().toISOString(),
        };
        supervisions.set(callId, s);
        return Response.json(s, { status: 201 });
      }
      case "PATCH": {
        if (!active(current)) return err(404, "calls.supervision_not_found", "this call has no supervisor");
        if (current.state !== "connected") return err(409, "calls.supervision_not_connected", "the supervisor is still ringing");
        const mode = (body as { mode?: unknown } | undefined)?.mode;
        if (!["listen", "whisper", "barge"].includes(mode as string)) return err(400, "validation_error", "mode must be listen, whisper or barge");
        current.mode = mode as FakeSupervision["mode"];
        return Response.json(current);
      }
      case "DELETE":
        if (active(current)) {
          current.state = "ended";
          current.ended_at = new Date().toISOString();
        }
        return new Response(null, { status: 204 });
      case "GET":
        return Response.json({ supervision: active(current) ? current : null });
      default:
        return err(405, "method_not_allowed", "no such method");
    }
  };

  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const path = new URL(req.url).pathname;
      const sup = /^\/v1\/calls\/([^/]+)\/supervision$/.exec(path);
      if (sup !== null) {
        if (!/^Bearer \S+$/.test(req.headers.get("authorization") ?? "")) return err(401, "unauthorized", "missing or malformed API key");
        return supervision(req, decodeURIComponent(sup[1]!));
      }
      const hang = /^\/v1\/calls\/([^/]+)\/hangup$/.exec(path);
      if (req.method === "POST" && hang !== null) {
        const callId = decodeURIComponent(hang[1]!);
        hangups.push({ callId, auth: req.headers.get("authorization"), idempotencyKey: req.headers.get("idempotency-key"), at: performance.now() });
        const c = find(callId);
        if (c !== undefined) end(c, "completed", "NORMAL_CLEARING");
        return Response.json({ call_id: callId, status: "hung_up" });
      }
      if (req.method === "POST" && (path === "/v1/calls" || path === "/v1/calls/originate")) return originate(req);
      const get = /^\/v1\/calls\/([^/]+)$/.exec(path);
      if (req.method === "GET" && get !== null) {
        if (f.slowMs > 0) await Bun.sleep(f.slowMs);
        if (o.apiKey !== undefined && req.headers.get("authorization") !== `Bearer ${o.apiKey}`) return err(401, "unauthorized", "invalid API key");
        f.statusChecks.push(decodeURIComponent(get[1]!));
        const c = find(decodeURIComponent(get[1]!));
        if (c === undefined) return err(404, "not_found", "no such call");
        return Response.json({
          call: {
            id: c.callId,
            session_id: c.sessionId,
            direction: "outbound",
            local_e164: c.from,
            remote_e164: c.to,
            status: f.reportStatus?.(c) ?? c.status,
            answered_at: c.answeredAt,
            ended_at: c.endedAt,
            failure_code: c.status === "failed" ? "CALL_REJECTED" : null,
            metadata: {},
            events: [],
          },
        });
      }
      return err(404, "not_found", "no route");
    },
  });
  const f: FakeSautikitRest = {
    url: `http://127.0.0.1:${server.port}`,
    hangups,
    supervisionRequests,
    supervisions,
    failNextSupervision(status, code, message = "refused") {
      failNext = { status, code, message };
    },
    setSupervision(callId, state) {
      const s = supervisions.get(callId);
      if (s === undefined) throw new Error(`no supervision for ${callId}`);
      s.state = state;
      if (state === "connected") s.connected_at = new Date().toISOString();
      if (state === "ended" || state === "failed") s.ended_at = new Date().toISOString();
    },
    originates,
    calls,
    get up() {
      return up;
    },
    get maxUp() {
      return maxUp;
    },
    down: false,
    slowMs: 0,
    statusChecks: [],
    reportStatus: undefined,
    options: o,
    callFor: (id) => calls.find((c) => c.clientRequestId === id),
    stop: () => {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      for (const c of calls) if (c.socket !== undefined && !c.closed) c.socket.close(1000, "fake stopped");
      void server.stop(true);
    },
    [Symbol.dispose]: () => f.stop(),
  };
  return f;
}
