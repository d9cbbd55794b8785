// Call events → metrics. An observer on the call manager's event hub, so it runs off the audio path, at turn and
// call boundaries. It also keeps every label value in a bounded set: agent names (configured), tool names the
// call's agent declares (the model may ask for any name; those count as "unknown"), fixed enums. A call id or a
// phone number never becomes a label value.
import { sharedPool } from "../audio/pool.ts";
import type { CallEvent, CallObserver } from "../call/events.ts";
import type { CallManager } from "../call/manager.ts";
import type { RelayMetrics } from "./registry.ts";

/** Distinct agent / tool names kept as label values before the rest count as "other" (a guard, not a quota). */
export const MAX_NAMES = 100;

const DIRECTIONS = new Set(["input", "output"]);
const MODALITIES = new Set(["audio", "text", "image", "video", "document", "thoughts", "tool_use", "unknown"]);

/** A label whose values come from configuration: the first MAX_NAMES distinct values pass, later ones are "other". */
export class BoundedNames {
  private readonly seen = new Set<string>();

  constructor(private readonly max = MAX_NAMES) {}

  label(name: string): string {
    if (this.seen.has(name)) return name;
    if (this.seen.size >= this.max || name === "") return "other";
    this.seen.add(name);
    return name;
  }
}

interface Live {
  agent: string;
  tools: Set<string>;
}

/** The observer that feeds `m` from call events. */
export function callMetricsObserver(m: RelayMetrics, agents: BoundedNames, tools = new BoundedNames()): CallObserver {
  const live = new Map<string, Live>();
  return (e: CallEvent) => {
    switch (e.type) {
      case "started": {
        const agent = agents.label(e.agent);
        m.noteAgent(agent);
        live.set(e.callId, { agent, tools: new Set(e.tools) });
        return;
      }
      case "refused":
        m.callsRefused.inc({ reason: e.reason });
        return;
      case "neverStarted":
        // Answered here with <Stream>, and no socket reached this instance: a call that ended before it began.
        m.callsTotal.inc({ agent: agents.label(e.agent), end_reason: "no_media" });
        return;
      case "turn":
        m.firstAudio.observe(e.firstAudioMs / 1000);
        if (e.responseMs !== undefined) m.response.observe(e.responseMs / 1000);
        return;
      case "bargeIn":
        m.bargeIns.inc();
        return;
      case "toolResult": {
        const declared = live.get(e.callId)?.tools.has(e.name) ?? false;
        const tool = declared ? tools.label(e.name) : "unknown";
        m.toolCalls.inc({ tool, outcome: e.outcome });
        m.toolSeconds.observe({ tool }, e.durationMs / 1000);
        return;
      }
      case "usage":
        for (const [key, n] of Object.entries(e.usage.tokens)) {
          const [dir = "", mod = ""] = key.toLowerCase().split(":");
          const direction = DIRECTIONS.has(dir) ? dir : "other";
          const modality = MODALITIES.has(mod) ? mod : "other";
          if (n > 0) m.modelTokens.inc({ direction, modality }, n);
        }
        return;
      case "ended": {
        const agent = live.get(e.callId)?.agent ?? "unknown";
        live.delete(e.callId);
        m.callsTotal.inc({ agent, end_reason: e.reason });
        m.callDuration.observe(e.durationMs / 1000);
        if (e.audio.underrunMs > 0) m.underrunSeconds.inc(e.audio.underrunMs / 1000);
        const reconnects = e.model.reconnects ?? 0;
        const rotations = e.model.rotations ?? 0;
        if (reconnects > 0) m.modelReconnects.inc(reconnects);
        if (rotations > 0) m.modelRotations.inc(rotations);
        return;
      }
      default:
        return;
    }
  };
}

/** Feeds `m` from `calls`: subscribes the observer and points the scrape-time metrics at the manager. */
export function watchCalls(m: RelayMetrics, calls: CallManager): () => void {
  const agents = new BoundedNames();
  m.watch({
    *activeAgents() {
      for (const c of calls.calls()) yield agents.label(c.info.agent.name);
    },
    pacer: () => calls.pacer,
    pool: () => sharedPool.stats(),
  });
  return calls.events.subscribe(callMetricsObserver(m, agents));
}
