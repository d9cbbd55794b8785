// pino JSON lines on stdout. No transports: they cannot load inside the compiled binary (docs/bun.md#pino-in-a-compiled-binary).
import pino from "pino";

export type Logger = pino.Logger;

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: "sauti-relay" },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Belt and braces: secrets never reach a log line even if someone logs a config or headers object.
    redact: {
      paths: [
        "geminiApiKey",
        "gemini.apiKey",
        "*.gemini.apiKey",
        "apiKey",
        "*.apiKey",
        "sautikitApiKey",
        "webhookSecret",
        "streamTokenSecret",
        "toolSigningSecret",
        "*.geminiApiKey",
        "*.sautikitApiKey",
        "*.webhookSecret",
        "*.streamTokenSecret",
        "*.toolSigningSecret",
        "metricsToken",
        "*.metricsToken",
        "headers.authorization",
        'headers["x-goog-api-key"]',
        "token",
        "adminToken",
        "*.adminToken",
        "databaseUrl",
        "*.databaseUrl",
        "records.webhook.secret",
        "*.records.webhook.secret",
      ],
      censor: "[redacted]",
    },
  });
}

/** Removes query values that carry secrets (`token`, `key`) from a URL before it is logged. */
export function safeUrl(raw: string): string {
  return raw.replace(/([?&](?:token|key|access_token)=)[^&#]*/gi, "$1[redacted]");
}

/** A value from outside (header, form field, frame) cut to `max` characters, so no log line grows with its input. */
export function clip(v: string | undefined | null, max = 64): string | undefined {
  if (v === undefined || v === null) return undefined;
  return v.length <= max ? v : `${v.slice(0, max)}…(${v.length})`;
}
