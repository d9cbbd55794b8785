// The bench scripts' command line: `--name value` options and bare flags. A count that is not a whole number in
// range exits 2 naming the option, rather than running a bench on NaN.
const argv = process.argv.slice(2);

export const flag = (name: string): boolean => argv.includes(name);

export function value(name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

export function count(name: string, fallback: number, min: number): number {
  const raw = value(name);
  return raw === undefined ? fallback : checked(name, raw, min);
}

/** `--name 50,200`: a comma-separated list of counts, each checked as count() checks one. */
export function counts(name: string, fallback: number[], min: number): number[] {
  const raw = value(name);
  return raw === undefined ? fallback : raw.split(",").map((part) => checked(name, part, min));
}

function checked(name: string, raw: string, min: number): number {
  const v = Number(raw);
  if (raw.trim() === "" || !Number.isInteger(v) || v < min) {
    console.error(`${name} must be a whole number, at least ${min} (got ${raw})`);
    process.exit(2);
  }
  return v;
}

/** The arguments that are neither options nor their values. */
export const positional = (): string[] => argv.filter((a, i) => !a.startsWith("--") && !argv[i - 1]?.startsWith("--"));
