// Sautikit's REST API for placing calls (docs/sautikit-stream.md#outbound-calls):
//   POST {SAUTIKIT_CALLS_PATH}  Idempotency-Key: <attempt id>
//     {"from","to":[…],"voice_callback_url","client_request_id"} → 201 {call_id?, session_id, status:"ringing", …}
//   GET /v1/calls/{id} → {"call": {id, session_id, status, answered_at, failure_code, …}}
// A request that got no clear answer (timeout, network, 5xx, 429) may have placed the call: it is sent again with
// the same Idempotency-Key, which Sautikit answers with the call it already placed instead of dialing again.
// Nothing here is on a call's path; every request is bounded (SAUTIKIT_REQUEST_TIMEOUT_MS).

export interface SautikitApiSettings {
  apiUrl: string;
  apiKey: string | undefined;
  callsPath: string;
  timeoutMs: number;
}

/** Why a request failed, as a bounded label (metrics: sauti_outbound_dial_errors_total{cause}). */
export type DialErrorCause =
  | "no_api_key"
  | "timeout"
  | "network"
  | "unauthorized"
  | "payment_required"
  | "rate_limited"
  | "rejected"
  | "server_error"
  | "bad_response";
export const DIAL_ERROR_CAUSES: readonly DialErrorCause[] = [
  "no_api_key",
  "timeout",
  "network",
  "unauthorized",
  "payment_required",
  "rate_limited",
  "rejected",
  "server_error",
  "bad_response",
];

