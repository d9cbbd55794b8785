// The Gemini Live leg: what the call layer imports.
export { LiveSession, type LiveEvents, type LiveSessionOptions, type LiveState, type RotationOrder } from "./session.ts";
export { ToolRegistry, toolError, type ToolHandler } from "./tools.ts";
export { buildSetup, modelFamily, type ModelFamily, type ModelTuning } from "./setup.ts";
export type { FunctionDeclaration } from "./protocol.ts";
export { CODE_CONNECT_TIMEOUT, CODE_SETUP_TIMEOUT } from "./connection.ts";
export { StandinServer, type StandinOptions, type StandinSession } from "./standin/server.ts";
export { startOfflineStandin } from "./standin/offline.ts";
