// A relay process SIGKILLed in the middle of a campaign, some originate requests still unanswered and some calls
// ringing, then started again on the same database: it takes the attempts over when their leases run out, sends
// the unanswered requests again with their Idempotency-Key (Sautikit answers with the call it placed: nobody is
// dialed twice), learns the ringing calls' outcomes by asking, and finishes the campaign: no contact forgotten.
import { SQL } from "bun";
import { afterEach, expect, test } from "bun:test";
import { agentsFile, cleanupAgentFiles } from "../relay/fixtures.ts";
import { freePort, PROCESS_SECRET, spawnRelay } from "../support/relay-process.ts";
import { StandinServer } from "../support/gemini-spy.ts";
import { fakeSautikitRest, type CalleeScript } from "../support/sautikit-rest.ts";
import { removeSqlite, scratchSqliteFile } from "../support/scratch-db.ts";
import { until } from "../support/wait.ts";
import { API_KEY, OUTBOUND_AGENTS } from "./support.ts";

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
  cleanupAgentFiles();
});

const ADMIN = "durability-admin-token";
const number = (i: number) => `+2547150000${String(i).padStart(2, "0")}`;

test("SIGKILL mid-campaign, then a restart: every contact dialed once per attempt, none forgotten, ringing calls settled by polling", async () => {
  const script = (to: string): CalleeScript => (Number(to.slice(-2)) % 2 === 0 ? { kind: "no_answer", ringMs: 700 } : { kind: "busy", ringMs: 300, event: true });
  const rest = fakeSautikitRest({ apiKey: API_KEY, webhookSecret: PROCESS_SECRET, eventsSecret: PROCESS_SECRET, script });
  cleanup.push(() => rest.stop());
  const file = scratchSqliteFile("durability");
  cleanup.push(() => removeSqlite(file));
  const port = await freePort();
  const env = {
    AGENTS_FILE: agentsFile(OUTBOUND_AGENTS),
    DATABASE_URL: `sqlite://${file}`,
    SAUTIKIT_API_URL: rest.url,
    SAUTIKIT_API_KEY: API_KEY,
    ADMIN_TOKEN: ADMIN,
    OUTBOUND_RING_TIMEOUT_S: "1",
    OUTBOUND_LEASE_S: "2",
    SAUTIKIT_REQUEST_TIMEOUT_MS: "5000",
  };
  rest.options.eventsUrl = `http://127.0.0.1:${port}/sautikit/events`;
  const auth = { authorization: `Bearer ${ADMIN}` };

  // Originate requests are slow: the kill comes while some are unanswered.
  rest.slowMs = 1500;
  const first = await spawnRelay(env, { cleanup, port });
  for (let i = 0; i < 200 && !((await (await fetch(`${first.base}/healthz`)).json()) as { records: { ready: boolean } }).records.ready; i++) await Bun.sleep(25);
  const created = await fetch(`${first.base}/api/campaigns`, {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify({
      name: "durable",
      agent: "reminders",
      contacts: Array.from({ length: 12 }, (_, i) => ({ to: number(i), variables: { name: `N${i}`, time: "10:00" } })),
      maxConcurrent: 3,
      retry: { attempts: 2, backoffS: 1, on: ["no_answer", "busy"] },
    }),
  });
  expect(created.status).toBe(201);
  const id = ((await created.json()) as { id: string }).id;
  // Some calls placed and ringing, and requests in flight: now.
  await until(() => rest.calls.length >= 2 && rest.originates.some((r) => r.status === 0), "calls ringing and a request unanswered", 20000);
  first.kill("SIGKILL");
  await first.proc.exited;
  const killedAt = rest.originates.length;
  const placedBefore = rest.calls.map((c) => c.clientRequestId);
  rest.slowMs = 0;

  const second = await spawnRelay(env, { cleanup, port });
  let state = "";
  const t0 = Date.now();
  while (state !== "done") {
    if (Date.now() - t0 > 60000) throw new Error(`the campaign did not finish after the restart: ${second.err()}`);
    await Bun.sleep(200);
    const c = await fetch(`${second.base}/api/campaigns/${id}`, { headers: auth });
    state = ((await c.json()) as { state: string }).state;
  }
  const counts = ((await (await fetch(`${second.base}/api/campaigns/${id}`, { headers: auth })).json()) as { counts: { states: Record<string, number>; outcomes: Record<string, number> } }).counts;
  expect(counts.states).toEqual({ pending: 0, dialing: 0, done: 12 });
  expect(counts.outcomes.no_answer! + counts.outcomes.busy!).toBe(12);

  const sql = new SQL(`sqlite://${file}`);
  cleanup.push(() => sql.close());
  const rows = (await sql`SELECT id, to_number, attempt_no, outcome, sautikit_status FROM outbound_attempts`) as Array<{ id: string; to_number: string; attempt_no: number; outcome: string | null; sautikit_status: string | null }>;
  expect(rows).toHaveLength(24);
  expect(rows.every((r) => r.outcome !== null)).toBe(true);
  // One call per attempt: none dialed twice, none forgotten.
  expect(rest.calls.map((c) => c.clientRequestId).sort()).toEqual(rows.map((r) => r.id).sort());
  for (let i = 0; i < 12; i++) expect(rest.calls.filter((c) => c.to === number(i))).toHaveLength(2);
  // A request unanswered at the kill was sent again by the new process with the same key, and answered as a repeat.
  expect(rest.originates.slice(killedAt).some((r) => r.repeat)).toBe(true);
  // Calls ringing at the kill (no event for them): their outcome came from asking Sautikit after the restart.
  const ringing = rest.calls.filter((c) => placedBefore.includes(c.clientRequestId) && c.script.kind === "no_answer");
  expect(ringing.length).toBeGreaterThan(0);
  for (const c of ringing) {
    expect(rest.statusChecks).toContain(c.callId);
    expect(rows.find((r) => r.id === c.clientRequestId)).toMatchObject({ outcome: "no_answer", sautikit_status: "no_answer" });
  }
  const log = second.lines();
  expect(log.some((l) => l.msg === "outbound: took over an attempt its instance stopped following")).toBe(true);
}, 120000);

