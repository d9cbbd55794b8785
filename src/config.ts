// Every setting the relay reads, parsed and validated once at start.
// An invalid value is a ConfigError; main.ts turns it into exit code 2 with a message naming the variable.
import type { TurnTaking } from "./call/agent.ts";

import { resolve } from "node:path";

export class ConfigError extends Error {
  constructor(readonly variable: string, readonly expected: string, readonly got: string, message?: string) {
    super(message ?? `invalid ${variable}=${JSON.stringify(got)}: expected ${expected}`);
  }
}

export type RotationOrder = "overlap" | "close-first";

/** GEMINI_TOOL_SCHEMA: the FunctionDeclaration field a tool's parameters go in (docs/gemini-live.md#tool-schemas). */
export type ToolSchemaForm = "json" | "openapi";

/** Optional per-model knobs; gemini/setup.ts sends each only to the generation that accepts it. */
export interface ModelTuning {
  /** 3.8-extended-thinking (default LOW) and 3.1 (default MINIMAL); sent upper case, any case accepted here. */
  thinkingLevel?: string | undefined;
  /** 2.5 only. */
  thinkingBudget?: number | undefined;
  /** 2.5 only (inside generationConfig), on the v1alpha endpoint. */
  affectiveDialog?: boolean | undefined;
  /** 2.5 only (top-level `proactivity`), on the v1alpha endpoint. */
  proactiveAudio?: boolean | undefined;
}

/** Defaults for every agent that does not set its own (the agents file's `turnTaking`, `language`, `temperature`). */
export interface AgentTuning {
  turnTaking: TurnTaking;
  /** BCP-47 tags, canonical: the language the agent speaks, then others its callers mix in; [] = the model picks. */
  languages: string[];
  temperature: number | undefined;
}

/** Everything the Gemini leg needs that is not per agent. */
export interface GeminiSettings {
  apiKey: string | undefined;
  liveUrl: string;
  /** The v1alpha form of liveUrl, for 2.5 sessions with affective dialog or proactive audio; undefined when neither is set. */
  alphaUrl: string | undefined;
  toolSchema: ToolSchemaForm;
  /** Default model and voice for agents that do not name one. */
  model: string;
  voice: string;
  setupTimeoutMs: number;
  rotation: RotationOrder;
  maxReconnects: number;
  /** Per-model knobs; each reaches only the model generation that accepts it (gemini/setup.ts). */
  tuning: ModelTuning;
}

export interface Config {
  port: number;
  host: string;
  /** Share PORT with other processes on purpose (SO_REUSEPORT); otherwise a port in use is an error at start. */
  reusePort: boolean;
  /** Public base URL Sautikit reaches us at (http/https); the stream URL uses ws/wss. */
  publicUrl: string;
  logLevel: string;

  webhookSecret: string | undefined;
  /** Without a webhook secret, a real GEMINI_API_KEY is refused at start unless this says so on purpose. */
  allowUnsignedWebhooks: boolean;
  /** Accept a bare-hex HMAC(body) signature too (Sautikit's per-event pages show that form). */
  signatureBareHex: boolean;
  signatureWindowS: number;

  streamTokenSecret: string;
  streamTokenSecretGenerated: boolean;
  streamTokenTtlS: number;
  streamName: string;

  /** Rate Sautikit delivers caller audio at (`outputSamplingRate`). */
  callSampleRate: 8000 | 16000;
  /** Rate of the PCM we send back (`bidirectionalSamplingRate`). */
  playbackRate: 8000 | 16000 | 24000;
  playoutLeadMs: number;
  /** Duration of each frame sent to the caller: 20, 40 or 60 ms. */
  playoutFrameMs: 20 | 40 | 60;
  /** Caller audio gathered per model message; 0 = every frame at once. */
  uplinkBatchMs: number;
  /** Pacer sub-ticks per 20 ms period: the calls' sends are spread over them. */
  pacerPhases: number;
  turnTailMs: number;
  /** Send {"type":"killAudio"} on barge-in (honoured only by the jambonz build of mod_audio_fork). */
  sendKillAudio: boolean;

