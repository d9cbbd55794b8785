// What POST /api/campaigns asks for, checked: a JSON body {name, agent, contacts:[{to, variables}], window,
// maxConcurrent, retry, startAt, endAt}, or a CSV body (a header row: `to` and one column per variable; parsed by
// csv-parse) with the rest as query parameters named like the JSON fields (window.from, retry.attempts, …).
// Every mistake names its field; every contact row that cannot be called is reported by row and column (never
// dropped silently); the same number twice is one contact, said so.
import { parse as parseCsv } from "csv-parse/sync";
import { VARIABLE_NAME, requiredVariables } from "../agents/variables.ts";
import type { Agent } from "../call/agent.ts";
import type { CallVariables } from "../call/data.ts";
import { toE164 } from "../phone-numbers.ts";
import { DEFAULT_RETRY } from "./retry.ts";
import { FieldError, MAX_VARIABLE_CHARS, outboundAgent, variables as readVariables } from "./requests.ts";
import { DAYS, OUTCOMES, type CallingWindow, type CampaignSpec, type Day, type NewContact, type Outcome, type RetryRules } from "./store.ts";
import { minutesOf } from "./window.ts";

export const MAX_CONTACTS = 100_000;
export const MAX_CONCURRENT = 1000;
export const DEFAULT_MAX_CONCURRENT = 5;
export const DEFAULT_ATTEMPTS = 3;
/** Outcomes worth another call (a person who talked, or asked not to be called, is not called again). */
export const RETRYABLE: readonly Outcome[] = ["no_answer", "busy", "failed", "voicemail"];

/** A contact row that cannot be called. `row` counts contacts from 1 (the first line after a CSV's header); `line`
 *  is the CSV line it starts on. */
export interface RowProblem {
  row: number;
  line?: number;
  column: string;
  error: string;
}

/** Rows of one number, merged into the first. */
export interface Merged {
  to: string;
  rows: number[];
}

export interface CampaignInput {
  spec: CampaignSpec;
  contacts: NewContact[];
  refused: RowProblem[];
  merged: Merged[];
  /** Variable columns (CSV) or names (JSON) the contacts carry. */
  variables: string[];
  /** What the agent's texts need from each contact. */
  required: string[];
  /** Create with the rows that can be called, report the rest (otherwise any refused row refuses the campaign). */
  skipInvalid: boolean;
}

type Src = Record<string, unknown>;

const str = (v: unknown): string | undefined => (typeof v === "string" ? v.trim() : typeof v === "number" ? String(v) : undefined);

function time(v: unknown, field: string): number | null {
  if (v === undefined || v === null || v === "") return null;
  const t = typeof v === "number" ? v : typeof v === "string" && /^\d{4}-\d\d-\d\dT/.test(v) ? Date.parse(v) : NaN;
  if (!Number.isFinite(t)) throw new FieldError(field, 'expected an ISO 8601 time with its offset, like "2026-12-01T08:00:00+03:00"');
  return t;
}

function list(v: unknown): unknown[] | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  if (Array.isArray(v)) return v;
  if (typeof v === "string") return v.split(",").map((x) => x.trim()).filter((x) => x !== "");
  return [v];
}

function int(v: unknown, field: string, def: number, min: number, max: number): number {
  if (v === undefined || v === null || v === "") return def;
  const n = typeof v === "number" ? v : typeof v === "string" && /^\d+$/.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw new FieldError(field, `expected a whole number from ${min} to ${max}`);
  return n;
}

export function readWindow(w: Src, defaultTimezone: string): CallingWindow {
  const days = (list(w.days) ?? [...DAYS]).map((d) => String(d).toLowerCase().slice(0, 3));
  for (const d of days) if (!(DAYS as readonly string[]).includes(d)) throw new FieldError("window.days", "expected days as mon, tue, wed, thu, fri, sat, sun");
  if (days.length === 0) throw new FieldError("window.days", "expected at least one day");
  const from = str(w.from) ?? "00:00";
  const to = str(w.to) ?? "24:00";
  const f = minutesOf(from);
  const t = minutesOf(to);
  if (f === undefined || f >= 24 * 60) throw new FieldError("window.from", 'expected HH:MM (24 h), like "08:00"');
  if (t === undefined) throw new FieldError("window.to", 'expected HH:MM (24 h, 24:00 for midnight), like "18:00"');
  if (t <= f) throw new FieldError("window.to", "expected a time after window.from (a window runs within one day)");
  const timezone = str(w.timezone) ?? defaultTimezone;
  try {
    new Intl.DateTimeFormat("en-GB", { timeZone: timezone });
  } catch {
    throw new FieldError("window.timezone", 'expected an IANA time zone like "Africa/Nairobi"');
  }
  return { days: [...new Set(days)] as Day[], from, to, timezone };
}

