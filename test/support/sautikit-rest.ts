// A fake of Sautikit's REST API on loopback, answering the way the real API does (docs/sautikit-stream.md):
//   POST   /v1/calls/{id}/hangup       → 200 {"call_id","status":"hung_up"}
//   POST   /v1/calls/{id}/supervision  → 201 the supervision (state "connecting"); 409 calls.supervision_in_progress
//                                        while one is active; 400 on a body the API would refuse
//   PATCH  /v1/calls/{id}/supervision  → the supervision with its new mode; 409 until it is connected
//   DELETE /v1/calls/{id}/supervision  → 204 (idempotent)
//   GET    /v1/calls/{id}/supervision  → {"supervision": the active one | null}
// Every route wants `Authorization: Bearer …` (401 otherwise); errors come as {"error":{code,message,request_id}}.
// The test moves a supervision along (ring, connect, leave, fail) and can make the next POST fail.
// `using rest = fakeSautikitRest()`.
export interface Hangup {
  callId: string;
  auth: string | null;
  idempotencyKey: string | null;
  at: number;
}

export interface SupervisionRequest {
  method: string;
  callId: string;
  body: unknown;
  auth: string | null;
  idempotencyKey: string | null;
}

export type SupervisionState = "connecting" | "ringing" | "connected" | "ended" | "failed";

export interface FakeSupervision {
  supervision_id: string;
  call_id: string;
  session_id: string;
  mode: "listen" | "whisper" | "barge";
  announce: "none" | "agent" | "both";
  supervisor: { type: "client" | "sip" | "phone"; identity?: string; number?: string; label?: string };
  notify_agent: boolean;
  state: SupervisionState;
  connected_at?: string;
  ended_at?: string;
  created_at: string;
}

export interface FakeSautikitRest extends Disposable {
  url: string;
  hangups: Hangup[];
  supervisionRequests: SupervisionRequest[];
  /** The latest supervision of each call (by the id the relay used, the HD_… session id). */
  supervisions: Map<string, FakeSupervision>;
  /** The next POST …/supervision is answered with this error instead. */
  failNextSupervision(status: number, code: string, message?: string): void;
  /** Moves the call's supervision to `state` (connected stamps connected_at; ended/failed stamp ended_at). */
  setSupervision(callId: string, state: SupervisionState): void;
  stop(): void;
}

const active = (s: FakeSupervision | undefined): s is FakeSupervision => s !== undefined && s.state !== "ended" && s.state !== "failed";

function error(status: number, code: string, message: string): Response {
  return Response.json({ error: { code, message, request_id: `req_${crypto.randomUUID().slice(0, 8)}` } }, { status });
}

