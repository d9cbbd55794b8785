// Every metric the relay exposes on GET /metrics, in one prom-client Registry per relay (tests run several relays
// in one process). Names are `sauti_*` in base units (seconds, bytes); the process_* and nodejs_* series are
// prom-client's defaults (CPU, RSS, open fds, heap; docs/operations.md#prom-client-under-bun). Label values are
// bounded sets: agent and tool names from the configuration, fixed enums; never a call id or a phone number
// (call-metrics.ts enforces it; docs/operations.md#exposition-format).
//
// Push-style metrics are fed from call events (call-metrics.ts), the model-leg wrapper (legs.ts) and the HTTP
// counters; pull-style ones read numbers the audio path already keeps (pacer ticks, slab pool) at scrape time.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { SlabPoolStats } from "../audio/pool.ts";
import { LOOP_LAG_SAMPLE_MS } from "./loop-lag.ts";

/** What the scrape-time metrics read. Set by RelayMetrics.watch() once the call manager exists. */
export interface MetricSources {
  /** Agent name of every call in progress (already bounded by the caller). */
  activeAgents(): Iterable<string>;
  pacer(): { ticks: number; lateTicks: number };
  pool(): SlabPoolStats;
}

// Relay-internal latencies are milliseconds; what the caller waits for (the model) is up to seconds.
const FIRST_AUDIO_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1];
const RESPONSE_BUCKETS = [0.1, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 2, 3, 5, 10];
const CALL_BUCKETS = [5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600];
const LOOP_LAG_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1];
const SETUP_BUCKETS = [0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20];
const TOOL_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * A counter that mirrors a monotonic number kept elsewhere: at scrape time it adds what the number grew by since
 * the previous scrape, so the hot path keeps its plain `n++` and the exposed value never goes backwards.
 */
function mirror(registry: Registry, name: string, help: string, read: () => number | undefined): Counter {
  let last = 0;
  return new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const v = read();
      if (v === undefined) return;
      if (v > last) this.inc(v - last);
      last = Math.max(last, v);
    },
  });
}

export class RelayMetrics {
  readonly registry = new Registry();
  private sources: MetricSources | undefined;
  /** Agents that have had a call: their gauge stays at 0 between calls instead of vanishing. */
  private readonly agentsSeen = new Set<string>();

  readonly callsActive: Gauge<"agent">;
  readonly callsTotal: Counter<"agent" | "end_reason">;
  readonly callsRefused: Counter<"reason">;
  readonly callDuration: Histogram;
  readonly firstAudio: Histogram;
  readonly response: Histogram;
  readonly bargeIns: Counter;
  readonly underrunSeconds: Counter;
  readonly eventLoopLag: Histogram;
  readonly modelSessions: Counter<"outcome">;
  readonly modelReconnects: Counter;
  readonly modelRotations: Counter;
  readonly modelSetup: Histogram;
  readonly modelTokens: Counter<"direction" | "modality">;
  readonly toolCalls: Counter<"tool" | "outcome">;
  readonly toolSeconds: Histogram<"tool">;
  readonly webhooks: Counter<"route" | "status">;
  readonly streamUpgrades: Counter<"outcome">;