  gemini: GeminiSettings;
  agentTuning: AgentTuning;
  agentPrompt: string;
  agentGreeting: string;
  /** Agents file (YAML or JSON); unset = one default agent from the settings above. */
  agentsFile: string | undefined;
  /** Default cap on a call's length, seconds (0 = none); an agent's `maxCallSeconds` overrides it. */
  maxCallSeconds: number;
  /** Signs HTTP tool requests (`X-Sauti-Signature`) when set. */
  toolSigningSecret: string | undefined;

  prewarm: boolean;
  prewarmWaitMs: number;
  prewarmIdleMs: number;
  fallbackMessage: string;

  sautikitApiKey: string | undefined;
  sautikitApiUrl: string;

  seenCallsMax: number;
  seenCallsTtlS: number;

  /** After SIGTERM: how long calls in progress may continue before they are asked to end (ops/drain.ts). */
  drainTimeoutS: number;
  /** Bearer token for GET /metrics; unset = open (bind HOST or firewall the port accordingly). */
  metricsToken: string | undefined;
  /** Model audio one call may hold queued for playout, seconds; past it the rest of the turn is dropped. */
  maxQueuedAudioS: number;
  /** Largest webhook body read; bigger ones get 413 unread. */
  maxWebhookBytes: number;
  /** No frame of any kind from the caller's socket for this long ends the call (media_lost); 0 = off. */
  callerSilenceTimeoutS: number;
  /** Caller finished, model silent this long: resume once, then end the call (model_failed); 0 = off. */
  modelStallS: number;
  /** Calls (active + answered and waiting for their socket) this instance takes; past it the webhook refuses. */
  maxCalls: number;
  /** One full garbage collection when the relay falls idle after taking a lot of memory (src/memory/idle-collect.ts). */
  idleGc: boolean;
  records: RecordsSettings;
  recordings: RecordingsSettings;
  /** Post-call analysis (src/analysis). */
  analysis: AnalysisSettings;
  /** The handoff tool's events and the live handover (src/handoff). */
  handoff: HandoffSettings;
  /** IANA time zone of the `date` and `time` call variables, and the default of a campaign's calling window. */
  callTimezone: string;
  outbound: OutboundConfig;
}

/** Outbound calls and campaigns (src/outbound). */
export interface OutboundConfig {
  /** Path of Sautikit's originate endpoint: the SDK's /v1/calls, or the docs' /v1/calls/originate. */
  callsPath: string;
  /** Calls of MAX_CALLS this instance keeps free for inbound calls: outbound ones are refused past MAX_CALLS minus this. */
  reserveCalls: number;
  /** An attempt with no webhook and no event this long after it was placed is asked about (GET /v1/calls/{id}). */
  ringTimeoutS: number;
  /** How long an instance's claim on an attempt lasts without renewal; past it another instance takes it over. */
  leaseS: number;
  /** Secret of the per-number events posted to /sautikit/events (unset: SAUTIKIT_WEBHOOK_SECRET). */
  eventsSecret: string | undefined;
  /** A call to Sautikit's REST API that has not answered in this long is given up (and retried). */
  requestTimeoutMs: number;
}

/** One generateContent request per ended call of an agent with `analysis` (docs/gemini-rest.md). The key is
 *  gemini.apiKey; without one (offline mode) nothing is sent and the record says the analysis was skipped. */
export interface AnalysisSettings {
  /** Text model for agents whose `analysis` names none. */
  model: string;
  /** Gemini REST base URL: requests go to {apiUrl}/v1beta/models/{model}:generateContent. */
  apiUrl: string;
  /** Analyses one instance runs at once. */
  concurrency: number;
  /** Time allowed per request. */
  timeoutMs: number;
  /** Retries after 429, 5xx, a timeout or a network error. */
  retries: number;
  /** First retry delay; each later one is 3× the previous (at most 15 min), or longer when Google says so. */
  backoffMs: number;
  /** How the answer's schema is sent: `responseJsonSchema` (JSON Schema) or `responseSchema` (Google's OpenAPI subset). */
  schemaForm: "json" | "openapi";
}

