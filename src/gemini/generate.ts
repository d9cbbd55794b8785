// One generateContent request over Gemini's REST API (docs/gemini-rest.md): POST
// {base}/v1beta/models/{model}:generateContent with the key in the x-goog-api-key header (never in the URL), a
// GenerateContentRequest as proto3 JSON in the body. The answer is sorted into what the caller decides on: text,
// a prompt Google blocked, an HTTP error (with Google's suggested retry delay when it gives one), a timeout, a
// network error, or a 200 whose body is not a GenerateContentResponse.

/** google.ai.generativelanguage.v1beta.Content, in its JSON names. */
export interface Content {
  role?: "user" | "model";
  parts: Array<{ text: string }>;
}

/** The GenerationConfig fields the relay sets. */
export interface GenerationConfig {
  responseMimeType?: string;
  /** JSON Schema (google.protobuf.Value); exclusive with responseSchema. */
  responseJsonSchema?: Record<string, unknown>;
  /** Google's Schema message (the OpenAPI subset). */
  responseSchema?: Record<string, unknown>;
  temperature?: number;
}

/** GenerateContentRequest's body: `model` is in the URL path, not the body. */
export interface GenerateContentRequest {
  systemInstruction?: Content;
  contents: Content[];
  generationConfig?: GenerationConfig;
}

export type GenerateOutcome =
  | { kind: "text"; text: string; finishReason: string | undefined; modelVersion: string | undefined }
  | { kind: "blocked"; reason: string }
  | { kind: "http"; status: number; message: string; retryAfterMs: number | undefined }
  | { kind: "timeout" }
  | { kind: "network"; message: string }
  | { kind: "unreadable"; message: string };

export interface GenerateOptions {
  baseUrl: string;
  apiKey: string;
  model: string;
  request: GenerateContentRequest;
  /** Aborted by the caller's timeout (`timedOut` says so) or its shutdown. */
  signal: AbortSignal;
  timedOut: () => boolean;
}

/** The request's URL; the model id is a path segment ("models/x" and "x" name the same model). */
export function generateUrl(baseUrl: string, model: string): string {
  return `${baseUrl.replace(/\/+$/, "")}/v1beta/models/${encodeURIComponent(model.replace(/^models\//, ""))}:generateContent`;
}

/** Google's google.rpc.RetryInfo detail ("retryDelay": "31s" or "1.5s") or an HTTP Retry-After in seconds. */
function retryAfter(body: unknown, header: string | null): number | undefined {
  const details = (body as { error?: { details?: unknown } } | undefined)?.error?.details;
  if (Array.isArray(details)) {
    for (const d of details) {
      const delay = (d as { "@type"?: string; retryDelay?: unknown })?.retryDelay;
      const m = typeof delay === "string" ? /^(\d+(?:\.\d+)?)s$/.exec(delay) : null;
      if (m !== null) return Math.round(Number(m[1]) * 1000);
    }
  }
  if (header !== null && /^\d{1,6}$/.test(header.trim())) return Number(header.trim()) * 1000;
  return undefined;
}

interface ResponseBody {
  candidates?: Array<{ content?: { parts?: Array<{ text?: string; thought?: boolean }> }; finishReason?: string }>;
  promptFeedback?: { blockReason?: string };
  modelVersion?: string;
}

export async function generateContent(o: GenerateOptions): Promise<GenerateOutcome> {
  let res: Response;
  let text: string;
  try {
    res = await fetch(generateUrl(o.baseUrl, o.model), {
      method: "POST",
      headers: { "content-type": "application/json", "x-goog-api-key": o.apiKey },
      body: JSON.stringify(o.request),
      redirect: "manual",
      signal: o.signal,
    });
    text = await res.text();
  } catch (err) {
    if (o.timedOut()) return { kind: "timeout" };
    const e = err as { code?: string; name?: string; message?: string };
    return { kind: "network", message: e.code ?? e.name ?? String(err) };
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (res.status !== 200) {
    const message = (body as { error?: { message?: unknown; status?: unknown } } | undefined)?.error;
    const msg = typeof message?.message === "string" ? `${typeof message.status === "string" ? `${message.status}: ` : ""}${message.message}` : `HTTP ${res.status}`;
    return { kind: "http", status: res.status, message: msg.slice(0, 300), retryAfterMs: retryAfter(body, res.headers.get("retry-after")) };
  }
  if (typeof body !== "object" || body === null) return { kind: "unreadable", message: "the answer is not JSON" };
  const r = body as ResponseBody;
  const block = r.promptFeedback?.blockReason;
  const c = r.candidates?.[0];
  if (c === undefined) return block !== undefined ? { kind: "blocked", reason: block } : { kind: "unreadable", message: "the answer has no candidates" };
  // Thought summaries (thought: true) are not the answer.
  const out = (c.content?.parts ?? []).filter((p) => p.thought !== true && typeof p.text === "string").map((p) => p.text!).join("");
  return { kind: "text", text: out, finishReason: c.finishReason, modelVersion: r.modelVersion };
}
