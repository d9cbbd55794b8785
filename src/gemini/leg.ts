// Gemini as a ModelLeg provider: one LiveSession per call, built from the call's agent and the Gemini settings.
import type { LegContext, ModelLegFactory } from "../call/model-leg.ts";
import { openingText } from "../call/opening.ts";
import type { GeminiSettings } from "../config.ts";
import { LiveSession } from "./session.ts";

/** Where Live sessions go: Google's endpoint with a key, or the offline echo model on loopback. */
export interface GeminiEndpoint {
  url: string;
  apiKey: string;
  /** "offline" when running against the in-process echo model. */
  label: string;
}

export function geminiLegFactory(settings: GeminiSettings, endpoint: GeminiEndpoint): ModelLegFactory {
  return (ctx: LegContext) =>
    new LiveSession({
      url: endpoint.url,
      apiKey: endpoint.apiKey,
      model: ctx.agent.model,
      voice: ctx.agent.voice,
      prompt: ctx.agent.prompt,
      // The greeting, led by the recording notice on a recorded call.
      greeting: openingText(ctx.agent),
      tools: ctx.agent.tools.map((t) => t.declaration),
      setupTimeoutMs: settings.setupTimeoutMs,
      rotation: settings.rotation,
      maxReconnects: settings.maxReconnects,
      tuning: settings.tuning,
      log: ctx.log,
    });
}
