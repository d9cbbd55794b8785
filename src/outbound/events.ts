// POST /sautikit/events: Sautikit's per-number call events (the number's `events_url`;
// docs/sautikit-stream.md#call-events). A call that is never answered never reaches /voice, so these (and polling,
// dialer.ts) are how its no_answer, busy or failed is learned. Checked like the voice webhook (X-Sautikit-Signature
// over the raw body, SAUTIKIT_EVENTS_SECRET), delivered at least once and deduplicated on the event id. The
// envelope is documented ({kind, event_id, occurred_at, data:{call_id, status, …}}), but observed bodies vary, so
// the fields are read tolerantly; an event about a call that is not an attempt of ours is answered 200 and dropped.
// `call.supervision.*` events (a person on the line, src/handoff) arrive here too and are passed to the handoff desk.
import type { RefusalSink } from "../log-limit.ts";
import { clip, type Logger } from "../log.ts";
import { verifySignature } from "../signing/sautikit.ts";
import type { Dialer } from "./dialer.ts";
import { errText } from "./err.ts";
import type { OutboundStore } from "./store.ts";

export interface EventsDeps {
  store: OutboundStore;
  dialer: Pick<Dialer, "sautikitEvent">;
  /** Unset: events are not checked (as the voice webhook without SAUTIKIT_WEBHOOK_SECRET). */
  secret: string | undefined;
  windowS: number;
  allowBareHex: boolean;
  now: () => number;
  log: Logger;
  refusals: RefusalSink;
  /** A `call.supervision.*` event about these ids (the handoff desk then asks Sautikit at once). */
  supervision?: (ids: string[]) => void;
}

type Obj = Record<string, unknown>;

const text = (v: unknown): string | undefined => (typeof v === "string" && v.trim() !== "" ? v.trim() : typeof v === "number" ? String(v) : undefined);
const obj = (v: unknown): Obj | undefined => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Obj) : undefined);

/** A call's end said only by a hang-up cause (FreeSWITCH names, any case) → the status it means. */
function statusOfCause(cause: string | undefined): string | undefined {
  if (cause === undefined) return undefined;
  const c = cause.toLowerCase();
  if (/no_answer|no_user_response|noanswer|timeout/.test(c)) return "no_answer";
  if (/busy/.test(c)) return "busy";
  if (/reject|unallocated|invalid|failure|congestion|unavailable|error|denied/.test(c)) return "failed";
  return undefined;
}

export interface ParsedEvent {
  eventId: string | undefined;
  kind: string;
  /** Sautikit's call id and the PBX session id, as present. */
  ids: string[];
  status: string | null;
}

/** The fields an event body and its headers carry, wherever they are. */
export function parseEvent(body: Obj, headers: Headers): ParsedEvent {
  const data = obj(body.data) ?? obj(body.payload) ?? obj(body.call) ?? body;
  const eventId =
    text(body.event_id) ?? text(body.eventId) ?? text(body.id) ?? headers.get("x-sautikit-event-id") ?? headers.get("x-sautikit-idempotency-key") ?? undefined;
  const kind = text(body.kind) ?? text(body.event) ?? text(body.event_type) ?? text(body.type) ?? headers.get("x-sautikit-event") ?? "unknown";
  const ids = [data.call_id, data.pbx_call_id, data.session_id, data.sessionId, data.callId, data.id].map(text).filter((x): x is string => x !== undefined);
  let status = text(data.status) ?? text(data.callSessionState) ?? text(body.status) ?? null;
  const cause = text(data.hangup_cause) ?? text(data.failure_code);
  // A call that "completed" without ever being answered ended by its hang-up cause.
  if ((status === null || status.toLowerCase() === "completed") && data.answered_at == null) status = statusOfCause(cause) ?? status;
  if (status === null && kind === "call.failed") status = "failed";
  if (status === null && kind === "call.answered") status = "answered";
  return { eventId: eventId === undefined ? undefined : eventId.slice(0, 200), kind: kind.slice(0, 64), ids: [...new Set(ids)], status };
}

export async function handleEvent(req: Request, d: EventsDeps): Promise<Response> {
  const raw = new Uint8Array(await req.arrayBuffer());
  if (d.secret !== undefined) {
    const v = verifySignature(req.headers.get("x-sautikit-signature"), raw, { secret: d.secret, windowS: d.windowS, allowBareHex: d.allowBareHex });
    if (!v.ok) {
      d.refusals.warn("events_signature", { reason: v.reason }, "Sautikit event rejected: signature");
      return new Response(`unauthorized: ${v.reason}\n`, { status: 401 });
    }
  }
  let body: Obj | undefined;
  try {
    body = obj(JSON.parse(new TextDecoder().decode(raw)));
  } catch {
    body = undefined;
  }
  if (body === undefined) {
    d.refusals.warn("events_body", {}, "Sautikit event rejected: not a JSON object");
    return Response.json({ error: "expected a JSON object" }, { status: 400 });
  }
  const ev = parseEvent(body, req.headers);
  if (ev.eventId === undefined) return Response.json({ error: "no event_id (or X-Sautikit-Event-Id / X-Sautikit-Idempotency-Key)" }, { status: 400 });
  const log = d.log.child({ event: ev.eventId, kind: ev.kind });
  try {
    if (!(await d.store.firstEvent(ev.eventId, d.now()))) {
      log.debug("Sautikit event seen before: dropped");
      return Response.json({ status: "duplicate" });
    }
  } catch (err) {
    log.warn({ err: errText(err) }, "Sautikit event: the store cannot answer; asking for it again");
    return Response.json({ error: "store unavailable" }, { status: 503 });
  }
  if (ev.kind.startsWith("call.supervision")) {
    const data = obj(body.data) ?? body;
    const sid = text(data.supervision_id) ?? text(data.supervisionId);
    d.supervision?.(sid === undefined ? ev.ids : [...ev.ids, sid]);
    return Response.json({ status: "supervision" });
  }
  try {
    let result: Awaited<ReturnType<Dialer["sautikitEvent"]>> = "unknown";
    for (const id of ev.ids) {
      result = await d.dialer.sautikitEvent({ sautikitId: id, status: ev.status, kind: ev.kind }, log);
      if (result !== "unknown") break;
    }
    log.debug({ status: clip(ev.status, 40), result }, "Sautikit event");
    return Response.json({ status: result });
  } catch (err) {
    // Handled once means handled: a failure gives the event back, so its redelivery is handled.
    await d.store.forgetEvent(ev.eventId).catch(() => undefined);
    log.warn({ err: errText(err) }, "Sautikit event could not be handled; asking for it again");
    return Response.json({ error: "could not handle the event now" }, { status: 503 });
  }
}
