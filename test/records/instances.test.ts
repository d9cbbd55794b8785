// Two relay processes on one PostgreSQL database (and, on one host, on one SQLite file): every voice webhook POST
// for a call id, whichever instance it reaches and however many arrive at once, gets exactly one <Stream>.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { tmpdir } from "node:os";
import type { Subprocess } from "bun";
import { signBody } from "../../src/signing/sautikit.ts";
import { freshDatabase, PG_URL, pgTest } from "../support/postgres.ts";
import { removeSqlite } from "../support/scratch-db.ts";

const root = new URL("../..", import.meta.url).pathname;
const SECRET = "whsec_instances";

interface Instance {
  port: number;
  proc: Subprocess<"ignore", "pipe", "pipe">;
}

let db: { url: string; drop(): Promise<void> } | undefined;
const instances: Instance[] = [];
const sqliteFile = `${tmpdir()}/sauti-instances-${process.pid}.db`;
const sqliteInstances: Instance[] = [];

function freePort(): number {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const p = s.port;
  s.stop(true);
  return p;
}

async function start(databaseUrl: string): Promise<Instance> {
  const port = freePort();
  const proc = Bun.spawn(["bun", "src/main.ts"], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? "",
      PORT: String(port),
      HOST: "127.0.0.1",
      DATABASE_URL: databaseUrl,
      STREAM_TOKEN_SECRET: "shared-stream-secret",
      SAUTIKIT_WEBHOOK_SECRET: SECRET,
      PREWARM: "false",
      LOG_LEVEL: "info",
      // The webhooks below announce calls whose sockets never come: stop at once instead of draining for them.
      DRAIN_TIMEOUT_S: "0",
    },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const inst = { port, proc };
  // Ready = listening and its records schema migrated (before that, claims fall back to process memory).
  const t0 = Date.now();
  for (;;) {
    try {
      const h = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { records: { ready: boolean } };
      if (h.records.ready) return inst;
    } catch {
      // not listening yet
    }
    if (Date.now() - t0 > 20000) throw new Error(`relay on ${port} never became ready`);
    await Bun.sleep(50);
  }
}

function voice(port: number, callId: string, state: string): Promise<string> {
  const body = `sessionId=${callId}&callerNumber=%2B254700000001&destinationNumber=%2B254700000002&callSessionState=${state}`;
  return fetch(`http://127.0.0.1:${port}/voice`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", "x-sautikit-signature": signBody(SECRET, body) },
    body,
  }).then((r) => r.text());
}

beforeAll(async () => {
  // Started together: both run the migrations at once.
  sqliteInstances.push(...(await Promise.all([start(`sqlite://${sqliteFile}`), start(`sqlite://${sqliteFile}`)])));
  if (PG_URL === undefined) return;
  db = await freshDatabase();
  instances.push(...(await Promise.all([start(db.url), start(db.url)])));
}, 40000);

afterAll(async () => {
  for (const i of [...instances, ...sqliteInstances]) {
    i.proc.kill("SIGTERM");
    await i.proc.exited;
  }
  await db?.drop();
  removeSqlite(sqliteFile);
});

async function exactlyOneStream(a: Instance, b: Instance, prefix: string): Promise<void> {
  for (let i = 0; i < 10; i++) {
    const id = `${prefix}_${i}`;
    const answers = await Promise.all([voice(a.port, id, "Ringing"), voice(b.port, id, "Ringing"), voice(i % 2 ? a.port : b.port, id, "Ringing")]);
    expect(answers.filter((x) => x.includes("<Stream"))).toHaveLength(1);
    expect(answers.filter((x) => x.includes("<Response/>"))).toHaveLength(2);
    // Later state changes, on either instance, never stream again.
    for (const port of [a.port, b.port]) expect(await voice(port, id, "Answered")).toContain("<Response/>");
  }
}

describe("two relay processes, one SQLite file (one host)", () => {
  test("the same call id's webhook, posted to both at once, is answered with exactly one <Stream>", async () => {
    const [a, b] = sqliteInstances as [Instance, Instance];
    await exactlyOneStream(a, b, "HD_lite");
  }, 30000);
});

describe("two relay processes, one PostgreSQL database", () => {
  pgTest("the same call id's webhook, posted to both at once, is answered with exactly one <Stream>", async () => {
    const [a, b] = instances as [Instance, Instance];
    await exactlyOneStream(a, b, "HD_two");
  }, 30000);

  pgTest("both migrated one schema: the first webhook's row is visible to the other instance's API", async () => {
    const [a, b] = instances as [Instance, Instance];
    expect(await voice(a.port, "HD_two_api", "Ringing")).toContain("<Stream");
    const res = await fetch(`http://127.0.0.1:${b.port}/api/calls/HD_two_api`);
    expect(res.status).toBe(200);
    // A loopback viewer without ADMIN_TOKEN sees the last 3 digits (src/phone-numbers.ts).
    expect(await res.json()).toMatchObject({ id: "HD_two_api", caller: "…001", callee: "…002", agent: "default" });
  }, 20000);
});