export function readRetry(r: Src): RetryRules {
  const attempts = int(r.attempts, "retry.attempts", DEFAULT_ATTEMPTS, 1, 10);
  const raw = list(r.backoffS) ?? DEFAULT_RETRY.backoffS;
  const backoffS = raw.map((x) => (typeof x === "number" ? x : typeof x === "string" && /^\d+$/.test(x) ? Number(x) : NaN));
  if (backoffS.length === 0 || backoffS.some((x) => !Number.isInteger(x) || x < 0 || x > 7 * 86400)) {
    throw new FieldError("retry.backoffS", "expected seconds (0 to 604800), one number or a list");
  }
  const on = (list(r.on) ?? DEFAULT_RETRY.on).map(String) as Outcome[];
  for (const o of on) {
    if (!RETRYABLE.includes(o)) throw new FieldError("retry.on", `expected outcomes to retry among ${RETRYABLE.join(", ")}${OUTCOMES.includes(o) ? ` (${o} is never retried)` : ""}`);
  }
  return { attempts, backoffS, on: [...new Set(on)] };
}

/** The campaign's settings (everything but the contacts). `q` holds them flat (query parameters) or nested (JSON). */
export function readSpec(src: Src, agents: readonly Agent[], defaultTimezone: string, now: number): { spec: CampaignSpec; agent: Agent } {
  const sub = (name: string): Src => {
    const nested = src[name];
    if (typeof nested === "object" && nested !== null && !Array.isArray(nested)) return nested as Src;
    if (nested !== undefined) throw new FieldError(name, "expected an object");
    const out: Src = {};
    for (const [k, v] of Object.entries(src)) if (k.startsWith(`${name}.`)) out[k.slice(name.length + 1)] = v;
    return out;
  };
  const name = str(src.name);
  if (name === undefined || name === "" || name.length > 200) throw new FieldError("name", "expected a name (1 to 200 characters)");
  const agent = outboundAgent(src.agent, agents);
  const startAt = time(src.startAt, "startAt");
  const endAt = time(src.endAt, "endAt");
  if (endAt !== null && endAt <= (startAt ?? now)) throw new FieldError("endAt", "expected a time after startAt (or after now)");
  return {
    agent,
    spec: {
      name,
      agent: agent.name,
      window: readWindow(sub("window"), defaultTimezone),
      maxConcurrent: int(src.maxConcurrent, "maxConcurrent", DEFAULT_MAX_CONCURRENT, 1, MAX_CONCURRENT),
      retry: readRetry(sub("retry")),
      startAt,
      endAt,
    },
  };
}

interface RawContact {
  row: number;
  line?: number;
  /** Where `to` sits: "to" (CSV column) or "contacts[i].to". */
  toField: string;
  varsField: string;
  to: unknown;
  variables: unknown;
}

/** Checks each row, merges duplicates; the agent's required variables must be there on each. */
function contactsOf(raw: RawContact[], agent: Agent): Pick<CampaignInput, "contacts" | "refused" | "merged" | "required"> {
  const required = requiredVariables(agent);
  const refused: RowProblem[] = [];
  const byNumber = new Map<string, { contact: NewContact; rows: number[] }>();
  const where = (r: RawContact) => (r.line === undefined ? { row: r.row } : { row: r.row, line: r.line });
  for (const r of raw) {
    const to = typeof r.to === "string" ? toE164(r.to) : undefined;
    if (to === undefined) {
      refused.push({ ...where(r), column: r.toField, error: r.to === undefined || r.to === "" ? "no number" : 'not a phone number in E.164 form, like "+254712345678"' });
      continue;
    }
    let vars: CallVariables;
    try {
      vars = readVariables(r.variables, r.varsField);
    } catch (err) {
      if (!(err instanceof FieldError)) throw err;
      refused.push({ ...where(r), column: err.field, error: err.message });
      continue;
    }
    const seen = byNumber.get(to);
    if (seen !== undefined) {
      // The first row keeps its place and its values; a later row only adds values it lacked.
      for (const [k, v] of Object.entries(vars)) if (seen.contact.variables[k] === undefined) seen.contact.variables[k] = v;
      seen.rows.push(r.row);
      continue;
    }
    byNumber.set(to, { contact: { to, variables: vars, row: r.row }, rows: [r.row] });
  }
  const contacts: NewContact[] = [];
  for (const { contact } of byNumber.values()) {
    const missing = required.filter((n) => contact.variables[n] === undefined || contact.variables[n] === "");
    if (missing.length > 0) {
      const at = raw.find((r) => r.row === contact.row)!;
      for (const n of missing) refused.push({ ...where(at), column: at.varsField === "variables" ? n : `${at.varsField}.${n}`, error: `empty: the agent's texts use {{${n}}}` });
      continue;
    }
    contacts.push(contact);
  }
  const merged = [...byNumber.values()].filter((x) => x.rows.length > 1).map((x) => ({ to: x.contact.to, rows: x.rows }));
  refused.sort((a, b) => a.row - b.row);
  return { contacts, refused, merged, required };
}

