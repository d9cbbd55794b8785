// How phone numbers are shown outside the database: one rule for every place that shows one.
//   - Log lines show only a number's last 3 digits: "+254700000001" → "…001" (so do metrics: none carries one).
//   - The HTTP APIs (the records API /api/calls, the console's /api/console/* and its live events) show whole
//     numbers only to a request that carries ADMIN_TOKEN as its Bearer token. Any other viewer the admin guard
//     lets in (a loopback peer while ADMIN_TOKEN is unset) gets the same "…001" as the logs, in the caller and
//     callee fields and in the media server's metadata.
//   - A value without a digit is not a number (the softphone's "browser", "anonymous") and is shown as it is.
//   - The records themselves, and the end-of-call webhook (signed, to your own service), keep whole numbers.
// Transcripts and tool arguments are the call's content, not its parties: they are not masked (the guard keeps
// them from anyone it does not let in).

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

/** Phone-number-looking strings (7+ digits, only + ( ) - . and spaces besides) in a flat object, masked. */
export function showNumbersIn<T extends Record<string, unknown> | null>(o: T, full: boolean): T {
  if (full || o === null) return o;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    out[k] = typeof v === "string" && /^\+?[\d\s().-]+$/.test(v) && v.replace(/\D/g, "").length >= 7 ? maskNumber(v) : v;
  }
  return out as T;
}
