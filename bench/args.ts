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
  const v = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(v) || v < min) {
    console.error(`${name} must be a whole number, at least ${min} (got ${raw})`);
    process.exit(2);
  }
  return v;
}

/** The arguments that are neither options nor their values. */
export const positional = (): string[] => argv.filter((a, i) => !a.startsWith("--") && !argv[i - 1]?.startsWith("--"));
