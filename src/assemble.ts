// Wires one relay from its settings: the model provider's leg factory, the agents, the call manager, metrics,
// readiness, call admission and the server. main.ts and the tests assemble the relay the same way; main.ts adds the drain.
import { CallAdmission } from "./admission/admission.ts";
import { SeenCalls } from "./admission/seen-calls.ts";
import { agentRouter } from "./agents/index.ts";
import { AnalysisWorker } from "./analysis/worker.ts";
import type { AgentRouter } from "./call/agent.ts";
import { CallManager } from "./call/manager.ts";
import type { Config } from "./config.ts";
import { geminiAgentCheck, geminiLegFactory, type GeminiEndpoint } from "./gemini/index.ts";
import { HandoffService } from "./handoff/desk.ts";
import type { Logger } from "./log.ts";
import { watchCalls } from "./metrics/call-metrics.ts";
import { httpCounters, metricsHandler } from "./metrics/http.ts";
import { measureLegStarts } from "./metrics/legs.ts";
import { LoopLagSampler } from "./metrics/loop-lag.ts";
import { RelayMetrics } from "./metrics/registry.ts";
import { ModelHealth } from "./ops/model-health.ts";
import { Readiness } from "./ops/readiness.ts";
import { Recordings } from "./recordings/index.ts";
import { Outbound } from "./outbound/index.ts";
import type { Clock } from "./outbound/clock.ts";
import { Records } from "./records/index.ts";
import { startRelay, type Relay } from "./server.ts";

export interface Assembled {
  calls: CallManager;
  relay: Relay;
  metrics: RelayMetrics;
  /** Reasons not to take new calls; starts with "modelFailing". main.ts adds "draining". */
  readiness: Readiness;
  records: Records;
  /** The handoff tool's desk (notifications, a person on the line). */
  handoffs: HandoffService;
  /** Post-call analyses, queued with the ended writes of agents that have `analysis`. */
  analysis: AnalysisWorker;
  /** Which calls this instance answers; the drain closes it before the exit. */
  admission: CallAdmission;
  recordings: Recordings;
  /** Outbound calls and campaigns; main.ts stops its dialing at the first signal. */
  outbound: Outbound;
}

/** What tests may replace: the outbound module's clock (and whether its loop runs by itself). */
export interface AssembleOptions {
  clock?: Clock;
  /** false: the outbound loop is not started (a test drives it with runOnce()). */
  outboundLoop?: boolean;
}

/** Without a router, the agents come from the settings (AGENTS_FILE or the default agent); may throw AgentsFileError. */
export function assemble(config: Config, endpoint: GeminiEndpoint, log: Logger, router?: AgentRouter, o: AssembleOptions = {}): Assembled {
  const metrics = new RelayMetrics();
  const modelHealth = new ModelHealth();
  const legs = measureLegStarts(geminiLegFactory(config.gemini, endpoint), (outcome, seconds) => {
    metrics.modelSessions.inc({ outcome });
    if (outcome === "ok") metrics.modelSetup.observe(seconds);
    if (outcome !== "abandoned") modelHealth.record(outcome === "ok");
  });
  // The records say whether a call still exists after its recording was uploaded (deleted meanwhile: delete it).
  let records: Records | undefined;
  const recordings = new Recordings({
    settings: config.recordings,
    callRate: config.callSampleRate,
    log,
    known: async (id) => (records?.store.isReady ? (await records.store.getRecording(id)) !== undefined : undefined),
  });
  const calls = new CallManager({
    settings: config,
    legs,
    router: router ?? agentRouter(config, process.env, geminiAgentCheck(config.gemini, log)),
    prewarm: config.prewarm,
    prewarmWaitMs: config.prewarmWaitMs,
    prewarmIdleMs: config.prewarmIdleMs,
    pacerPhases: config.pacerPhases,
    modelLabel: endpoint.label,
    maxCalls: config.maxCalls,
    recordings: recordings.factory,
    outboundReserve: config.outbound.reserveCalls,
    log,
  });
  watchCalls(metrics, calls);
  const readiness = new Readiness().add("modelFailing", () => modelHealth.failing).add("atCapacity", () => calls.atCapacity);
  const lag = new LoopLagSampler((s) => metrics.eventLoopLag.observe(s));
  lag.start();
  records = new Records(config, calls, log, recordings);
  recordings.start();
  const handoffs = new HandoffService({
    outbox: records.deliveries,
    record: (op) => records.recorder.push(op),
    events: calls.events,
    supervision: config.sautikitApiKey === undefined ? undefined : { apiUrl: config.sautikitApiUrl, apiKey: config.sautikitApiKey },
    pollMs: config.handoff.supervisionPollMs,
    publicUrl: () => config.publicUrl,
    log: log.child({ component: "handoff" }),
  });
  calls.handoffs = handoffs;
  const analysis = new AnalysisWorker({
    store: records.store,
    settings: config.analysis,
    apiKey: config.gemini.apiKey,
    webhook: config.records.webhook !== undefined,
    log: log.child({ component: "analysis" }),
    onSettled: () => records.deliveries?.kick(0),
  });
  records.onEnded(() => analysis.kick(0));
  analysis.start();
  const admission = new CallAdmission({
    store: records.store,
    seen: new SeenCalls(config.seenCallsMax, config.seenCallsTtlS * 1000),
    capacity: calls,
  });
  const outbound = new Outbound({
    config,
    store: records.store.outbound,
    storeReady: () => records.store.isReady,
    calls,
    admission,
    registry: metrics.registry,
    log,
    callRecord: (id) => records.store.getCall(id),
    clock: o.clock,
    supervisionEvent: (ids) => handoffs.live.hint(ids),
  });
  const relay = startRelay(config, log, calls, endpoint.label, records, admission, {
    counters: httpCounters(metrics),
    readiness,
    metrics: metricsHandler(metrics, config.metricsToken),
    claims: records.streamClaims,
    handoffs,
    analysis,
    outbound: { placed: outbound.dialer, routes: (guard, refusals) => outbound.routes(guard, refusals) },
  });
  if (o.outboundLoop !== false) outbound.start();
  const stopServer = relay.stop;
  relay.stop = async () => {
    lag.stop();
    handoffs.stop();
    await outbound.stop();
    // Before the records close: an analysis cut short here is taken again by the next start.
    await analysis.stop();
    await stopServer();
  };
  return { calls, relay, metrics, readiness, records, handoffs, analysis, admission, recordings, outbound };
}
