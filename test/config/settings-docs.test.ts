// The README's settings table and .env.example list exactly the settings src/config.ts reads, with its defaults.
// The names come from loadConfig itself: it is called with a Proxy env that records every key read, and every key
// it reads is then given trial values, so settings read only on a branch (CALL_WEBHOOK_* once CALL_WEBHOOK_URL is
// set) are found too. Defaults are checked by behaviour, not by text: a default the docs give must load to the same
// Config as leaving the setting out.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig, type Config } from "../../src/config.ts";

type Env = Record<string, string | undefined>;

const ROOT = new URL("../..", import.meta.url).pathname;
const NAME = /^[A-Z][A-Z0-9_]*$/;

const scratch = mkdtempSync(join(tmpdir(), "sauti-settings-"));
const promptFile = join(scratch, "prompt.txt");
writeFileSync(promptFile, "a prompt\n");

/** Trial values for each key loadConfig reads, to open the branches that read more keys. */
const TRIALS = [
  "1",
  "true",
  "https://hooks.example.com/sauti",
  "wss://live.example.com/ws",
  `whsec_${Buffer.alloc(32, 7).toString("base64")}`,
  promptFile,
  "s3://recordings/calls",
  "x",
];

/** Loads `env` through a Proxy that records the keys read; loadConfig may throw (the keys read so far count). */
function reads(env: Env): { keys: Set<string>; error: unknown } {
  const keys = new Set<string>();
  const note = (k: string | symbol) => {
    if (typeof k === "string") keys.add(k);
  };
  const proxy = new Proxy(
    { ...env },
    {
      get: (t, k) => (note(k), Reflect.get(t, k)),
      has: (t, k) => (note(k), Reflect.has(t, k)),
      getOwnPropertyDescriptor: (t, k) => (note(k), Reflect.getOwnPropertyDescriptor(t, k)),
      ownKeys: () => {
        throw new Error("loadConfig enumerated the environment: settings must be read by name for this test (and the docs) to see them");
      },
    },
  );
  try {
    loadConfig(proxy);
    return { keys, error: undefined };
  } catch (error) {
    return { keys, error };
  }
}

/** Every key loadConfig reads, and the env that opens every branch found (e.g. CALL_WEBHOOK_URL + its secret). */
function discover(): { names: Set<string>; branches: Env } {
  const names = new Set(reads({}).keys);
  const branches: Env = {};
  for (let grew = true; grew; ) {
    grew = false;
    for (const name of [...names]) {
      if (branches[name] !== undefined) continue;
      for (const v of TRIALS) {
        const fresh = [...reads({ ...branches, [name]: v }).keys].filter((k) => !names.has(k));
        if (fresh.length === 0) continue;
        branches[name] = v;
        for (const k of fresh) names.add(k);
        grew = true;
        break;
      }
    }
  }
  return { names, branches };
}

const { names: SETTINGS, branches: BRANCHES } = discover();

/** Names src/config.ts spells out where it reads them: each must have been found by the Proxy. */
function namedInSource(): Set<string> {
  const src = readFileSync(join(ROOT, "src/config.ts"), "utf8");
  const out = new Set<string>();
  for (const re of [/\b(?:str|opt|int|bool|oneOf|url)\(\s*env,\s*"([A-Z][A-Z0-9_]*)"/g, /\benv\.([A-Z][A-Z0-9_]*)/g, /\benv\[\s*"([A-Z][A-Z0-9_]*)"\s*\]/g]) {
    for (const m of src.matchAll(re)) out.add(m[1]!);
  }
  return out;
}

function flatten(v: unknown, path: string, out: Map<string, unknown>): Map<string, unknown> {
  if (v !== null && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) flatten(x, path ? `${path}.${k}` : k, out);
  } else {
    out.set(path, v);
  }
  return out;
}

/** Config fields that differ, as "field: got … where the default gives …" (the random stream secret aside). */
function differences(got: Config, def: Config): string[] {
  const a = flatten(got, "", new Map());
  const b = flatten(def, "", new Map());
  const out: string[] = [];
  for (const k of new Set([...a.keys(), ...b.keys()])) {
    if (k === "streamTokenSecret" && got.streamTokenSecretGenerated && def.streamTokenSecretGenerated) continue;
    if (!Object.is(a.get(k), b.get(k))) out.push(`${k}: ${JSON.stringify(a.get(k))} where the default gives ${JSON.stringify(b.get(k))}`);
  }
  return out;
}

function without(env: Env, name: string): Env {
  const { [name]: _, ...rest } = env;
  return rest;
}

/** Why setting `name` to `value` is not the same as leaving it out (with and without the branches open), or []. */
function notDefault(name: string, value: string): string[] {
  const problems = new Map<string, string>();
  for (const [label, ctx] of [["", {}], [` (with ${Object.keys(BRANCHES).join(", ")} set)`, without(BRANCHES, name)]] as const) {
    let found: string[];
    try {
      const got = loadConfig({ ...ctx, [name]: value });
      found = differences(got, loadConfig(ctx)).map((d) => `${name}=${JSON.stringify(value)} gives ${d}`);
    } catch (err) {
      found = [`${name}=${JSON.stringify(value)} is refused: ${(err as Error).message}`];
    }
    for (const f of found) if (!problems.has(f)) problems.set(f, f + label);
  }
  return [...problems.values()];
}

