// Offline mode: run the stand-in in-process so a new user hears the pipeline work without an API key.
// Echo mode: the caller hears their own last utterance back, through the whole relay path.
import type { Logger } from "../../log.ts";
import { StandinServer, type StandinOptions } from "./server.ts";

export async function startOfflineStandin(
  log?: Logger,
  opts: Partial<StandinOptions> = {},
): Promise<{ url: string; server: StandinServer; stop: () => Promise<void> }> {
  const server = new StandinServer({ mode: "echo", log, ...opts });
  const url = await server.start();
  log?.info({ url }, "offline mode: local Live API stand-in (echo) running");
  return { url, server, stop: () => server.stop() };
}
