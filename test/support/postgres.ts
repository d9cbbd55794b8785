// A real PostgreSQL server for the records tests. `bun run test` (.ci/test) starts a throwaway cluster (.ci/pg-cluster) and
// exports TEST_DATABASE_URL, plus TEST_PGDATA / TEST_PG_BIN / TEST_PG_RUNAS for tests that stop and start it.
// Without TEST_DATABASE_URL these tests FAIL and say why; SKIP_POSTGRES_TESTS=1 skips them with a loud warning.
import { SQL } from "bun";
import { test } from "bun:test";
import { dirname } from "node:path";

export const PG_URL = process.env.TEST_DATABASE_URL || undefined;
const SKIP = process.env.SKIP_POSTGRES_TESTS === "1";

let warned = false;
function warnSkipped(): void {
  if (warned) return;
  warned = true;
  process.stderr.write(
    "\n" +
      "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n" +
      "!! SKIP_POSTGRES_TESTS=1: the PostgreSQL records tests are SKIPPED. Multi-instance claims,      !!\n" +
      "!! the database outage and the Postgres store are NOT tested in this run.                     !!\n" +
      "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\n",
  );
}

const MISSING =
  "TEST_DATABASE_URL is not set: this test needs a real PostgreSQL server. Run the tests with `bun run test` (it starts a " +
  "throwaway cluster), or start one with `eval \"$(.ci/pg-cluster start)\"`, or set SKIP_POSTGRES_TESTS=1 to skip these tests knowingly.";

/** A test that needs PostgreSQL: runs, fails loudly without a server, or is skipped only when asked to. */
export function pgTest(name: string, fn: () => Promise<void>, timeoutMs?: number): void {
  if (PG_URL !== undefined) return void test(name, fn, timeoutMs);
  if (SKIP) {
    warnSkipped();
    return void test.skip(name, fn);
  }
  test(name, () => {
    throw new Error(MISSING);
  });
}

/** A new, empty database on the test server (dropped by `drop`). */
export async function freshDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  if (PG_URL === undefined) throw new Error(MISSING);
  const name = `sauti_test_${process.pid}_${crypto.randomUUID().slice(0, 8)}`;
  const admin = new SQL(PG_URL, { max: 1 });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  const u = new URL(PG_URL);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
      await admin.close();
    },
  };
}

/** Stops or starts the test cluster itself (pg_ctl), as the outage tests need. */
export async function pgCtl(action: "stop" | "start"): Promise<void> {
  const data = process.env.TEST_PGDATA;
  const bin = process.env.TEST_PG_BIN;
  if (!data || !bin) throw new Error("TEST_PGDATA and TEST_PG_BIN must name the test cluster (.ci/pg-cluster start exports them)");
  const ctl = [`${bin}/pg_ctl`, "-D", data, "-w", "-t", "60"];
  const args = action === "stop" ? [...ctl, "-m", "fast", "stop"] : [...ctl, "-l", `${dirname(data)}/server.log`, "start"];
  const runas = process.env.TEST_PG_RUNAS;
  const cmd = runas ? ["runuser", "-u", runas, "--", ...args] : args;
  const p = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" });
  if ((await p.exited) !== 0) throw new Error(`pg_ctl ${action} failed: ${await new Response(p.stderr).text()}`);
}
