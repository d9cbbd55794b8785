// Gemini as a ModelLeg provider: one LiveSession per call, built from the call's agent (its plan, agent-plan.ts)
// and the Gemini settings.
import type { LegContext, ModelLegFactory } from "../call/model-leg.ts";
import { openingText } from "../call/opening.ts";
import type { GeminiSettings } from "../config.ts";
import { agentPlan, agentSetupParams } from "./agent-plan.ts";
import { LiveSession } from "./session.ts";

/** Where Live sessions go: Google's endpoint with a key, or the offline echo model on loopback. */
export interface GeminiEndpoint {
  url: string;
  /** The v1alpha endpoint, for 2.5 sessions with affective dialog or proactive audio (GeminiSettings.alphaUrl);
   *  unset: every session dials `url` (offline mode). */
  alphaUrl?: string | undefined;
  apiKey: string;
  /** "offline" when running against the in-process echo model. */
  label: string;
}

export function geminiLegFactory(settings: GeminiSettings, endpoint: GeminiEndpoint): ModelLegFactory {
  return (ctx: LegContext) => {
    const a = ctx.agent;
    const plan = agentPlan(a, settings);
    return new LiveSession({
      ...agentSetupParams(a, settings),
      url: plan.alpha && endpoint.alphaUrl !== undefined ? endpoint.alphaUrl : endpoint.url,
      apiKey: endpoint.apiKey,
      // The greeting, led by the recording notice on a recorded call.
      greeting: openingText(a),
      scheduling: plan.scheduling,
      setupTimeoutMs: settings.setupTimeoutMs,
      rotation: settings.rotation,
      maxReconnects: settings.maxReconnects,
      log: ctx.log,
    });
  };
}