export interface HandoffSettings {
  /** Signs call.handoff events (Standard Webhooks): HANDOFF_WEBHOOK_SECRET, else CALL_WEBHOOK_SECRET. Undefined:
   *  an agents file with a `handoff` block is refused. */
  secret: string | undefined;
  /** The outbox's schedule for them: the call webhook's (CALL_WEBHOOK_RETRIES, _BACKOFF_MS, _TIMEOUT_MS). */
  retries: number;
  backoffMs: number;
  timeoutMs: number;
  /** While a person is on a call (handoff.live), how often the supervision's state is asked for. */
  supervisionPollMs: number;
}

/** Call recordings (src/recordings): a stereo WAV per recorded call, on local disk or in S3-compatible storage. */
export interface RecordingsSettings {
  /** RECORD_CALLS: whether an agent that does not say `record` records its calls. */
  recordByDefault: boolean;
  /** RECORDING_NOTICE: what an agent that does not say `recordingNotice` tells callers first on a recorded call
   *  ("" = nothing). */
  notice: string;
  /** RECORDINGS_DIR: where files are written (and, with S3, kept until they are uploaded). Absolute. */
  dir: string;
  /** RECORDINGS_URL=s3://bucket/prefix; undefined keeps recordings in `dir`. */
  s3: S3Settings | undefined;
}

/** Object storage for recordings. Credentials and endpoint from S3_* (first) or AWS_* variables, as Bun reads them. */
export interface S3Settings {
  bucket: string;
  /** Key prefix, "" or ending in "/". */
  prefix: string;
  accessKeyId: string | undefined;
  secretAccessKey: string | undefined;
  sessionToken: string | undefined;
  region: string | undefined;
  endpoint: string | undefined;
}

/** Call records, their API and the end-of-call webhook (src/records). */
export interface RecordsSettings {
  /** `sqlite://…`/`file:…` (one host) or `postgres://…` (several instances). May carry a password: never log it. */
  databaseUrl: string;
  engine: "sqlite" | "postgres";
  /** 0 keeps records forever. */
  retentionDays: number;
  /** Writes waiting for the database beyond this many are dropped (counted and logged). */
  queueMax: number;
  /** Bearer token for /api; unset → loopback peers without forwarding headers only. */
  adminToken: string | undefined;
  webhook: CallWebhookSettings | undefined;
}

export interface CallWebhookSettings {
  url: string;
  /** Standard Webhooks secret, `whsec_` + base64. */
  secret: string;
  retries: number;
  /** First retry delay; each later one is 3× the previous, capped at 15 min (8 retries from 5 s: 55 min in all). */
  backoffMs: number;
  timeoutMs: number;
}

export const DEFAULT_GEMINI_LIVE_URL =
  "wss://generativelanguage.googleapis.com/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent";
/** The same method on the v1alpha API, where Google's guide puts 2.5's affective dialog and proactive audio. */
export const ALPHA_GEMINI_LIVE_URL = DEFAULT_GEMINI_LIVE_URL.replace(".v1beta.", ".v1alpha.");
/** Google's REST base for generateContent (docs/gemini-rest.md). */
export const DEFAULT_GEMINI_API_URL = "https://generativelanguage.googleapis.com";
export const DEFAULT_ANALYSIS_MODEL = "gemini-flash-latest";
export const DEFAULT_PROMPT =
  "You are a friendly, concise phone assistant. Speak naturally, keep answers short, and ask one question at a time.";
export const DEFAULT_GREETING = "Greet the caller briefly and ask how you can help.";
export const DEFAULT_DATABASE_URL = "sqlite://./data/sauti-relay.db";
export const DEFAULT_RECORDING_NOTICE = "This call may be recorded.";
export const DEFAULT_RECORDINGS_DIR = "./data/recordings";
export const DEFAULT_FALLBACK =
  "Sorry, our assistant is not available right now. Please try again later. Goodbye.";

/** Three quarters of the 400 calls the last full bench held on a 2-core VM with no underruns (README, Benchmark). */
export const DEFAULT_MAX_CALLS = 300;

type Env = Record<string, string | undefined>;

function str(env: Env, name: string, def: string): string {
  const v = env[name];
  return v === undefined || v === "" ? def : v;
}

function opt(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === "" ? undefined : v;
}

function int(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return def;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(name, `an integer from ${min} to ${max}`, raw);
  const n = Number(raw.trim());
  if (n < min || n > max) throw new ConfigError(name, `an integer from ${min} to ${max}`, raw);
  return n;
}