// ---- README.md: one table `| variable | default | meaning |`, one row per setting ----

interface Row {
  line: number;
  name: string;
  def: string;
  meaning: string;
}

function cells(line: string): string[] {
  return line
    .trim()
    .replace(/^\|/, "")
    .replace(/\|$/, "")
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());
}

const readmeLines = readFileSync(join(ROOT, "README.md"), "utf8").split("\n");
const headers = readmeLines.flatMap((l, i) => (/^\|\s*variable\s*\|\s*default\s*\|\s*meaning\s*\|\s*$/i.test(l) ? [i] : []));
const tableStart = headers[0] ?? -1;
let tableEnd = tableStart;
while (tableStart >= 0 && tableEnd + 1 < readmeLines.length && readmeLines[tableEnd + 1]!.trimStart().startsWith("|")) tableEnd++;
const rows: Row[] = [];
const rowProblems: string[] = [];
for (let i = tableStart + 2; tableStart >= 0 && i <= tableEnd; i++) {
  const c = cells(readmeLines[i]!);
  const name = /^`([A-Z][A-Z0-9_]*)`$/.exec(c[0] ?? "")?.[1];
  if (c.length !== 3 || name === undefined) {
    rowProblems.push(`README.md line ${i + 1}: a settings row is | \`NAME\` | default | meaning |, got: ${readmeLines[i]}`);
    continue;
  }
  rows.push({ line: i + 1, name, def: c[1]!, meaning: c[2]! });
}
const byName = new Map(rows.map((r) => [r.name, r]));

/** A default cell that starts with a code span holds a literal; `OTHER_SETTING` and `…$OTHER…` refer to other defaults. */
function literal(def: string): string | undefined {
  return /^`([^`]*)`/.exec(def)?.[1];
}

function isReference(value: string): boolean {
  return (NAME.test(value) && SETTINGS.has(value)) || /\$[A-Z][A-Z0-9_]*/.test(value);
}

function resolve(value: string, seen: string[] = []): string {
  const look = (ref: string): string => {
    const lit = byName.get(ref) && literal(byName.get(ref)!.def);
    if (lit === undefined || seen.includes(ref)) throw new Error(`refers to ${ref}, which has no literal default in the table`);
    return resolve(lit, [...seen, ref]);
  };
  if (NAME.test(value) && SETTINGS.has(value)) return look(value);
  return value.replace(/\$([A-Z][A-Z0-9_]*)/g, (_, ref: string) => look(ref));
}

// ---- .env.example: `NAME=value` for a default, `# NAME=…` for a setting without one ----

