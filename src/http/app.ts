// HTTP side (Hono): the voice webhook that answers with <Stream>, the stream-status callback, liveness (/healthz),
// readiness (/readyz), the records API and, when given, the metrics route.
import { Hono, type MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { CallAdmission } from "../admission/admission.ts";
import { inboundParties } from "../agents/variables.ts";
import type { Agent } from "../call/agent.ts";
import type { CallPurpose, RefusalReason } from "../call/data.ts";
import type { CallManager } from "../call/manager.ts";
import type { Config } from "../config.ts";
import type { RefusalSink } from "../log-limit.ts";
import { clip, type Logger } from "../log.ts";
import { maskNumber } from "../phone-numbers.ts";
import type { Readiness } from "../ops/readiness.ts";
import { analysisApi } from "../analysis/api.ts";
import type { AnalysisWorker } from "../analysis/worker.ts";
import { supervisionApi } from "../handoff/api.ts";
import type { HandoffService } from "../handoff/desk.ts";
import { recordsApi } from "../records/api.ts";
import { verifySignature } from "../signing/sautikit.ts";
import type { Records } from "../records/index.ts";
import { CALL_ID_MAX, isSafeCallId } from "../telephony/call-id.ts";
import { mintStreamToken } from "../telephony/stream-token.ts";
import { adminAuth } from "./admin-auth.ts";
import { noCounters, type HttpCounters } from "./counters.ts";
import { BodyError, callFields, parseBody, pick, type Fields } from "./webhook-body.ts";
import { EMPTY_RESPONSE, sayHangupXml, streamXml } from "./xml.ts";

/** An outbound call's answered webhook, as the relay placed it (src/outbound implements PlacedCalls). */
export interface PlacedCall {
  attemptId: string;
  /** The attempt's agent, its texts filled with the attempt's variables. */
  agent: Agent;
  /** Our number (the call's `from`) and the person called. */
  caller: string;
  callee: string;
  purpose: CallPurpose;
}

/** Calls the relay placed itself: the answered call's webhook carries the attempt's `clientRequestId`. */
export interface PlacedCalls {
  /** The attempt a clientRequestId names; "unknown" when it looks like one of ours but none can be found (the
   *  store is down, or the attempt is gone); undefined when it is not one of ours. Bounded in time. */
  find(clientRequestId: string, log: Logger): Promise<PlacedCall | "unknown" | undefined>;
  /** Whether this instance holds a place for it (it dialed it): then the call is admitted on that place. */
  holds(attemptId: string): boolean;
  /** The webhook answers it with <Stream>; called in the same event-loop turn as CallManager.prepare(). */
  bind(p: PlacedCall, callId: string, log: Logger): void;
  /** The webhook could not take it: the attempt ends as failed. */
  refused(p: PlacedCall, callId: string, reason: RefusalReason | "stopping", log: Logger): void;
}

/** What the outbound module adds to the app: the answered-call hooks and its routes (src/outbound/api.ts). */
export interface OutboundApp {
  placed: PlacedCalls;
  /** Mounted at "/": the admin API under /api (behind `guard`) and POST /sautikit/events (signed, not admin). */
  routes(guard: MiddlewareHandler<{ Variables: { admin: "token" | "loopback" } }>, refusals: RefusalSink): Hono<{ Variables: { admin: "token" | "loopback" } }>;
}

export interface AppDeps {
  config: Config;
  log: Logger;
  /** Call records: the records API, /healthz's records state. */
  records: Records;
  calls: CallManager;
  /** Whether a call id is this POST's to answer, MAX_CALLS, and the gate that closes at shutdown. */
  admission: CallAdmission;
  modelLabel: string;
  /** Webhook answers are counted here (metrics); none by default. */
  counters?: HttpCounters;
  /** Backs GET /readyz; without it the instance is always ready. */
  readiness?: Readiness;
  /** Where refusals an unauthenticated client can cause are logged (rate-limited: log-limit.ts). */
  refusals: RefusalSink;
  /** GET /metrics, when metrics are wired (it checks its own token). */
  metrics?: (req: Request) => Promise<Response>;
  /** The handoff desk: DELETE /api/calls/:id/supervision and POST /sautikit/events. */
  handoffs?: HandoffService;
  /** The analysis queue: POST /api/calls/:id/analyze. */
  analysis?: AnalysisWorker;
  /** Outbound calls and campaigns; without it, webhooks are all inbound calls. */
  outbound?: OutboundApp;
}

const XML = { "content-type": "application/xml; charset=utf-8" };

type Verified = { ok: true; fields: Fields } | { ok: false; res: Response };

/** Reads the raw body, checks the signature on exactly those bytes, then parses it. */
async function readVerified(req: Request, d: Pick<AppDeps, "config" | "refusals">): Promise<Verified> {
  const raw = new Uint8Array(await req.arrayBuffer());
  if (d.config.webhookSecret) {
    const v = verifySignature(req.headers.get("x-sautikit-signature"), raw, {
      secret: d.config.webhookSecret,
      windowS: d.config.signatureWindowS,
      allowBareHex: d.config.signatureBareHex,
    });
    if (!v.ok) {
      // How far off a stale timestamp was, and which way: a clock that is wrong or a replay.
      const skew = v.skewS === undefined ? {} : { skewS: Math.abs(v.skewS), timestamp: v.skewS > 0 ? "behind our clock" : "ahead of our clock", windowS: d.config.signatureWindowS };
      d.refusals.warn("webhook_signature", { path: clip(new URL(req.url).pathname), reason: v.reason, ...skew }, "webhook rejected: signature");
      return { ok: false, res: new Response(`unauthorized: ${v.reason}\n`, { status: 401 }) };
    }
  }
  try {
    return { ok: true, fields: parseBody(raw, req.headers.get("content-type")) };
  } catch (err) {
    const msg = err instanceof BodyError ? err.message : "unreadable body";
    d.refusals.warn("webhook_body", { reason: msg }, "webhook rejected: body");
    return { ok: false, res: new Response(`bad request: ${msg}\n`, { status: 400 }) };
  }
}

function streamUrl(c: Config, callId: string): string {
  const base = c.publicUrl.replace(/^http/, "ws");
  const token = mintStreamToken(c.streamTokenSecret, callId, c.streamTokenTtlS);
  return `${base}/stream?call=${encodeURIComponent(callId)}&token=${token}`;
}

export function createApp(d: AppDeps): Hono {
  const app = new Hono();
  const started = Date.now();
  const counters = d.counters ?? noCounters;
  /** Counts each answer of a webhook route by its pattern and status, including 4xx/5xx. */
  const counted =
    (route: string): MiddlewareHandler =>
    async (c, next) => {
      await next();
      counters.webhook(route, c.res.status);
    };

  /** The process is about to exit: the call is not started here, its claim is given back, and 503 tells the
   *  sender (or a balancer) to try elsewhere, where the same webhook is then a first POST again. */
  const stopping = async (callId: string, log: Logger): Promise<Response> => {
    const released = await d.admission.release(callId, log);
    log.warn(
      { answer: "unavailable", claimReleased: released },
      released ? "new call: this instance is stopping; answered 503 and released the call's claim" : "new call: this instance is stopping; answered 503",
    );
    return new Response("service unavailable: this instance is shutting down; try another\n", { status: 503, headers: { "retry-after": "1" } });
  };

  const voice = async (req: Request): Promise<Response> => {
    const v = await readVerified(req, d);
    if (!v.ok) return v.res;
    const f = callFields(v.fields);
    if (!f.callId) {
      const keys = Object.keys(v.fields);
      d.refusals.warn("webhook_no_call_id", { keyCount: keys.length, keys: keys.slice(0, 10).map((k) => clip(k, 32)) }, "voice webhook without a call id");
      return new Response("bad request: no sessionId/CallSid/call_id in body\n", { status: 400 });
    }
    // The id goes into the stream URL, the hang-up path and every log line: bounded, no characters to escape.
    if (!isSafeCallId(f.callId)) {
      d.refusals.warn(
        "webhook_call_id",
        { callIdLength: f.callId.length, callIdStart: f.callId.slice(0, 16).replace(/[^\w-]/g, "?") },
        "voice webhook rejected: malformed call id",
      );
      return new Response(`bad request: call id must be 1-${CALL_ID_MAX} characters of A-Z a-z 0-9 . _ : @ + = -\n`, { status: 400 });
    }
    const log = d.log.child({ callId: f.callId });
    const state = clip(f.state, 32);
    // A call the relay placed names its attempt (in the body, or as ?clientRequestId= on the URL): it runs the
    // attempt's agent with its variables, whatever number it is on.
    const requestId = f.clientRequestId ?? new URL(req.url).searchParams.get("clientRequestId") ?? undefined;
    const found = requestId !== undefined && d.outbound !== undefined ? await d.outbound.placed.find(requestId, log) : undefined;
    const placed = typeof found === "object" ? found : undefined;
    const now = Date.now();
    const routed = placed === undefined ? d.calls.router.route(f.callee ?? "") : undefined;
    const who = placed ?? (routed === undefined ? undefined : inboundParties(routed, f.caller ?? "", f.callee ?? "", now, d.config.callTimezone));
    const caller = who?.caller ?? f.caller ?? "";
    const callee = who?.callee ?? f.callee ?? "";
    // Decide by call id, never by callSessionState: the first POST can already say Completed.
    if (!(await d.admission.claim({ id: f.callId, agent: who?.agent.name ?? "", caller, callee, at: now, purpose: who?.purpose }, log))) {
      log.info({ state }, "voice webhook repeat: empty response");
      return new Response(EMPTY_RESPONSE, { headers: XML });
    }
    const refusedPlaced = (reason: RefusalReason | "stopping") => placed !== undefined && d.outbound?.placed.refused(placed, f.callId!, reason, log);
    if (d.admission.closed) {
      refusedPlaced("stopping");
      return stopping(f.callId, log);
    }
    const about = { state, caller: maskNumber(caller), callee: maskNumber(callee), direction: who?.purpose?.direction ?? "inbound" };
    if (found === "unknown") {
      log.error({ ...about, answer: "fallback" }, "outbound call answered, but its attempt cannot be found: answering with the fallback message and a hang-up");
      d.calls.refuse(f.callId, "", "no_agent", "outbound call whose attempt cannot be found");
      return new Response(sayHangupXml(d.config.fallbackMessage), { headers: XML });
    }
    const agent = who?.agent;
    if (agent === undefined || who === undefined) {
      log.warn({ ...about, answer: "fallback" }, "no agent answers this number: answering with the fallback message and a hang-up");
      d.calls.refuse(f.callId, "", "no_agent", "no agent answers this number");
      return new Response(sayHangupXml(d.config.fallbackMessage), { headers: XML });
    }
    // Admission control: past MAX_CALLS this instance takes no more work (no model session is opened). An
    // outbound call this instance placed was admitted when it was dialed: it holds its place.
    if (!(placed !== undefined && d.outbound!.placed.holds(placed.attemptId)) && !d.admission.admit()) {
      log.warn(
        { ...about, answer: "fallback", maxCalls: d.config.maxCalls, activeCalls: d.calls.activeCalls, pendingCalls: d.calls.pendingCalls },
        "at capacity: answering with the fallback message and a hang-up",
      );
      d.calls.refuse(f.callId, agent.name, "at_capacity", "at capacity (MAX_CALLS)");
      refusedPlaced("at_capacity");
      return new Response(sayHangupXml(d.config.fallbackMessage), { headers: XML });
    }
    // Same turn as prepare(): the place the dialing held becomes this call's.
    if (placed !== undefined) d.outbound!.placed.bind(placed, f.callId, log);
    // A forced stop does not wait out a slow pre-warm: the webhook is answered at once and the call goes elsewhere.
    const warm = await d.admission.whileOpen(d.calls.prepare(f.callId, who, log));
    if (warm === "closed" || d.admission.closed) {
      refusedPlaced("stopping");
      return stopping(f.callId, log);
    }
    // One line per new call, written once the answer is decided.
    if (warm === "failed") {
      log.error({ ...about, agent: agent.name, answer: "fallback" }, "new call: no model session; answered with the fallback message and a hang-up");
      d.calls.refuse(f.callId, agent.name, "no_model", "no model session at webhook time");
      refusedPlaced("no_model");
      return new Response(sayHangupXml(d.config.fallbackMessage), { headers: XML });
    }
    log.info({ ...about, agent: agent.name, answer: "stream", prewarm: warm }, "new call: answered with <Stream>");
    const c = d.config;
    const xml = streamXml({
      name: c.streamName,
      url: streamUrl(c, f.callId),
      callRate: c.callSampleRate,
      playbackRate: c.playbackRate,
      statusCallback: `${c.publicUrl}/stream-status`,
    });
    return new Response(xml, { headers: XML });
  };

  // Sautikit's bodies are a few hundred bytes. Anything past MAX_WEBHOOK_BYTES is refused before it is buffered
  // whole or parsed: by Content-Length when there is one, else by counting a chunked body as it streams in.
  const limit = bodyLimit({
    maxSize: d.config.maxWebhookBytes,
    onError: (c) => {
      d.refusals.warn(
        "webhook_too_large",
        { path: clip(c.req.path), contentLength: clip(c.req.header("content-length"), 20), maxBytes: d.config.maxWebhookBytes },
        "webhook rejected: body too large",
      );
      return c.text(`payload too large: at most ${d.config.maxWebhookBytes} bytes\n`, 413);
    },
  });

  app.post("/voice", counted("/voice"), limit, (c) => voice(c.req.raw));
  app.post("/", counted("/"), limit, (c) => voice(c.req.raw));

  app.post("/stream-status", counted("/stream-status"), limit, async (c) => {
    const v = await readVerified(c.req.raw, d);
    if (!v.ok) return v.res;
    const f = v.fields;
    d.log.info(
      {
        callId: clip(callFields(f).callId, CALL_ID_MAX),
        streamSid: clip(pick(f, ["streamSid"])),
        event: clip(pick(f, ["streamEvent", "streamStatus", "callSessionState"]), 32),
        name: clip(pick(f, ["name"])),
      },
      "stream status",
    );
    return c.body(null, 204);
  });

  app.get("/healthz", (c) =>
    c.json({
      status: "ok",
      model: d.modelLabel,
      activeCalls: d.calls.activeCalls,
      uptimeS: Math.round((Date.now() - started) / 1000),
      // The relay works without its database; this says whether records are being kept.
      records: { ready: d.records.store.isReady, queued: d.records.recorder.pending, dropped: d.records.recorder.dropped },
    }),
  );

  // Readiness: 503 naming the reasons (draining, modelFailing, ...) while new calls should go elsewhere.
  app.get("/readyz", (c) => {
    const reasons = d.readiness?.reasons() ?? [];
    c.header("cache-control", "no-store");
    if (reasons.length > 0) return c.json({ status: "not ready", reasons, activeCalls: d.calls.activeCalls }, 503);
    return c.json({ status: "ready", activeCalls: d.calls.activeCalls });
  });

  const metrics = d.metrics;
  if (metrics !== undefined) app.get("/metrics", (c) => metrics(c.req.raw));

  const admin = adminAuth(d.config.records.adminToken, d.log, d.refusals);
  app.route(
    "/api",
    recordsApi(d.records.store, admin, d.log, {
      recordings: d.records.recordings,
      live: (id) => d.calls.calls().some((c) => c.callId === id),
    }),
  );
  if (d.analysis !== undefined) app.route("/api", analysisApi(d.records.store, () => d.calls.router, d.analysis, admin, d.log));
  if (d.handoffs !== undefined) app.route("/api", supervisionApi(d.handoffs, admin));
  if (d.outbound !== undefined) {
    // Per-number events (call outcomes, and a person on the line's supervision) are small JSON bodies: the same
    // limit as the webhook.
    app.use("/sautikit/events", counted("/sautikit/events"), limit);
    app.route("/", d.outbound.routes(admin, d.refusals));
  }

  app.notFound((c) => c.text("not found\n", 404));
  app.onError((err, c) => {
    d.log.error({ err }, "http handler failed");
    return c.text("internal error\n", 500);
  });
  return app;
}
