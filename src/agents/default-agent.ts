// The agent built from the process settings (AGENT_PROMPT, AGENT_GREETING, GEMINI_MODEL, GEMINI_VOICE,
// MAX_CALL_SECONDS, RECORD_CALLS, RECORDING_NOTICE, and the turn-taking, language and temperature defaults): what
// every call gets when no agents file is configured.
import type { Agent } from "../call/agent.ts";
import type { Config } from "../config.ts";

export function defaultAgent(config: Config): Agent {
  return {
    name: "default",
    model: config.gemini.model,
    voice: config.gemini.voice,
    prompt: config.agentPrompt,
    greeting: config.agentGreeting,
    tools: [],
    maxCallSeconds: config.maxCallSeconds,
    idleSeconds: 0,
    record: config.recordings.recordByDefault,
    recordingNotice: config.recordings.notice,
    turnTaking: { ...config.agentTuning.turnTaking },
    languages: config.agentTuning.languages,
    temperature: config.agentTuning.temperature,
    webSearch: false,
  };
}
