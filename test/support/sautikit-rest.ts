// A fake of Sautikit's REST API on loopback: records every hang-up request (POST /v1/calls/{id}/hangup) and
// answers it the way the real API does (200 {"call_id","status":"hung_up"}). `using rest = fakeSautikitRest()`.
export interface Hangup {
  callId: string;
  auth: string | null;
  idempotencyKey: string | null;
  at: number;
}

export interface FakeSautikitRest extends Disposable {
  url: string;
  hangups: Hangup[];
  stop(): void;
}

export function fakeSautikitRest(): FakeSautikitRest {
  const hangups: Hangup[] = [];
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req) {
      const m = /^\/v1\/calls\/([^/]+)\/hangup$/.exec(new URL(req.url).pathname);
      if (req.method !== "POST" || m === null) return Response.json({ error: { code: "not_found", message: "no route" } }, { status: 404 });
      const callId = decodeURIComponent(m[1]!);
      hangups.push({ callId, auth: req.headers.get("authorization"), idempotencyKey: req.headers.get("idempotency-key"), at: performance.now() });
      return Response.json({ call_id: callId, status: "hung_up" });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    hangups,
    stop: () => void server.stop(true),
    [Symbol.dispose]: () => void server.stop(true),
  };
}
