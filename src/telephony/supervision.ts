// Sautikit's call supervision (docs/sautikit-stream.md#supervision): a person's phone is brought into a live call.
//   POST   /v1/calls/{id}/supervision  {mode, supervisor:{type:"phone", number}}  → the supervision
//   GET    /v1/calls/{id}/supervision                                              → {supervision: … | null}
//   DELETE /v1/calls/{id}/supervision                                              (idempotent)
// One supervisor per call: a second POST is 409 `calls.supervision_in_progress`. What supervision does to a call
// held by <Stream> is not documented: the handoff desk treats any failure as "no person on the line".

export interface SupervisionApi {
  apiUrl: string;
  apiKey: string;
}

export type SupervisionState = "connecting" | "ringing" | "connected" | "ended" | "failed";

/** The fields of Sautikit's CallSupervision the relay reads (wire names). */
export interface Supervision {
  supervision_id: string;
  call_id?: string;
  session_id?: string;
  state: SupervisionState;
  connected_at?: string;
  ended_at?: string;
}

export type ApiResult<T> = { ok: true; value: T } | { ok: false; status: number | undefined; code: string | undefined; error: string };

const STATES = new Set<string>(["connecting", "ringing", "connected", "ended", "failed"]);

function readSupervision(v: unknown): Supervision | undefined {
  const o = v as Partial<Supervision> | null;
  if (typeof o !== "object" || o === null || typeof o.supervision_id !== "string" || typeof o.state !== "string" || !STATES.has(o.state)) return undefined;
  return o as Supervision;
}

/** Sautikit's error envelope {"error":{"code","message"}}, or the bare {code, reason} some endpoints answer. */
function readError(body: unknown): { code: string | undefined; message: string | undefined } {
  const b = body as { error?: { code?: unknown; message?: unknown }; code?: unknown; reason?: unknown } | null;
  const e = b?.error ?? b;
  const code = typeof e?.code === "string" ? e.code : undefined;
  const m = (e as { message?: unknown; reason?: unknown } | undefined)?.message ?? (e as { reason?: unknown } | undefined)?.reason;
  return { code, message: typeof m === "string" ? m.slice(0, 200) : undefined };
}

async function request(api: SupervisionApi, method: string, callId: string, signal: AbortSignal, body?: unknown, idempotencyKey?: string): Promise<ApiResult<unknown>> {
  const headers: Record<string, string> = { authorization: `Bearer ${api.apiKey}`, accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (idempotencyKey !== undefined) headers["idempotency-key"] = idempotencyKey;
  let res: Response;
  let text: string;
  try {
    res = await fetch(`${api.apiUrl}/v1/calls/${encodeURIComponent(callId)}/supervision`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      redirect: "manual",
      signal,
    });
    text = await res.text();
  } catch (err) {
    const e = err as { name?: string; code?: string };
    return { ok: false, status: undefined, code: undefined, error: signal.aborted ? "no answer in time" : `unreachable (${e.code ?? e.name ?? "error"})` };
  }
  let json: unknown;
  try {
    json = text === "" ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (res.status < 200 || res.status > 299) {
    const e = readError(json);
    return { ok: false, status: res.status, code: e.code, error: `HTTP ${res.status}${e.code ? ` ${e.code}` : ""}${e.message ? `: ${e.message}` : ""}` };
  }
  return { ok: true, value: json };
}

/** Brings `number` into the call (mode barge: the person hears both sides and speaks to the caller). */
export async function startSupervision(api: SupervisionApi, callId: string, number: string, idempotencyKey: string, signal: AbortSignal): Promise<ApiResult<Supervision>> {
  const r = await request(api, "POST", callId, signal, { mode: "barge", supervisor: { type: "phone", number } }, idempotencyKey);
  if (!r.ok) return r;
  const s = readSupervision(r.value);
  return s === undefined ? { ok: false, status: 200, code: undefined, error: "the answer is not a supervision" } : { ok: true, value: s };
}

/** The call's supervision, or null when it has none. */
export async function getSupervision(api: SupervisionApi, callId: string, signal: AbortSignal): Promise<ApiResult<Supervision | null>> {
  const r = await request(api, "GET", callId, signal);
  if (!r.ok) return r;
  const v = (r.value as { supervision?: unknown } | undefined)?.supervision;
  if (v === null || v === undefined) return { ok: true, value: null };
  const s = readSupervision(v);
  return s === undefined ? { ok: false, status: 200, code: undefined, error: "the answer is not a supervision" } : { ok: true, value: s };
}

export async function stopSupervision(api: SupervisionApi, callId: string, signal: AbortSignal): Promise<ApiResult<undefined>> {
  const r = await request(api, "DELETE", callId, signal);
  return r.ok ? { ok: true, value: undefined } : r;
}
