// A local stand-in of Gemini's REST generateContent (docs/gemini-rest.md) that reads each request the way Google's
// API does and refuses what it would refuse:
//   - the path POST /v1beta/models/{model}:generateContent (404 NOT_FOUND otherwise);
//   - the key in x-goog-api-key (403 PERMISSION_DENIED without one, 400 INVALID_ARGUMENT "API key not valid" for a
//     wrong one); a `key` query parameter is recorded as a problem: the relay must never put the key in a URL;
//   - the body as strict proto3 JSON of google.ai.generativelanguage.v1beta.GenerateContentRequest, from Google's own
//     protos (wire-protos.ts): unknown fields, wrong types, unknown enum names, nulls are 400 INVALID_ARGUMENT;
//   - contents: at least one, each with role user or model and at least one part; responseSchema and
//     responseJsonSchema not both, either one only with responseMimeType application/json; responseJsonSchema using
//     only the keywords its proto comment lists.
// Then it answers what the test queued: JSON (as a candidate's text), any text (malformed JSON), a Google error
// (400, 429 with a RetryInfo delay, 500), a blocked prompt, or nothing at all until the client gives up.
import { GENERATE_CONTENT_REQUEST, WireChecker } from "./wire-protos.ts";

export type StandinAnswer =
  | { json: unknown; finishReason?: string }
  | { text: string; finishReason?: string }
  | { status: number; message?: string; retryDelay?: string }
  | { blocked: string }
  | { hang: true };

export interface Received {
  model: string;
  headers: Record<string, string>;
  query: string;
  body: Record<string, unknown> | undefined;
  /** Why Google would refuse it; empty when it would take it. */
  problems: string[];
  answered: StandinAnswer | "refused";
}

const JSON_SCHEMA_KEYWORDS = new Set([
  "$id", "$defs", "$ref", "$anchor", "type", "format", "title", "description", "enum", "items", "prefixItems",
  "minItems", "maxItems", "minimum", "maximum", "anyOf", "oneOf", "properties", "additionalProperties", "required",
  "propertyOrdering",
]);

const STATUS: Record<number, string> = { 400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE" };

function googleError(status: number, message: string, details: unknown[] = []): Response {
  return Response.json({ error: { code: status, message, status: STATUS[status] ?? "UNKNOWN", ...(details.length > 0 ? { details } : {}) } }, { status });
}

/** Keywords outside what responseJsonSchema supports, with their paths. */
function unsupportedKeywords(schema: unknown, path = "responseJsonSchema", out: string[] = []): string[] {
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) return out;
  for (const [k, v] of Object.entries(schema)) {
    if (!JSON_SCHEMA_KEYWORDS.has(k)) out.push(`${path}.${k}: not a keyword responseJsonSchema supports`);
    if (k === "properties" || k === "$defs") for (const [n, sub] of Object.entries(v as object)) unsupportedKeywords(sub, `${path}.${k}.${n}`, out);
    else if (k === "items" || k === "additionalProperties") unsupportedKeywords(v, `${path}.${k}`, out);
    else if ((k === "anyOf" || k === "oneOf" || k === "prefixItems") && Array.isArray(v)) v.forEach((sub, i) => unsupportedKeywords(sub, `${path}.${k}[${i}]`, out));
  }
  return out;
}

export class GenerateStandin {
  readonly received: Received[] = [];
  readonly answers: StandinAnswer[] = [];
  /** What is answered once `answers` is used up. */
  then: StandinAnswer;
  private readonly wire = new WireChecker(undefined, GENERATE_CONTENT_REQUEST);
  private server: ReturnType<typeof Bun.serve> | undefined;
  private readonly hanging = new Set<(a: StandinAnswer) => void>();
  /** Requests being answered now, and the most there ever were at once. */
  inFlight = 0;
  maxInFlight = 0;

  constructor(
    readonly apiKey = "test-key",
    then: StandinAnswer = { status: 500, message: "nothing queued" },
  ) {
    this.then = then;
  }

  /** Requests Google would have accepted. */
  get accepted(): Received[] {
    return this.received.filter((r) => r.problems.length === 0);
  }

  /** The base URL (GEMINI_API_URL), once started. */
  url = "";

