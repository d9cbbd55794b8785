// Phone numbers: how they are read, and how they are shown outside the database.
// Reading: webhooks carry numbers in whatever form the platform chose ("+254…", "254…", "tel:+254…", with
// spaces), and the agents file is written by people; routing and records use E.164 (toE164).
// Showing: one rule for every place that shows one.
//   - Log lines show only a number's last 3 digits: "+254700000001" → "…001" (so do metrics: none carries one).
//   - The HTTP APIs (the records API /api/calls, the console's /api/console/* and its live events, the outbound
//     API's attempts, campaign contacts and do-not-call list) show whole numbers only to a request that carries
//     ADMIN_TOKEN as its Bearer token. Any other viewer the admin guard
//     lets in (a loopback peer while ADMIN_TOKEN is unset) gets the same "…001" as the logs, in the caller and
//     callee fields and in the media server's metadata.
//   - A value without a digit is not a number (the softphone's "browser", "anonymous") and is shown as it is.
//   - The records themselves, and the end-of-call webhook (signed, to your own service), keep whole numbers.
// Transcripts and tool arguments are the call's content, not its parties: they are not masked (the guard keeps
// them from anyone it does not let in).

const E164 = /^\+[1-9]\d{6,14}$/;

/** "+254 711-000 000", "00254711000000", "254711000000", "tel:+254711000000" → "+254711000000"; undefined when it
 *  cannot be one (a national form like "0711000000" has no country code to recover). */
export function toE164(raw: string): string | undefined {
  let n = raw.trim().replace(/^tel:/i, "").replace(/[\s\-.()]/g, "");
  if (n.startsWith("00")) n = "+" + n.slice(2);
  else if (/^[1-9]/.test(n)) n = "+" + n;
  return E164.test(n) ? n : undefined;
}

/** The masked form: "…" and the last 3 digits ("…" alone for 3 digits or fewer); no digit: the value as is. */
export function maskNumber(n: string | undefined): string | undefined {
  if (n === undefined || n === "") return n;
  const digits = n.replace(/\D/g, "");
  if (digits === "") return n;
  return digits.length <= 3 ? "…" : `…${digits.slice(-3)}`;
}

/** A number as a viewer sees it: whole when `full` (the viewer has ADMIN_TOKEN), else masked. */
export function showNumber(n: string, full: boolean): string {
  return full ? n : (maskNumber(n) ?? "");
}

/** A call's caller and callee as a viewer sees them. */
export function showParties<T extends { caller: string; callee: string }>(s: T, full: boolean): T {
  return full ? s : { ...s, caller: showNumber(s.caller, false), callee: showNumber(s.callee, false) };
}

/** A phone-number-looking string: 7+ digits, only + ( ) - . and spaces besides. */
export function looksLikeNumber(v: string): boolean {
  return /^\+?[\d\s().-]+$/.test(v) && v.replace(/\D/g, "").length >= 7;
}

/** Phone-number-looking strings in an object and the objects inside it (the metadata's `raw` numbers as sent),
 *  masked. */
export function showNumbersIn<T extends Record<string, unknown> | null>(o: T, full: boolean): T {
  if (full || o === null) return o;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === "string") out[k] = looksLikeNumber(v) ? maskNumber(v) : v;
    else if (typeof v === "object" && v !== null && !Array.isArray(v)) out[k] = showNumbersIn(v as Record<string, unknown>, false);
    else out[k] = v;
  }
  return out as T;
}
