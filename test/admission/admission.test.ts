// Call admission on a real SQLite store shared by two admissions (two instances): the first claim wins across
// both, a repeat is known from memory, a store that is down leaves memory to decide, a released claim can be
// won elsewhere, a started call's claim is never released, and close() wakes whoever waits on it.
import { describe, expect, test } from "bun:test";
import { tmpdir } from "node:os";
import { CallAdmission, type CallClaim, type ClaimStore } from "../../src/admission/admission.ts";
import { SeenCalls } from "../../src/admission/seen-calls.ts";
import { SqlStore } from "../../src/records/store.ts";
import { cleanupAfterEach } from "../support/cleanup.ts";
import { captureLog } from "../support/log.ts";
import { removeSqlite } from "../support/scratch-db.ts";

const defer = cleanupAfterEach();

async function sharedStore(): Promise<SqlStore> {
  const file = `${tmpdir()}/sauti-admission-${process.pid}-${crypto.randomUUID()}.db`;
  defer(() => removeSqlite(file));
  const store = new SqlStore(`sqlite://${file}`, "sqlite", captureLog().log);
  defer(() => store.close());
  await store.ready;
  return store;
}

function admission(store: ClaimStore, capacity = { admit: () => true }): CallAdmission {
  return new CallAdmission({ store, seen: new SeenCalls(100, 60_000), capacity, timeoutMs: 200 });
}

const claim = (id: string): CallClaim => ({ id, agent: "default", caller: "+254700000001", callee: "+254700000002", at: Date.now() });

describe("call admission", () => {
  test("the first claim anywhere wins; a repeat is refused on both instances", async () => {
    const store = await sharedStore();
    const a = admission(store);
    const b = admission(store);
    const { log } = captureLog();
    expect(await a.claim(claim("HD_a1"), log)).toBe(true);
    expect(await a.claim(claim("HD_a1"), log)).toBe(false);
    expect(await b.claim(claim("HD_a1"), log)).toBe(false);
  });

  test("a released claim is won by the other instance; a started call's claim is kept", async () => {
    const store = await sharedStore();
    const a = admission(store);
    const b = admission(store);
    const { log } = captureLog();
    expect(await a.claim(claim("HD_rel"), log)).toBe(true);
    expect(await a.release("HD_rel", log)).toBe(true);
    expect(await b.claim(claim("HD_rel"), log)).toBe(true);

    expect(await a.claim(claim("HD_started"), log)).toBe(true);
    await store.write([{ kind: "started", id: "HD_started", agent: "default", caller: "", callee: "", source: "phone", at: Date.now() }]);
    expect(await a.release("HD_started", log)).toBe(true);
    expect(await b.claim(claim("HD_started"), log)).toBe(false);
    expect((await store.getCall("HD_started"))?.answeredAt).not.toBeNull();
  });

  test("a store that does not answer: memory decides (a warning says so); a failed release is reported, not thrown", async () => {
    const never: ClaimStore = {
      claim: () => new Promise(() => {}),
      releaseClaim: () => Promise.reject(new Error("connection refused")),
      claimed: () => new Promise(() => {}),
    };
    const a = admission(never);
    const { log, lines } = captureLog();
    expect(await a.claim(claim("HD_down"), log)).toBe(true);
    expect(await a.claim(claim("HD_down"), log)).toBe(false);
    expect(lines.some((l) => l.includes("deciding from this process's memory"))).toBe(true);
    expect(await a.release("HD_down", log)).toBe(false);
    expect(lines.some((l) => l.includes("connection refused"))).toBe(true);
    // Nor does it hold an audio socket up: who the call is for is then unknown.
    expect(await a.claimed("HD_down", log)).toBeUndefined();
    // Released from memory all the same: this process may claim it again.
    expect(await a.claim(claim("HD_down"), log)).toBe(true);
  });

  test("admit() asks the capacity; whileOpen() gives a value, or \"closed\" at once when close() comes first", async () => {
    let room = 1;
    const a = admission(await sharedStore(), { admit: () => room-- > 0 });
    expect(a.admit()).toBe(true);
    expect(a.admit()).toBe(false);
    expect(await a.whileOpen(Promise.resolve("ready"))).toBe("ready");
    const slow = a.whileOpen(Bun.sleep(5000).then(() => "ready"));
    expect(a.closed).toBe(false);
    const t0 = performance.now();
    a.close();
    a.close();
    expect(await slow).toBe("closed");
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(a.closed).toBe(true);
    expect(await a.whileOpen(Promise.resolve("ready"))).toBe("closed");
  });
});
