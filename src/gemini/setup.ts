// Builds the `setup` message per model generation. Each generation rejects fields the others need
// (docs/gemini-live.md#per-model-setup), so the shape is chosen by model id, never by trial and error.
import type { FunctionDeclaration, SetupMessage } from "./protocol.ts";

export type ModelFamily = "3.8" | "3.8-extended-thinking" | "3.1" | "2.5";

/** Unknown ids get the 3.8 shape: it is the current GA default and the most conservative (fewest fields). */
export function modelFamily(model: string): ModelFamily {
  const id = model.replace(/^models\//, "");
  if (/^gemini-3\.8-.*extended-thinking/.test(id)) return "3.8-extended-thinking";
  if (/^gemini-3\.1-/.test(id)) return "3.1";
  if (/^gemini-(live-)?2\.5-/.test(id)) return "2.5";
  return "3.8";
}

/** Optional per-model knobs; each is only emitted for the generation that accepts it. */
export interface ModelTuning {
  /** 3.8-extended-thinking (default LOW) and 3.1 (default MINIMAL); sent upper case, any case accepted here. */
  thinkingLevel?: string;
  /** 2.5 only. */
  thinkingBudget?: number;
  /** 2.5 only (inside generationConfig). */
  affectiveDialog?: boolean;
  /** 2.5 only (top-level `proactivity`). */
  proactiveAudio?: boolean;
}

export interface SetupParams {
  model: string;
  voice: string;
  prompt: string;
  tools?: FunctionDeclaration[];
  /** Resumption handle; absent for a fresh session. */
  handle?: string | undefined;
  tuning?: ModelTuning;
}

// The SDK's ThinkingLevel enum is upper case (docs/gemini-live.md#per-model-setup); the docs' lower-case samples
// rely on the service reading enum names loosely, which a strict proto3 JSON reader does not.
function level(v: string | undefined, fallback: string): string {
  return v === undefined ? fallback : v.toUpperCase();
}

export function buildSetup(p: SetupParams): SetupMessage {
  const family = modelFamily(p.model);
  const t = p.tuning ?? {};
  const setup: SetupMessage["setup"] = {
    model: p.model.startsWith("models/") ? p.model : `models/${p.model}`,
    generationConfig: {
      responseModalities: ["AUDIO"],
      speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName: p.voice } } },
    },
    inputAudioTranscription: {},
    outputAudioTranscription: {},
    // Never {handle: null}: 3.1 closes that with 1007.
    sessionResumption: p.handle ? { handle: p.handle } : {},
    // Calls can run past the 15-minute audio session cap; compression lifts it.
    contextWindowCompression: { triggerTokens: "100000", slidingWindow: { targetTokens: "50000" } },
  };
  if (p.prompt !== "") setup.systemInstruction = { parts: [{ text: p.prompt }] };
  if (p.tools !== undefined && p.tools.length > 0) setup.tools = [{ functionDeclarations: p.tools }];

  switch (family) {
    case "3.8":
      // No thinkingConfig (unsupported), no enableAffectiveDialog (removed), no proactivity (always on; false errors).
      break;
    case "3.8-extended-thinking":
      setup.generationConfig.thinkingConfig = { thinkingLevel: level(t.thinkingLevel, "LOW") };
      break;
    case "3.1":
      // No proactivity / affective dialog: 3.1 closes sessions that carry them.
      setup.generationConfig.thinkingConfig = { thinkingLevel: level(t.thinkingLevel, "MINIMAL") };
      break;
    case "2.5":
      if (t.thinkingBudget !== undefined) setup.generationConfig.thinkingConfig = { thinkingBudget: t.thinkingBudget };
      if (t.affectiveDialog !== undefined) setup.generationConfig.enableAffectiveDialog = t.affectiveDialog;
      if (t.proactiveAudio !== undefined) setup.proactivity = { proactiveAudio: t.proactiveAudio };
      break;
  }
  return { setup };
}
