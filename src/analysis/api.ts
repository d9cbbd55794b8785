// POST /api/calls/:id/analyze (admin): runs the call's analysis again, with its agent's `analysis` as the agents file
// has it now (so a fixed schema can be tried on old calls). 202 once queued; the record shows it pending, then its
// result, and a new call.analyzed event follows. 404 no such call, 409 not ended or no `analysis` for its agent.
import { Hono, type MiddlewareHandler } from "hono";
import type { AgentRouter } from "../call/agent.ts";
import type { Logger } from "../log.ts";
import { errText, type RecordStore } from "../records/store.ts";
import type { AnalysisWorker } from "./worker.ts";

type Env = { Variables: { admin: "token" | "loopback" } };

export function analysisApi(store: RecordStore, router: () => AgentRouter, worker: AnalysisWorker, guard: MiddlewareHandler<Env>, log: Logger): Hono<Env> {
  const api = new Hono<Env>();
  api.use("*", guard);
  api.post("/calls/:id/analyze", async (c) => {
    const id = c.req.param("id");
    try {
      const rec = await store.getCall(id);
      if (rec === undefined) return c.json({ error: "no such call" }, 404);
      const spec = router().list().find((r) => r.agent.name === rec.agent)?.agent.analysis;
      if (spec === undefined) return c.json({ error: `agent ${JSON.stringify(rec.agent)} has no analysis in the agents file` }, 409);
      const r = await store.requeueAnalysis(id, rec.agent, spec, Date.now());
      if (r === "no_call") return c.json({ error: "no such call" }, 404);
      if (r === "not_ended") return c.json({ error: "the call has not ended yet" }, 409);
      worker.kick(0);
      log.info({ callId: id }, "analysis: queued again through the API");
      return c.json({ analysis: { pending: true, attempts: 0 } }, 202);
    } catch (err) {
      log.warn({ err: errText(err) }, "analysis API: database unavailable");
      return c.json({ error: "records database unavailable" }, 503);
    }
  });
  return api;
}
