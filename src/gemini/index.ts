// The Gemini Live leg as the rest of the relay sees it: a ModelLeg factory, and the offline echo agent.
export { LiveSession, type LiveSessionOptions } from "./session.ts";
export type { LiveState } from "./rotator.ts";
export { geminiLegFactory, type GeminiEndpoint } from "./leg.ts";
export { startOfflineModel } from "./offline/server.ts";
export { agentPlan, agentSetupParams, geminiAgentCheck, type AgentPlan } from "./agent-plan.ts";
