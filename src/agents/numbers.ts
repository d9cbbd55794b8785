// Phone numbers as routing keys. Webhooks carry the dialed number in whatever form the platform chose ("+254…",
// "254…", "tel:+254…", with spaces); the agents file is written by people. Both sides are reduced to E.164.

const E164 = /^\+[1-9]\d{6,14}$/;

/** "+254 711-000 000", "00254711000000", "254711000000", "tel:+254711000000" → "+254711000000"; undefined when it
 *  cannot be one (a national form like "0711000000" has no country code to recover). */
export function toE164(raw: string): string | undefined {
  let n = raw.trim().replace(/^tel:/i, "").replace(/[\s\-.()]/g, "");
  if (n.startsWith("00")) n = "+" + n.slice(2);
  else if (/^[1-9]/.test(n)) n = "+" + n;
  return E164.test(n) ? n : undefined;
}