export class SautikitError extends Error {
  constructor(
    readonly kind: DialErrorCause,
    message: string,
    /** The request may have reached Sautikit: worth sending again with the same Idempotency-Key. */
    readonly unclear: boolean,
    readonly status?: number,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

export interface OriginateRequest {
  from: string;
  to: string;
  voiceCallbackUrl: string;
  clientRequestId: string;
}

export interface Placed {
  /** Sautikit's id (`call_id`, or `session_id` when there is none). */
  callId: string;
  sessionId: string | null;
  status: string;
}

/** What GET /v1/calls/{id} says, the status as sent. */
export interface CallStatus {
  status: string | null;
  answeredAt: string | null;
  failureCode: string | null;
}

/** What the dialer needs from Sautikit (SautikitRest implements it). */
export interface SautikitCalls {
  originate(r: OriginateRequest, idempotencyKey: string): Promise<Placed>;
  status(id: string): Promise<CallStatus | "not_found">;
  hangup(id: string): Promise<boolean>;
}

const str = (v: unknown): string | null => (typeof v === "string" && v !== "" ? v : null);

function errorText(body: string): string {
  try {
    const j = JSON.parse(body) as { error?: { code?: unknown; message?: unknown }; code?: unknown; reason?: unknown; message?: unknown };
    const code = j.error?.code ?? j.code;
    const msg = j.error?.message ?? j.reason ?? j.message;
    return [code, msg].filter((x) => typeof x === "string").join(": ").slice(0, 200);
  } catch {
    return body.slice(0, 120);
  }
}

/** An HTTP answer that is not 2xx, as the error the dialer acts on. */
function httpError(res: Response, body: string): SautikitError {
  const s = res.status;
  const what = `Sautikit answered ${s}${body ? ` (${errorText(body)})` : ""}`;
  if (s === 401 || s === 403) return new SautikitError("unauthorized", what, false, s);
  if (s === 402) return new SautikitError("payment_required", what, false, s);
  if (s === 429) {
    const ra = Number(res.headers.get("retry-after"));
    return new SautikitError("rate_limited", what, true, s, Number.isFinite(ra) && ra > 0 ? ra * 1000 : undefined);
  }
  if (s >= 500) return new SautikitError("server_error", what, true, s);
  return new SautikitError("rejected", what, false, s);
}

export class SautikitRest implements SautikitCalls {
  constructor(private readonly o: SautikitApiSettings) {}

  private async request(method: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ res: Response; text: string }> {
    if (this.o.apiKey === undefined) throw new SautikitError("no_api_key", "SAUTIKIT_API_KEY is not set: the relay cannot place calls", false);
    let res: Response;
    try {
      res = await fetch(this.o.apiUrl + path, {
        method,
        headers: { authorization: `Bearer ${this.o.apiKey}`, accept: "application/json", ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
        body: body === undefined ? null : JSON.stringify(body),
        signal: AbortSignal.timeout(this.o.timeoutMs),
        redirect: "manual",
      });
    } catch (err) {
      const name = (err as { name?: string }).name;
      if (name === "TimeoutError" || name === "AbortError") throw new SautikitError("timeout", `no answer from Sautikit within ${this.o.timeoutMs} ms`, true);
      throw new SautikitError("network", `Sautikit unreachable: ${err instanceof Error ? err.message : String(err)}`.slice(0, 200), true);
    }
    let text: string;
    try {
      text = await res.text();
    } catch {
      throw new SautikitError("network", "Sautikit's answer was cut off", true, res.status);
    }
    return { res, text };
  }

  async originate(r: OriginateRequest, idempotencyKey: string): Promise<Placed> {
    const body = { from: r.from, to: [r.to], voice_callback_url: r.voiceCallbackUrl, client_request_id: r.clientRequestId };
    const { res, text } = await this.request("POST", this.o.callsPath, body, { "idempotency-key": idempotencyKey });
    if (res.status < 200 || res.status > 299) throw httpError(res, text);
    let j: Record<string, unknown>;
    try {
      j = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new SautikitError("bad_response", "Sautikit's answer to the originate request is not JSON", true, res.status);
    }
    // Some answers wrap the call ({"call": {...}}), as GET /v1/calls/{id} does.
    const c = (typeof j.call === "object" && j.call !== null ? j.call : j) as Record<string, unknown>;
    const callId = str(c.call_id) ?? str(c.id) ?? str(c.session_id);
    if (callId === null) throw new SautikitError("bad_response", "Sautikit's answer to the originate request names no call_id or session_id", true, res.status);
    return { callId, sessionId: str(c.session_id) ?? str(c.pbx_call_id), status: str(c.status) ?? "ringing" };
  }

  async status(id: string): Promise<CallStatus | "not_found"> {
    const { res, text } = await this.request("GET", `/v1/calls/${encodeURIComponent(id)}`, undefined);
    if (res.status === 404) return "not_found";
    if (res.status < 200 || res.status > 299) throw httpError(res, text);
    let j: Record<string, unknown>;
    try {
      j = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new SautikitError("bad_response", "Sautikit's call status is not JSON", true, res.status);
    }
    const c = (typeof j.call === "object" && j.call !== null ? j.call : j) as Record<string, unknown>;
    return { status: str(c.status), answeredAt: str(c.answered_at), failureCode: str(c.failure_code) ?? str(c.hangup_cause) };
  }

  async hangup(id: string): Promise<boolean> {
    try {
      const { res } = await this.request("POST", `/v1/calls/${encodeURIComponent(id)}/hangup`, {}, { "idempotency-key": `hangup-${id}` });
      return res.ok;
    } catch {
      return false;
    }
  }
}

/** Sautikit's documented call statuses (concepts/calls): anything else is kept as sent and not acted on. */
export const SAUTIKIT_STATUSES = ["ringing", "answered", "completed", "failed", "no_answer", "busy", "canceled"] as const;
export type SautikitStatus = (typeof SAUTIKIT_STATUSES)[number];

/** A status as one of the documented ones (case and `-`/space variants tolerated), else undefined. */
export function knownStatus(raw: string | null | undefined): SautikitStatus | undefined {
  if (raw === null || raw === undefined) return undefined;
  const s = raw.trim().toLowerCase().replace(/[\s-]+/g, "_");
  if (s === "cancelled") return "canceled";
  if (s === "noanswer") return "no_answer";
  return (SAUTIKIT_STATUSES as readonly string[]).includes(s) ? (s as SautikitStatus) : undefined;
}

/** The outcome a final status gives a call that never reached the webhook; undefined while not final. */
export function unansweredOutcome(s: SautikitStatus): { outcome: "no_answer" | "busy" | "failed"; detail: string } | undefined {
  switch (s) {
    case "no_answer":
      return { outcome: "no_answer", detail: "nobody answered (Sautikit: no_answer)" };
    case "busy":
      return { outcome: "busy", detail: "the line was busy (Sautikit: busy)" };
    case "failed":
      return { outcome: "failed", detail: "the call failed (Sautikit: failed)" };
    case "canceled":
      return { outcome: "failed", detail: "the call was cancelled before it was answered (Sautikit: canceled)" };
    case "completed":
      return { outcome: "failed", detail: "the call was answered and ended, but its voice webhook never reached the relay (Sautikit: completed)" };
    default:
      return undefined;
  }
}