/** A JSON campaign. */
export function fromJson(body: Src, agents: readonly Agent[], defaultTimezone: string, now: number): CampaignInput {
  const { spec, agent } = readSpec(body, agents, defaultTimezone, now);
  const list = body.contacts;
  if (!Array.isArray(list) || list.length === 0) throw new FieldError("contacts", "expected a list of {to, variables}");
  if (list.length > MAX_CONTACTS) throw new FieldError("contacts", `expected at most ${MAX_CONTACTS} contacts`);
  const raw: RawContact[] = list.map((c, i) => {
    const o = typeof c === "object" && c !== null && !Array.isArray(c) ? (c as Src) : {};
    return { row: i + 1, toField: `contacts[${i}].to`, varsField: `contacts[${i}].variables`, to: o.to, variables: o.variables };
  });
  const names = new Set<string>();
  for (const r of raw) if (typeof r.variables === "object" && r.variables !== null) for (const k of Object.keys(r.variables)) names.add(k);
  return { spec, ...contactsOf(raw, agent), variables: [...names], skipInvalid: body.skipInvalid === true };
}

/** A CSV campaign: the settings from `query`, the contacts from `text`. */
export function fromCsv(text: string, query: Src, agents: readonly Agent[], defaultTimezone: string, now: number): CampaignInput {
  const { spec, agent } = readSpec(query, agents, defaultTimezone, now);
  let records: Array<{ record: string[]; info: { lines: number } }>;
  try {
    records = parseCsv(text, { bom: true, skip_empty_lines: true, trim: true, relax_column_count: true, relax_quotes: false, info: true }) as unknown as typeof records;
  } catch (err) {
    const e = err as { message?: string; lines?: number };
    throw new FieldError("body", `not valid CSV${e.lines === undefined ? "" : ` (line ${e.lines})`}: ${String(e.message ?? err).slice(0, 200)}`);
  }
  const header = records[0]?.record;
  if (header === undefined) throw new FieldError("body", "expected a header row (to, then one column per variable) and at least one row");
  const cols = header.map((h) => h.trim());
  const toAt = cols.findIndex((c) => c.toLowerCase() === "to");
  if (toAt < 0) throw new FieldError("body", `expected a column named "to" in the header row (found: ${cols.slice(0, 20).join(", ")})`);
  cols.forEach((c, i) => {
    if (i === toAt) return;
    if (!VARIABLE_NAME.test(c)) throw new FieldError("body", `column ${i + 1} of the header ("${c.slice(0, 40)}") is not a variable name: a letter or _, then letters, digits, _ . -`);
  });
  if (new Set(cols).size !== cols.length) throw new FieldError("body", "a column name appears twice in the header row");
  if (records.length - 1 > MAX_CONTACTS) throw new FieldError("body", `expected at most ${MAX_CONTACTS} rows`);
  const refusedShape: RowProblem[] = [];
  const raw: RawContact[] = [];
  records.slice(1).forEach((r, i) => {
    const row = i + 1;
    const line = r.info.lines;
    if (r.record.length !== cols.length) {
      refusedShape.push({ row, line, column: "(row)", error: `expected ${cols.length} columns, found ${r.record.length}` });
      return;
    }
    const vars: Record<string, string> = {};
    cols.forEach((c, j) => {
      if (j !== toAt && r.record[j] !== "") vars[c] = r.record[j]!.slice(0, MAX_VARIABLE_CHARS + 1);
    });
    raw.push({ row, line, toField: "to", varsField: "variables", to: r.record[toAt], variables: vars });
  });
  const checked = contactsOf(raw, agent);
  // Variable problems name the CSV column, not a JSON path.
  for (const p of checked.refused) p.column = p.column.replace(/^variables\./, "");
  const refused = [...refusedShape, ...checked.refused].sort((a, b) => a.row - b.row);
  if (checked.contacts.length === 0 && refused.length === 0) throw new FieldError("body", "expected at least one row after the header");
  return { spec, ...checked, refused, variables: cols.filter((_, i) => i !== toAt), skipInvalid: query.skipInvalid === "true" || query.skipInvalid === true };
}