  start(): string {
    this.server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (req) => this.handle(req) });
    this.url = `http://127.0.0.1:${this.server.port}`;
    return this.url;
  }

  /** Requests left hanging so far get `a` now. */
  release(a: StandinAnswer): number {
    const n = this.hanging.size;
    for (const f of [...this.hanging]) f(a);
    return n;
  }

  async stop(): Promise<void> {
    this.release({ status: 503, message: "stand-in stopped" });
    await this.server?.stop(true);
  }

  private async handle(req: Request): Promise<Response> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      return await this.read(req);
    } finally {
      this.inFlight--;
    }
  }

  private async read(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const m = /^\/v1beta\/models\/([^/:]+):generateContent$/.exec(url.pathname);
    if (req.method !== "POST" || m === null) return googleError(404, `Requested entity was not found: ${url.pathname}`);
    const model = decodeURIComponent(m[1]!);
    const text = await req.text();
    const problems: string[] = [];
    if (url.searchParams.has("key")) problems.push("the API key is in the URL (key=); it belongs in x-goog-api-key");
    const rec: Received = { model, headers: Object.fromEntries(req.headers), query: url.search, body: undefined, problems, answered: "refused" };
    this.received.push(rec);
    const key = req.headers.get("x-goog-api-key");
    if (key === null) return googleError(403, "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.");
    if (key !== this.apiKey) return googleError(400, "API key not valid. Please pass a valid API key.");
    if (!/^application\/json\b/i.test(req.headers.get("content-type") ?? "")) problems.push(`content-type ${req.headers.get("content-type")}: expected application/json`);
    problems.push(...this.wire.check(text));
    if (problems.length === 0) {
      const body = JSON.parse(text) as Record<string, unknown>;
      rec.body = body;
      problems.push(...this.rules(body, model));
    }
    if (problems.length > 0) return googleError(400, `Invalid JSON payload received. ${problems.join("; ")}`);
    const answer = this.answers.shift() ?? this.then;
    rec.answered = answer;
    return this.answer(answer, model);
  }

  /** What the protos do not say and the service enforces. */
  private rules(body: Record<string, unknown>, model: string): string[] {
    const p: string[] = [];
    if (body.model !== undefined && body.model !== `models/${model}`) p.push(`model ${String(body.model)} is not the path's models/${model}`);
    const contents = body.contents as Array<{ role?: string; parts?: Array<{ text?: string }> }> | undefined;
    if (!Array.isArray(contents) || contents.length === 0) p.push("contents is not specified");
    contents?.forEach((c, i) => {
      if (c.role !== "user" && c.role !== "model") p.push(`contents[${i}].role: Please use a valid role: user, model.`);
      if (!Array.isArray(c.parts) || c.parts.length === 0) p.push(`contents[${i}].parts: must not be empty`);
      c.parts?.forEach((part, j) => {
        if (typeof part.text !== "string" || part.text === "") p.push(`contents[${i}].parts[${j}]: no data (an empty text part)`);
      });
    });
    const sys = body.systemInstruction as { parts?: unknown[] } | undefined;
    if (sys !== undefined && (!Array.isArray(sys.parts) || sys.parts.length === 0)) p.push("systemInstruction.parts: must not be empty");
    const g = (body.generationConfig ?? {}) as Record<string, unknown>;
    const hasSchema = g.responseSchema !== undefined;
    const hasJson = g.responseJsonSchema !== undefined || g._responseJsonSchema !== undefined;
    if (hasSchema && hasJson) p.push("generationConfig: response_schema must be omitted when response_json_schema is set");
    if ((hasSchema || hasJson) && g.responseMimeType !== "application/json") p.push("generationConfig: a response schema needs responseMimeType application/json");
    if (g.responseJsonSchema !== undefined) p.push(...unsupportedKeywords(g.responseJsonSchema));
    return p;
  }

  private answer(a: StandinAnswer, model: string): Response | Promise<Response> {
    if ("hang" in a) {
      return new Promise((resolve) => {
        const f = (next: StandinAnswer): void => {
          this.hanging.delete(f);
          resolve(this.answer(next, model));
        };
        this.hanging.add(f);
      });
    }
    if ("status" in a) {
      const details = a.retryDelay === undefined ? [] : [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: a.retryDelay }];
      return googleError(a.status, a.message ?? STATUS[a.status] ?? "error", details);
    }
    if ("blocked" in a) return Response.json({ promptFeedback: { blockReason: a.blocked }, modelVersion: model });
    const text = "json" in a ? JSON.stringify(a.json) : a.text;
    return Response.json({
      candidates: [{ content: { role: "model", parts: [{ text }] }, finishReason: a.finishReason ?? "STOP", index: 0 }],
      usageMetadata: { promptTokenCount: 100, candidatesTokenCount: 20, totalTokenCount: 120 },
      modelVersion: model,
      responseId: crypto.randomUUID(),
    });
  }
}