  constructor() {
    const r = [this.registry];
    // prom-client's event-loop delay monitor samples every 10 ms by default: 100 wake-ups a second, the idle
    // process's largest cost. Our own sampler (LOOP_LAG_SAMPLE_MS) covers lag; its precision here matches it.
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: LOOP_LAG_SAMPLE_MS });
    this.callsActive = new Gauge({
      name: "sauti_calls_active",
      help: "Calls in progress, by agent.",
      labelNames: ["agent"],
      registers: r,
      collect: () => {
        const s = this.sources;
        if (s === undefined) return;
        const g = this.callsActive;
        g.reset();
        const counts = new Map<string, number>();
        for (const a of this.agentsSeen) counts.set(a, 0);
        for (const a of s.activeAgents()) counts.set(a, (counts.get(a) ?? 0) + 1);
        for (const [agent, n] of counts) g.set({ agent }, n);
      },
    });
    this.callsTotal = new Counter({
      name: "sauti_calls_total",
      help: "Calls ended, by agent and end reason.",
      labelNames: ["agent", "end_reason"],
      registers: r,
    });
    this.callsRefused = new Counter({
      name: "sauti_calls_refused_total",
      help: "Webhooks answered with the fallback message and a hang-up: no_agent, at_capacity, no_model.",
      labelNames: ["reason"],
      registers: r,
    });
    this.callDuration = new Histogram({ name: "sauti_call_duration_seconds", help: "Length of ended calls.", buckets: CALL_BUCKETS, registers: r });
    this.firstAudio = new Histogram({
      name: "sauti_first_audio_seconds",
      help: "Model's first audio chunk of a turn to that turn's first frame sent to the caller (the relay's own latency).",
      buckets: FIRST_AUDIO_BUCKETS,
      registers: r,
    });
    this.response = new Histogram({
      name: "sauti_response_seconds",
      help: "End of the caller's speech (energy detector on the uplink) to the first agent frame sent: the wait a caller feels, minus the network.",
      buckets: RESPONSE_BUCKETS,
      registers: r,
    });
    this.bargeIns = new Counter({ name: "sauti_barge_ins_total", help: "Agent turns cut short by the caller talking.", registers: r });
    this.underrunSeconds = new Counter({
      name: "sauti_playout_underrun_seconds_total",
      help: "Time the media server's buffer sat empty in the middle of an agent turn (counted when the call ends).",
      registers: r,
    });
    mirror(this.registry, "sauti_pacer_ticks_total", "Ticks of the 20 ms playout clock.", () => this.sources?.pacer().ticks);
    mirror(
      this.registry,
      "sauti_pacer_late_ticks_total",
      "Playout clock ticks that fired at least one period late (event loop too busy).",
      () => this.sources?.pacer().lateTicks,
    );
    const pool: Gauge<"state"> = new Gauge({
      name: "sauti_audio_pool_slabs",
      help: "Slabs of the playout buffer pool, by state.",
      labelNames: ["state"],
      registers: r,
      collect: () => {
        const p = this.sources?.pool();
        if (p === undefined) return;
        pool.set({ state: "free" }, p.free);
        pool.set({ state: "in_use" }, p.total - p.free);
      },
    });
    mirror(this.registry, "sauti_audio_pool_grown_total", "Slabs allocated because the pool was empty.", () => this.sources?.pool().grown);
    this.eventLoopLag = new Histogram({
      name: "sauti_event_loop_lag_seconds",
      help: "How late a periodic timer fired: time the event loop was busy with other work.",
      buckets: LOOP_LAG_BUCKETS,
      registers: r,
    });
    this.modelSessions = new Counter({
      name: "sauti_model_sessions_total",
      help: "Model sessions opened for calls, by outcome (ok, failed, abandoned = closed before it answered).",
      labelNames: ["outcome"],
      registers: r,
    });
    this.modelReconnects = new Counter({
      name: "sauti_model_reconnects_total",
      help: "Model socket reconnects after unexpected closes (counted when the call ends).",
      registers: r,
    });
    this.modelRotations = new Counter({
      name: "sauti_model_rotations_total",
      help: "Model socket rotations on goAway (counted when the call ends).",
      registers: r,
    });
    this.modelSetup = new Histogram({
      name: "sauti_model_setup_seconds",
      help: "Time to open a model session (connect, setup, setupComplete), successful ones.",
      buckets: SETUP_BUCKETS,
      registers: r,
    });
    this.modelTokens = new Counter({
      name: "sauti_model_tokens_total",
      help: "Tokens the model reported (usageMetadata), by direction and modality.",
      labelNames: ["direction", "modality"],
      registers: r,
    });
    this.toolCalls = new Counter({
      name: "sauti_tool_calls_total",
      help: "Tool calls settled, by tool (unknown = a name the agent does not declare) and outcome.",
      labelNames: ["tool", "outcome"],
      registers: r,
    });
    this.toolSeconds = new Histogram({
      name: "sauti_tool_seconds",
      help: "Tool run time, by tool.",
      labelNames: ["tool"],
      buckets: TOOL_BUCKETS,
      registers: r,
    });
    this.webhooks = new Counter({
      name: "sauti_webhooks_total",
      help: "Webhook requests answered, by route and HTTP status.",
      labelNames: ["route", "status"],
      registers: r,
    });
    this.streamUpgrades = new Counter({
      name: "sauti_stream_upgrades_total",
      help: "Audio socket upgrade requests, by outcome.",
      labelNames: ["outcome"],
      registers: r,
    });
  }

  /** An agent took a call: from now on its active-calls gauge shows, at 0 when it has none. */
  noteAgent(agent: string): void {
    this.agentsSeen.add(agent);
  }

  /** Where the scrape-time metrics read from. */
  watch(sources: MetricSources): void {
    this.sources = sources;
  }

  /** Prometheus text exposition of every metric. */
  expose(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
