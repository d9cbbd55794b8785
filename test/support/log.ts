// A pino logger whose JSON lines land in an array, for tests that assert on what was (not) logged.
import pino from "pino";
import type { Logger } from "../../src/log.ts";

export function captureLog(level = "trace"): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const log = pino({ level }, { write: (s: string) => void lines.push(s) });
  return { log, lines };
}

export const silentLog: Logger = pino({ level: "silent" });