test("SIGTERM stops the dialing at once while a call in progress finishes: no contact is claimed after it", async () => {
  const standin = new StandinServer({ mode: "tone", speechRms: 30000 });
  const liveUrl = await standin.start();
  cleanup.push(() => standin.stop());
  const rest = fakeSautikitRest({
    apiKey: API_KEY,
    webhookSecret: PROCESS_SECRET,
    eventsSecret: PROCESS_SECRET,
    script: (to) => (to === number(0) ? { kind: "answer", helloMs: 200, hangUpAfterMs: 3000 } : { kind: "busy", ringMs: 100, event: true }),
  });
  cleanup.push(() => rest.stop());
  const file = scratchSqliteFile("drain");
  cleanup.push(() => removeSqlite(file));
  const port = await freePort();
  rest.options.eventsUrl = `http://127.0.0.1:${port}/sautikit/events`;
  const relay = await spawnRelay(
    { AGENTS_FILE: agentsFile(OUTBOUND_AGENTS), DATABASE_URL: `sqlite://${file}`, SAUTIKIT_API_URL: rest.url, SAUTIKIT_API_KEY: API_KEY, ADMIN_TOKEN: ADMIN, GEMINI_LIVE_URL: liveUrl },
    { cleanup, port },
  );
  for (let i = 0; i < 200 && !((await (await fetch(`${relay.base}/healthz`)).json()) as { records: { ready: boolean } }).records.ready; i++) await Bun.sleep(25);
  const res = await fetch(`${relay.base}/api/campaigns`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "d", agent: "surveys", contacts: Array.from({ length: 8 }, (_, i) => ({ to: number(i) })), maxConcurrent: 2, retry: { attempts: 1 } }),
  });
  expect(res.status).toBe(201);
  await until(() => (rest.calls[0]?.sentMs ?? 0) > 200 && rest.calls.length >= 2, "the answered call is up", 20000);
  relay.kill("SIGTERM");
  const atSignal = rest.originates.length;
  // The drain waits for the call in progress (its callee hangs up after 3 s); busy contacts keep coming free meanwhile.
  expect(await relay.proc.exited).toBe(0);
  expect(rest.calls[0]!.status).toBe("completed");
  expect(rest.originates.length).toBe(atSignal);
  expect(atSignal).toBeLessThan(8);
  const sql = new SQL(`sqlite://${file}`);
  cleanup.push(() => sql.close());
  const pending = (await sql`SELECT COUNT(*) AS n FROM campaign_contacts WHERE state = 'pending'`) as Array<{ n: number }>;
  expect(Number(pending[0]!.n)).toBe(8 - atSignal);
}, 60000);
