// Builds the `setup` message per model generation. Each generation rejects fields the others need
// (docs/gemini-live.md#per-model-setup), so the shape is chosen by model id, never by trial and error.
import type { TurnTaking } from "../call/agent.ts";
import type { ModelTuning } from "../config.ts";
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

export type CallMode = "BLOCKING" | "NON_BLOCKING";

/** What a generation does with function calls (docs/gemini-live.md#async-tools). */
export interface CallModes {
  /** What an undeclared `behavior` means. */
  default: CallMode;
  /** The modes it has; a declaration asking for another is sent without `behavior`. */
  modes: readonly CallMode[];
}

export const CALL_MODES: Record<ModelFamily, CallModes> = {
  "3.8": { default: "NON_BLOCKING", modes: ["BLOCKING", "NON_BLOCKING"] },
  "3.8-extended-thinking": { default: "NON_BLOCKING", modes: ["NON_BLOCKING"] },
  "3.1": { default: "BLOCKING", modes: ["BLOCKING"] },
  // The proto's default; 2.5 native audio has async calls too.
  "2.5": { default: "BLOCKING", modes: ["BLOCKING", "NON_BLOCKING"] },
};

/** Only 2.5 native audio has enableAffectiveDialog and proactivity, and Google's guide puts them on v1alpha. */
export function takesAlphaTuning(family: ModelFamily): boolean {
  return family === "2.5";
}

export type { ModelTuning };

export interface SetupParams {
  model: string;
  voice: string;
  prompt: string;
  tools?: FunctionDeclaration[] | undefined;
  /** Adds the googleSearch tool (search grounding). */
  search?: boolean | undefined;
  /** Resumption handle; absent for a fresh session. */
  handle?: string | undefined;
  tuning?: ModelTuning | undefined;
  turnTaking?: TurnTaking | undefined;
  /** BCP-47: the language to speak first, then others callers mix in. */
  languages?: readonly string[] | undefined;
  temperature?: number | undefined;
}

// The SDK's ThinkingLevel enum is upper case (docs/gemini-live.md#per-model-setup); the docs' lower-case samples
// rely on the service reading enum names loosely, which a strict proto3 JSON reader does not.
function level(v: string | undefined, fallback: string): string {
  return v === undefined ? fallback : v.toUpperCase();
}

const names = new Intl.DisplayNames(["en"], { type: "language" });

/** "sw" → "Swahili", "sw-KE" → "Swahili (Kenya)"; a tag Intl has no name for stays as it is. */
function languageName(tag: string): string {
  return names.of(tag) ?? tag;
}

/**
 * Every Live model is native audio, and native-audio models pick the language they speak themselves: they take
 * no speechConfig.languageCode (docs/gemini-live.md#language). The system instruction is where a language goes.
 */
export function languageInstruction(languages: readonly string[]): string {
  const [first, ...others] = languages;
  if (first === undefined) return "";
  const line = `Speak ${languageName(first)}.`;
  if (others.length === 0) return line;
  return `${line} Callers may also speak ${others.map(languageName).join(", ")}, or mix them with ${languageName(first)} in one sentence: understand them, and answer in the language the caller is using.`;
}

/** realtimeInputConfig.automaticActivityDetection from turnTaking, only the fields set; undefined for none. */
function activityDetection(t: TurnTaking | undefined): Record<string, unknown> | undefined {
  if (t === undefined) return undefined;
  const out: Record<string, unknown> = {};
  if (t.startSensitivity !== undefined) out.startOfSpeechSensitivity = t.startSensitivity === "low" ? "START_SENSITIVITY_LOW" : "START_SENSITIVITY_HIGH";
  if (t.endSensitivity !== undefined) out.endOfSpeechSensitivity = t.endSensitivity === "low" ? "END_SENSITIVITY_LOW" : "END_SENSITIVITY_HIGH";
  if (t.prefixPaddingMs !== undefined) out.prefixPaddingMs = t.prefixPaddingMs;
  if (t.silenceDurationMs !== undefined) out.silenceDurationMs = t.silenceDurationMs;
  return Object.keys(out).length === 0 ? undefined : out;
}

export function buildSetup(p: SetupParams): SetupMessage {
  const family = modelFamily(p.model);
  const t = p.tuning ?? {};
  const languages = p.languages ?? [];
  // Transcription hints (BCP-47) for the caller's audio and the agent's: mixed-language callers are transcribed
  // with every language they use in mind.
  const transcription = languages.length > 0 ? { languageCodes: [...languages] } : {};
  const setup: SetupMessage["setup"] = {
    model: p.model.startsWith("models/") ? p.model : `models/${p.model}`,
    generationConfig: {
      responseModalities: ["AUDIO"],
      speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName: p.voice } } },
    },
    inputAudioTranscription: transcription,
    outputAudioTranscription: transcription,
    // Never {handle: null}: 3.1 closes that with 1007.
    sessionResumption: p.handle ? { handle: p.handle } : {},
    // Calls can run past the 15-minute audio session cap; compression lifts it.
    contextWindowCompression: { triggerTokens: "100000", slidingWindow: { targetTokens: "50000" } },
  };
  if (p.temperature !== undefined) setup.generationConfig.temperature = p.temperature;
  const instruction = [p.prompt, languageInstruction(languages)].filter((s) => s !== "").join("\n\n");
  if (instruction !== "") setup.systemInstruction = { parts: [{ text: instruction }] };
  const tools: NonNullable<SetupMessage["setup"]["tools"]> = [];
  if (p.tools !== undefined && p.tools.length > 0) tools.push({ functionDeclarations: p.tools });
  if (p.search === true) tools.push({ googleSearch: {} });
  // No empty `tools`: livekit had to stop sending one for 3.1.
  if (tools.length > 0) setup.tools = tools;
  const vad = activityDetection(p.turnTaking);
  if (vad !== undefined) setup.realtimeInputConfig = { automaticActivityDetection: vad };

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