function bool(env: Env, name: string, def: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === "") return def;
  const v = raw.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(v)) return true;
  if (["0", "false", "no", "off"].includes(v)) return false;
  throw new ConfigError(name, "true or false", raw);
}

function oneOf<T extends string | number>(env: Env, name: string, def: T, allowed: readonly T[]): T {
  const raw = env[name];
  if (raw === undefined || raw === "") return def;
  const hit = allowed.find((a) => String(a) === raw.trim());
  if (hit === undefined) throw new ConfigError(name, `one of ${allowed.join(", ")}`, raw);
  return hit;
}

/** A decimal number from `min` to `max`; undefined when unset. */
function decimal(env: Env, name: string, min: number, max: number): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === "") return undefined;
  const n = /^\s*\d+(\.\d+)?\s*$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= min && n <= max)) throw new ConfigError(name, `a number from ${min} to ${max}`, raw);
  return n;
}

/** A comma-separated list of BCP-47 language tags, canonicalised ("sw-ke" → "sw-KE"); [] when unset. */
function languages(env: Env, name: string): string[] {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return [];
  const tags = raw.split(",").map((t) => t.trim());
  try {
    if (tags.some((t) => t === "")) throw new RangeError("empty tag");
    return [...new Set(Intl.getCanonicalLocales(tags))];
  } catch {
    throw new ConfigError(name, 'BCP-47 language tags separated by commas, like "sw" or "sw-KE,en-KE"', raw);
  }
}

function url(env: Env, name: string, def: string, schemes: readonly string[]): string {
  const raw = str(env, name, def);
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ConfigError(name, `an absolute ${schemes.join("/")} URL`, raw);
  }
  if (!schemes.includes(u.protocol.replace(":", ""))) {
    throw new ConfigError(name, `an absolute ${schemes.join("/")} URL`, raw);
  }
  return raw.replace(/\/+$/, "");
}

/** The engine a DATABASE_URL names; Bun's SQL reads the same schemes (docs/bun.md#sql). */
function database(env: Env): { databaseUrl: string; engine: "sqlite" | "postgres" } {
  const raw = str(env, "DATABASE_URL", DEFAULT_DATABASE_URL).trim();
  if (/^(sqlite|file):/i.test(raw) && raw.replace(/^(sqlite|file):(\/\/)?/i, "").replace(/\?.*$/, "") !== "") {
    return { databaseUrl: raw, engine: "sqlite" };
  }
  // An empty host is allowed: `postgres:///db?host=/run/postgresql` reaches a local unix socket.
  if (/^postgres(ql)?:\/\//i.test(raw)) {
    try {
      new URL(raw);
      return { databaseUrl: raw, engine: "postgres" };
    } catch {
      // falls through to the error below
    }
  }
  // Not echoed: a database URL may carry a password.
  throw new ConfigError("DATABASE_URL", "sqlite://path/to/file.db or postgres://user:pass@host:port/db", raw.replace(/\/\/[^@/]*@/, "//…@"));
}

/** A Standard Webhooks secret: whsec_ + base64 of 24 to 64 random bytes (docs/standard-webhooks.md#secret). */
function whsecSecret(env: Env, name: string): string | undefined {
  const secret = opt(env, name);
  if (secret === undefined) return undefined;
  const key = secret.startsWith("whsec_") ? secret.slice(6) : "";
  const bytes = /^[A-Za-z0-9+/]+={0,2}$/.test(key) ? Buffer.from(key, "base64").length : 0;
  if (bytes < 24 || bytes > 64) throw new ConfigError(name, "whsec_ followed by 24 to 64 random bytes in base64", "[redacted]");
  return secret;
}

/** The outbox's retry schedule (every event it sends: call.ended, call.analyzed, call.handoff). */
function outboxSchedule(env: Env): { retries: number; backoffMs: number; timeoutMs: number } {
  return {
    retries: int(env, "CALL_WEBHOOK_RETRIES", 6, 0, 8),
    backoffMs: int(env, "CALL_WEBHOOK_BACKOFF_MS", 5000, 10, 5000),
    timeoutMs: int(env, "CALL_WEBHOOK_TIMEOUT_MS", 15000, 100, 60000),
  };
}