const exampleText = readFileSync(join(ROOT, ".env.example"), "utf8");
const exampleSet = new Map<string, number>();
const exampleCommented = new Map<string, number>();
const exampleProblems: string[] = [];
exampleText.split("\n").forEach((raw, i) => {
  const l = raw.trim();
  const set = /^([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(l);
  const commented = /^#\s*([A-Z][A-Z0-9_]*)=/.exec(l);
  const name = set?.[1] ?? commented?.[1];
  if (name === undefined) {
    if (l !== "" && !l.startsWith("#")) exampleProblems.push(`.env.example line ${i + 1} is neither NAME=value nor a comment: ${raw}`);
    return;
  }
  if (exampleSet.has(name) || exampleCommented.has(name)) exampleProblems.push(`.env.example lists ${name} twice (line ${i + 1})`);
  (set ? exampleSet : exampleCommented).set(name, i + 1);
});

/** .env.example's values as Bun itself reads an env file (quotes, `#` comments, `$NAME` expansion). */
function bunReadsExample(): Record<string, string> {
  const cwd = mkdtempSync(join(tmpdir(), "sauti-envfile-"));
  try {
    const r = Bun.spawnSync({
      cmd: [process.execPath, `--env-file=${join(ROOT, ".env.example")}`, "-e", "process.stdout.write(JSON.stringify(process.env))"],
      cwd,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
      stderr: "pipe",
    });
    if (r.exitCode !== 0) throw new Error(`bun could not read .env.example: ${r.stderr.toString()}`);
    const all = JSON.parse(r.stdout.toString()) as Record<string, string>;
    return Object.fromEntries(Object.entries(all).filter(([k]) => exampleSet.has(k) || exampleCommented.has(k) || SETTINGS.has(k)));
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

function report(problems: string[]): void {
  if (problems.length > 0) throw new Error(`\n  ${problems.join("\n  ")}\n`);
}

describe("the settings src/config.ts reads", () => {
  test("are all found by the Proxy env, including the ones read on a branch", () => {
    expect(SETTINGS.has("PORT")).toBe(true);
    expect(SETTINGS.has("CALL_WEBHOOK_RETRIES")).toBe(true); // read only once CALL_WEBHOOK_URL and its secret are set
    const { error } = reads(BRANCHES);
    if (error) throw new Error(`the env that opens every branch does not load (${Object.keys(BRANCHES).join(", ")}): ${(error as Error).message}`);
    report(
      [...namedInSource()]
        .filter((n) => !SETTINGS.has(n))
        .map((n) => `src/config.ts names ${n}, but loadConfig never read it here: it sits on a branch none of this test's TRIALS opens; add a value that opens it`),
    );
  });
});

describe("README.md's settings table", () => {
  test("is one table, and every settings row is in it", () => {
    expect(headers.length).toBe(1);
    const stray = readmeLines.flatMap((l, i) =>
      (i < tableStart || i > tableEnd) && /^\s*\|\s*`[A-Z][A-Z0-9_]*`\s*\|/.test(l)
        ? [`README.md line ${i + 1}: a settings row outside the settings table (it renders as raw pipes): ${l.slice(0, 80)}`]
        : [],
    );
    report([...rowProblems, ...stray]);
  });

  test("has a row for every setting src/config.ts reads, and none for anything else", () => {
    const problems: string[] = [];
    for (const n of [...SETTINGS].sort()) if (!byName.has(n)) problems.push(`README.md: no row for ${n}, which src/config.ts reads`);
    const seen = new Set<string>();
    for (const r of rows) {
      if (!SETTINGS.has(r.name)) problems.push(`README.md line ${r.line}: ${r.name} is not a setting src/config.ts reads`);
      if (seen.has(r.name)) problems.push(`README.md line ${r.line}: ${r.name} has a second row`);
      seen.add(r.name);
      if (r.def === "") problems.push(`README.md line ${r.line}: ${r.name} has an empty default cell (write the default, or say unset and what that means)`);
      if (r.meaning === "") problems.push(`README.md line ${r.line}: ${r.name} has no meaning`);
      if (r.meaning.length > 300) {
        problems.push(`README.md line ${r.line}: ${r.name}'s meaning is ${r.meaning.length} characters; keep the cell short and explain in the feature's own section`);
      }
    }
    report(problems);
  });

  test("gives defaults that load to the same Config as leaving the setting out", () => {
    const problems: string[] = [];
    for (const r of rows) {
      const lit = literal(r.def);
      if (lit === undefined || !SETTINGS.has(r.name)) continue;
      let value: string;
      try {
        value = resolve(lit);
      } catch (err) {
        problems.push(`README.md line ${r.line}: ${r.name}'s default \`${lit}\` ${(err as Error).message}`);
        continue;
      }
      for (const p of notDefault(r.name, value)) problems.push(`README.md line ${r.line}: ${r.name}'s default is \`${lit}\`, but ${p}`);
    }
    report(problems);
  });
});

describe(".env.example", () => {
  test("lists every setting once (commented only where there is no default to give), and nothing else", () => {
    const problems = [...exampleProblems];
    for (const n of [...SETTINGS].sort()) {
      if (!exampleSet.has(n) && !exampleCommented.has(n)) problems.push(`.env.example: no line for ${n} (NAME=default, or # NAME=… when it has no default)`);
    }
    for (const [n, line] of [...exampleSet, ...exampleCommented]) {
      if (!SETTINGS.has(n)) problems.push(`.env.example line ${line}: ${n} is not a setting src/config.ts reads`);
    }
    for (const [n, line] of exampleCommented) {
      const lit = byName.get(n) && literal(byName.get(n)!.def);
      if (lit !== undefined && !isReference(lit)) {
        problems.push(`.env.example line ${line}: ${n} is commented out, but it has a default (\`${lit}\` in the README): write ${n}=${lit}`);
      }
    }
    report(problems);
  });

  test("as Bun reads it, gives the same Config as an empty environment, setting by setting and as a whole", () => {
    const values = bunReadsExample();
    const problems: string[] = [];
    const loaded = Object.keys(values).sort();
    const written = [...exampleSet.keys()].sort();
    if (JSON.stringify(loaded) !== JSON.stringify(written)) {
      problems.push(`.env.example: Bun loads ${loaded.join(", ")} but the file's NAME= lines are ${written.join(", ")}`);
    }
    for (const [n, v] of Object.entries(values)) {
      for (const p of notDefault(n, v)) problems.push(`.env.example line ${exampleSet.get(n)}: ${p}`);
    }
    for (const [label, ctx] of [["", {} as Env], [" with the branches open", Object.fromEntries(Object.entries(BRANCHES).filter(([k]) => !(k in values)))]] as const) {
      try {
        for (const d of differences(loadConfig({ ...ctx, ...values }), loadConfig(ctx))) problems.push(`.env.example as a whole${label} gives ${d}`);
      } catch (err) {
        problems.push(`.env.example as a whole${label} is refused: ${(err as Error).message}`);
      }
    }
    report(problems);
  });
});

process.on("exit", () => rmSync(scratch, { recursive: true, force: true }));