export function fakeSautikitRest(): FakeSautikitRest {
  const hangups: Hangup[] = [];
  const supervisionRequests: SupervisionRequest[] = [];
  const supervisions = new Map<string, FakeSupervision>();
  let failNext: { status: number; code: string; message: string } | undefined;

  const supervision = async (req: Request, callId: string): Promise<Response> => {
    let body: unknown;
    const text = await req.text();
    try {
      body = text === "" ? undefined : JSON.parse(text);
    } catch {
      return error(400, "invalid_json", "the body is not JSON");
    }
    supervisionRequests.push({ method: req.method, callId, body, auth: req.headers.get("authorization"), idempotencyKey: req.headers.get("idempotency-key") });
    const current = supervisions.get(callId);
    switch (req.method) {
      case "POST": {
        if (failNext !== undefined) {
          const f = failNext;
          failNext = undefined;
          return error(f.status, f.code, f.message);
        }
        const b = body as { mode?: unknown; supervisor?: { type?: unknown; number?: unknown; identity?: unknown }; announce?: unknown; label?: unknown; notify_agent?: unknown } | undefined;
        if (!["listen", "whisper", "barge"].includes(b?.mode as string)) return error(400, "validation_error", "mode must be listen, whisper or barge");
        const sup = b?.supervisor;
        if (sup?.type === "phone") {
          if (typeof sup.number !== "string" || !/^\+[1-9]\d{6,14}$/.test(sup.number)) return error(400, "validation_error", "supervisor.number must be E.164");
        } else if (sup?.type === "client" || sup?.type === "sip") {
          if (typeof sup.identity !== "string" || sup.identity === "") return error(400, "validation_error", "supervisor.identity is required");
        } else return error(400, "validation_error", "supervisor.type must be client, sip or phone");
        if (b?.announce !== undefined && !["none", "agent", "both"].includes(b.announce as string)) return error(400, "validation_error", "announce must be none, agent or both");
        if (typeof b?.label === "string" && b.label.length > 64) return error(400, "validation_error", "label is at most 64 characters");
        if (active(current)) return error(409, "calls.supervision_in_progress", "this call already has a supervisor");
        const s: FakeSupervision = {
          supervision_id: `sup_${crypto.randomUUID().slice(0, 12)}`,
          call_id: crypto.randomUUID(),
          session_id: callId,
          mode: b!.mode as FakeSupervision["mode"],
          announce: (b?.announce as FakeSupervision["announce"]) ?? "none",
          supervisor: { ...(sup as FakeSupervision["supervisor"]), ...(typeof b?.label === "string" ? { label: b.label } : {}) },
          notify_agent: b?.notify_agent === undefined ? true : Boolean(b.notify_agent),
          state: "connecting",
          created_at: new Date().toISOString(),
        };
        supervisions.set(callId, s);
        return Response.json(s, { status: 201 });
      }
      case "PATCH": {
        if (!active(current)) return error(404, "calls.supervision_not_found", "this call has no supervisor");
        if (current.state !== "connected") return error(409, "calls.supervision_not_connected", "the supervisor is still ringing");
        const mode = (body as { mode?: unknown } | undefined)?.mode;
        if (!["listen", "whisper", "barge"].includes(mode as string)) return error(400, "validation_error", "mode must be listen, whisper or barge");
        current.mode = mode as FakeSupervision["mode"];
        return Response.json(current);
      }
      case "DELETE":
        if (active(current)) {
          current.state = "ended";
          current.ended_at = new Date().toISOString();
        }
        return new Response(null, { status: 204 });
      case "GET":
        return Response.json({ supervision: active(current) ? current : null });
      default:
        return error(405, "method_not_allowed", "no such method");
    }
  };

  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req) {
      const path = new URL(req.url).pathname;
      if (!/^Bearer \S+$/.test(req.headers.get("authorization") ?? "")) return error(401, "unauthorized", "missing or malformed API key");
      const sup = /^\/v1\/calls\/([^/]+)\/supervision$/.exec(path);
      if (sup !== null) return supervision(req, decodeURIComponent(sup[1]!));
      const m = /^\/v1\/calls\/([^/]+)\/hangup$/.exec(path);
      if (req.method !== "POST" || m === null) return error(404, "not_found", "no route");
      const callId = decodeURIComponent(m[1]!);
      hangups.push({ callId, auth: req.headers.get("authorization"), idempotencyKey: req.headers.get("idempotency-key"), at: performance.now() });
      return Response.json({ call_id: callId, status: "hung_up" });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    hangups,
    supervisionRequests,
    supervisions,
    failNextSupervision(status, code, message = "refused") {
      failNext = { status, code, message };
    },
    setSupervision(callId, state) {
      const s = supervisions.get(callId);
      if (s === undefined) throw new Error(`no supervision for ${callId}`);
      s.state = state;
      if (state === "connected") s.connected_at = new Date().toISOString();
      if (state === "ended" || state === "failed") s.ended_at = new Date().toISOString();
    },
    stop: () => void server.stop(true),
    [Symbol.dispose]: () => void server.stop(true),
  };
}