function callWebhook(env: Env): CallWebhookSettings | undefined {
  const target = opt(env, "CALL_WEBHOOK_URL");
  if (target === undefined) return undefined;
  const u = url(env, "CALL_WEBHOOK_URL", "", ["http", "https"]);
  const secret = whsecSecret(env, "CALL_WEBHOOK_SECRET");
  if (secret === undefined) throw new ConfigError("CALL_WEBHOOK_SECRET", "a whsec_… secret (required when CALL_WEBHOOK_URL is set)", "");
  return { url: u, secret, ...outboxSchedule(env) };
}

function analysis(env: Env): AnalysisSettings {
  const model = str(env, "ANALYSIS_MODEL", DEFAULT_ANALYSIS_MODEL).replace(/^models\//, "");
  if (!/^[\w.\-]+$/.test(model)) throw new ConfigError("ANALYSIS_MODEL", "a model id like gemini-flash-latest", model);
  return {
    model,
    apiUrl: url(env, "GEMINI_API_URL", DEFAULT_GEMINI_API_URL, ["http", "https"]),
    concurrency: int(env, "ANALYSIS_CONCURRENCY", 4, 1, 64),
    timeoutMs: int(env, "ANALYSIS_TIMEOUT_MS", 60000, 1000, 600000),
    retries: int(env, "ANALYSIS_RETRIES", 4, 0, 10),
    backoffMs: int(env, "ANALYSIS_BACKOFF_MS", 2000, 10, 60000),
    schemaForm: oneOf(env, "ANALYSIS_SCHEMA", "json", ["json", "openapi"] as const),
  };
}

function handoff(env: Env): HandoffSettings {
  return {
    secret: whsecSecret(env, "HANDOFF_WEBHOOK_SECRET") ?? whsecSecret(env, "CALL_WEBHOOK_SECRET"),
    ...outboxSchedule(env),
    supervisionPollMs: int(env, "SUPERVISION_POLL_S", 5, 1, 60) * 1000,
  };
}

function timeZone(env: Env, name: string, def: string): string {
  const tz = str(env, name, def).trim();
  try {
    new Intl.DateTimeFormat("en-GB", { timeZone: tz });
  } catch {
    throw new ConfigError(name, 'an IANA time zone like "Africa/Nairobi"', tz);
  }
  return tz;
}

function outbound(env: Env, maxCalls: number, webhookSecret: string | undefined): OutboundConfig {
  const callsPath = str(env, "SAUTIKIT_CALLS_PATH", "/v1/calls").trim();
  if (!/^\/[A-Za-z0-9._~\/-]*$/.test(callsPath)) throw new ConfigError("SAUTIKIT_CALLS_PATH", "a path like /v1/calls", callsPath);
  return {
    callsPath: callsPath.replace(/\/+$/, ""),
    // 10 % of MAX_CALLS by default, so a campaign never makes the business's own line busy.
    reserveCalls: int(env, "OUTBOUND_RESERVE_CALLS", Math.floor(maxCalls / 10), 0, maxCalls - 1),
    ringTimeoutS: int(env, "OUTBOUND_RING_TIMEOUT_S", 45, 1, 3600),
    leaseS: int(env, "OUTBOUND_LEASE_S", 30, 1, 3600),
    eventsSecret: opt(env, "SAUTIKIT_EVENTS_SECRET") ?? webhookSecret,
    requestTimeoutMs: int(env, "SAUTIKIT_REQUEST_TIMEOUT_MS", 10000, 100, 60000),
  };
}

function adminToken(env: Env): string | undefined {
  const t = opt(env, "ADMIN_TOKEN");
  if (t !== undefined && t.length < 16) throw new ConfigError("ADMIN_TOKEN", "at least 16 characters", "[redacted]");
  return t;
}

/** RECORDINGS_URL (s3://bucket/prefix) and the S3_… or AWS_… variables, read only when it is set. */
function s3Settings(env: Env): S3Settings | undefined {
  const raw = opt(env, "RECORDINGS_URL");
  if (raw === undefined) return undefined;
  const expected = "s3://bucket or s3://bucket/prefix (a bucket name of 3 to 63 lower-case letters, digits, dots and dashes)";
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(\/.*)?$/.exec(raw.trim());
  if (m === null) throw new ConfigError("RECORDINGS_URL", expected, raw);
  const path = (m[2] ?? "").replace(/^\/+/, "").replace(/\/+$/, "");
  if (/[\\\x00-\x1f]|(^|\/)\.\.?(\/|$)|\/\//.test(path)) throw new ConfigError("RECORDINGS_URL", `${expected}; the prefix without empty, . or .. parts`, raw);
  // S3_* first, as Bun's own client reads them.
  const either = (name: string): string | undefined => opt(env, `S3_${name}`) ?? opt(env, `AWS_${name}`);
  const endpointName = opt(env, "S3_ENDPOINT") !== undefined ? "S3_ENDPOINT" : "AWS_ENDPOINT";
  const endpoint = either("ENDPOINT");
  if (endpoint !== undefined) url(env, endpointName, "", ["http", "https"]);
  return {
    bucket: m[1]!,
    prefix: path === "" ? "" : `${path}/`,
    accessKeyId: either("ACCESS_KEY_ID"),
    secretAccessKey: either("SECRET_ACCESS_KEY"),
    sessionToken: either("SESSION_TOKEN"),
    region: either("REGION"),
    endpoint: endpoint?.replace(/\/+$/, ""),
  };
}

function recordings(env: Env): RecordingsSettings {
  const dir = str(env, "RECORDINGS_DIR", DEFAULT_RECORDINGS_DIR);
  if (/\x00/.test(dir)) throw new ConfigError("RECORDINGS_DIR", "a directory path", dir);
  return {
    recordByDefault: bool(env, "RECORD_CALLS", false),
    // An explicitly empty RECORDING_NOTICE says nothing, so read it raw.
    notice: (env.RECORDING_NOTICE ?? DEFAULT_RECORDING_NOTICE).trim(),
    dir: resolve(dir),
    s3: s3Settings(env),
  };
}

/**
 * Google's guide puts enableAffectiveDialog and proactivity on the v1alpha API. With either set, 2.5 sessions dial
 * the v1alpha form of GEMINI_LIVE_URL: derived from the default endpoint, or GEMINI_LIVE_URL itself when it already
 * names v1alpha. Any other URL is refused, since which path serves v1alpha there cannot be guessed.
 */
function alphaUrl(env: Env, liveUrl: string): string | undefined {
  const which = ["GEMINI_AFFECTIVE_DIALOG", "GEMINI_PROACTIVE_AUDIO"].find((n) => opt(env, n) !== undefined);
  if (which === undefined) return undefined;
  if (liveUrl === DEFAULT_GEMINI_LIVE_URL) return ALPHA_GEMINI_LIVE_URL;
  if (liveUrl.includes(".v1alpha.")) return liveUrl;
  throw new ConfigError(
    which,
    `GEMINI_LIVE_URL left at Google's default (or set to a v1alpha endpoint): ${which} needs the v1alpha API, and the v1alpha form of a custom GEMINI_LIVE_URL cannot be guessed. Unset ${which}, or set GEMINI_LIVE_URL to the v1alpha endpoint`,
    opt(env, which)!,
  );
}

const SENSITIVITIES = ["low", "high"] as const;

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** Reads the settings from `env` (process.env by default). Throws ConfigError on the first bad value. */
export function loadConfig(env: Env = process.env): Config {
  const port = int(env, "PORT", 8080, 0, 65535);
  const host = str(env, "HOST", "0.0.0.0");
  const publicUrl = url(env, "PUBLIC_URL", `http://127.0.0.1:${port}`, ["http", "https"]);
  const logLevel = oneOf(env, "LOG_LEVEL", "info", LOG_LEVELS);

  const tokenSecret = opt(env, "STREAM_TOKEN_SECRET");
  const callSampleRate = oneOf(env, "CALL_SAMPLE_RATE", 16000, [8000, 16000] as const);
  const playbackRate = oneOf(env, "PLAYBACK_RATE", callSampleRate, [8000, 16000, 24000] as const);

  let agentPrompt = str(env, "AGENT_PROMPT", DEFAULT_PROMPT);
  const promptFile = opt(env, "AGENT_PROMPT_FILE");
  if (promptFile !== undefined) {
    try {
      agentPrompt = require("node:fs").readFileSync(promptFile, "utf8").trim();
    } catch {
      throw new ConfigError("AGENT_PROMPT_FILE", "a readable text file", promptFile);
    }
  }

  const model = str(env, "GEMINI_MODEL", "gemini-3.8-live").replace(/^models\//, "");
  if (!/^[\w.\-]+$/.test(model)) throw new ConfigError("GEMINI_MODEL", "a model id like gemini-3.8-live", model);
  const liveUrl = url(env, "GEMINI_LIVE_URL", DEFAULT_GEMINI_LIVE_URL, ["ws", "wss"]);
  const tuning: ModelTuning = {
    thinkingLevel: opt(env, "GEMINI_THINKING_LEVEL"),
    thinkingBudget: opt(env, "GEMINI_THINKING_BUDGET") === undefined ? undefined : int(env, "GEMINI_THINKING_BUDGET", 0, 0, 32768),
    affectiveDialog: opt(env, "GEMINI_AFFECTIVE_DIALOG") === undefined ? undefined : bool(env, "GEMINI_AFFECTIVE_DIALOG", false),
    proactiveAudio: opt(env, "GEMINI_PROACTIVE_AUDIO") === undefined ? undefined : bool(env, "GEMINI_PROACTIVE_AUDIO", false),
  };
  const turnTaking: TurnTaking = {};
  const start = opt(env, "GEMINI_START_SENSITIVITY") === undefined ? undefined : oneOf(env, "GEMINI_START_SENSITIVITY", "high", SENSITIVITIES);
  const end = opt(env, "GEMINI_END_SENSITIVITY") === undefined ? undefined : oneOf(env, "GEMINI_END_SENSITIVITY", "high", SENSITIVITIES);
  if (start !== undefined) turnTaking.startSensitivity = start;
  if (end !== undefined) turnTaking.endSensitivity = end;
  if (opt(env, "GEMINI_PREFIX_PADDING_MS") !== undefined) turnTaking.prefixPaddingMs = int(env, "GEMINI_PREFIX_PADDING_MS", 0, 0, 2000);
  if (opt(env, "GEMINI_SILENCE_DURATION_MS") !== undefined) turnTaking.silenceDurationMs = int(env, "GEMINI_SILENCE_DURATION_MS", 0, 0, 10000);

  // Unsigned webhooks with a real key: anyone who can reach the webhook opens billed Gemini sessions. Offline
  // mode (no key) costs nothing and is for trying the relay out, so it needs no secret.
  const webhookSecret = opt(env, "SAUTIKIT_WEBHOOK_SECRET");
  const allowUnsignedWebhooks = bool(env, "ALLOW_UNSIGNED_WEBHOOKS", false);
  if (webhookSecret === undefined && opt(env, "GEMINI_API_KEY") !== undefined && !allowUnsignedWebhooks) {
    throw new ConfigError(
      "SAUTIKIT_WEBHOOK_SECRET",
      "a secret",
      "",
      "SAUTIKIT_WEBHOOK_SECRET is not set but GEMINI_API_KEY is: every unsigned POST to the voice webhook would open a billed Gemini session, whoever sent it. Set SAUTIKIT_WEBHOOK_SECRET to the number's voice signing secret, or set ALLOW_UNSIGNED_WEBHOOKS=true to accept unsigned webhooks on purpose",
    );
  }

  const maxCalls = int(env, "MAX_CALLS", DEFAULT_MAX_CALLS, 1, 1000000);

  return {
    port,
    host,
    reusePort: bool(env, "REUSE_PORT", false),
    publicUrl,
    logLevel,
    webhookSecret,
    allowUnsignedWebhooks,
    signatureBareHex: bool(env, "SAUTIKIT_SIGNATURE_BARE_HEX", false),
    signatureWindowS: int(env, "SAUTIKIT_SIGNATURE_WINDOW_S", 300, 1, 86400),
    streamTokenSecret: tokenSecret ?? Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex"),
    streamTokenSecretGenerated: tokenSecret === undefined,
    streamTokenTtlS: int(env, "STREAM_TOKEN_TTL_S", 600, 10, 86400),
    streamName: str(env, "STREAM_NAME", "sauti-relay"),
    callSampleRate,
    playbackRate,
    playoutLeadMs: int(env, "PLAYOUT_LEAD_MS", 160, 0, 2000),
    playoutFrameMs: oneOf(env, "PLAYOUT_FRAME_MS", 60, [20, 40, 60] as const),
    uplinkBatchMs: oneOf(env, "UPLINK_BATCH_MS", 0, [0, 20, 40, 60, 80, 100] as const),
    pacerPhases: int(env, "PACER_PHASES", 1, 1, 10),
    turnTailMs: int(env, "TURN_TAIL_MS", 200, 0, 2000),
    sendKillAudio: bool(env, "SEND_KILL_AUDIO", true),
    gemini: {
      apiKey: opt(env, "GEMINI_API_KEY"),
      liveUrl,
      alphaUrl: alphaUrl(env, liveUrl),
      toolSchema: oneOf(env, "GEMINI_TOOL_SCHEMA", "openapi", ["openapi", "json"] as const),
      model,
      voice: str(env, "GEMINI_VOICE", "Kore"),
      setupTimeoutMs: int(env, "GEMINI_SETUP_TIMEOUT_MS", 10000, 100, 120000),
      rotation: oneOf(env, "GEMINI_ROTATION", "overlap", ["overlap", "close-first"] as const),
      maxReconnects: int(env, "GEMINI_MAX_RECONNECTS", 5, 0, 100),
      tuning,
    },
    agentTuning: {
      turnTaking,
      languages: languages(env, "AGENT_LANGUAGE"),
      temperature: decimal(env, "GEMINI_TEMPERATURE", 0, 2),
    },
    agentPrompt,
    // An explicitly empty AGENT_GREETING disables the greeting, so read it raw.
    agentGreeting: env.AGENT_GREETING ?? DEFAULT_GREETING,
    agentsFile: opt(env, "AGENTS_FILE"),
    maxCallSeconds: int(env, "MAX_CALL_SECONDS", 900, 0, 86400),
    toolSigningSecret: opt(env, "TOOL_SIGNING_SECRET"),
    prewarm: bool(env, "PREWARM", true),
    prewarmWaitMs: int(env, "PREWARM_WAIT_MS", 3000, 0, 9000),
    prewarmIdleMs: int(env, "PREWARM_IDLE_MS", 15000, 1000, 600000),
    fallbackMessage: str(env, "FALLBACK_MESSAGE", DEFAULT_FALLBACK),
    sautikitApiKey: opt(env, "SAUTIKIT_API_KEY"),
    sautikitApiUrl: url(env, "SAUTIKIT_API_URL", "https://api.sautikit.com", ["http", "https"]),
    seenCallsMax: int(env, "SEEN_CALLS_MAX", 100000, 100, 10000000),
    seenCallsTtlS: int(env, "SEEN_CALLS_TTL_S", 3600, 60, 7 * 86400),
    drainTimeoutS: int(env, "DRAIN_TIMEOUT_S", 600, 0, 86400),
    metricsToken: opt(env, "METRICS_TOKEN"),
    records: {
      ...database(env),
      retentionDays: int(env, "RECORDS_RETENTION_DAYS", 30, 0, 36500),
      queueMax: int(env, "RECORDS_QUEUE_MAX", 10000, 100, 1000000),
      adminToken: adminToken(env),
      webhook: callWebhook(env),
    },
    maxQueuedAudioS: int(env, "MAX_QUEUED_AUDIO_S", 60, 1, 3600),
    maxWebhookBytes: int(env, "MAX_WEBHOOK_BYTES", 65536, 1024, 16 * 1024 * 1024),
    callerSilenceTimeoutS: int(env, "CALLER_SILENCE_TIMEOUT_S", 10, 0, 3600),
    modelStallS: int(env, "MODEL_STALL_S", 12, 0, 600),
    maxCalls,
    idleGc: bool(env, "IDLE_GC", true),
    recordings: recordings(env),
    analysis: analysis(env),
    handoff: handoff(env),
    callTimezone: timeZone(env, "CALL_TIMEZONE", "Africa/Nairobi"),
    outbound: outbound(env, maxCalls, webhookSecret),
  };
}
