// Sautikit posts form-encoded or JSON bodies (encoding undocumented, docs/sautikit-stream.md#voice-webhook); field names vary
// between the docs and what live calls carry, so extraction is tolerant.

export class BodyError extends Error {}

export type Fields = Record<string, unknown>;

/** Parses a raw webhook body by Content-Type; JSON-looking bodies are parsed as JSON whatever the header says. */
export function parseBody(raw: Uint8Array, contentType: string | null): Fields {
  const text = new TextDecoder().decode(raw);
  const ct = (contentType ?? "").toLowerCase();
  const trimmed = text.trimStart();
  if (ct.includes("json") || trimmed.startsWith("{")) {
    if (trimmed === "") return {};
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new BodyError("body is not valid JSON");
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new BodyError("JSON body must be an object");
    return parsed as Fields;
  }
  const out: Fields = {};
  for (const [k, v] of new URLSearchParams(text)) out[k] = v;
  return out;
}

const NESTED = ["call", "data", "payload"] as const;

/** First non-empty string (or number) among `names`, looked up at top level, then in nested call/data/payload objects. */
export function pick(fields: Fields, names: readonly string[]): string | undefined {
  for (const scope of [fields, ...NESTED.map((n) => fields[n])]) {
    if (scope === null || typeof scope !== "object") continue;
    const obj = scope as Fields;
    for (const name of names) {
      const v = obj[name];
      if (typeof v === "string" && v.trim() !== "") return v.trim();
      if (typeof v === "number" && Number.isFinite(v)) return String(v);
    }
  }
  return undefined;
}

export interface CallFields {
  callId: string | undefined;
  caller: string | undefined;
  callee: string | undefined;
  state: string | undefined;
  /** Set on calls the relay placed: the `client_request_id` it gave Sautikit, echoed back
   *  (docs/sautikit-stream.md#outbound-calls). */
  clientRequestId: string | undefined;
}

export function callFields(fields: Fields): CallFields {
  return {
    callId: pick(fields, ["sessionId", "CallSid", "call_id", "callId"]),
    caller: pick(fields, ["callerNumber", "From", "from"]),
    callee: pick(fields, ["destinationNumber", "To", "to", "clientDialedNumber"]),
    state: pick(fields, ["callSessionState", "CallStatus", "status"]),
    clientRequestId: pick(fields, ["clientRequestId", "client_request_id"]),
  };
}
