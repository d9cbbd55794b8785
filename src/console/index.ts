// The web console: pages bundled from src/console/web by Bun's HTML imports (docs/bun.md#html-imports), so the
// same `bun build --compile` puts them in the binary; the API they use; the softphone's socket upgrade.
import type { CallParties } from "../call/agent.ts";
import type { CallManager } from "../call/manager.ts";
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import { consoleApi, SOFTPHONE_PATH } from "./api.ts";
import { ConsoleHub } from "./hub.ts";
import { SoftphoneTickets, type Claim } from "./softphone.ts";
import callsPage from "./web/calls.html";
import campaignsPage from "./web/campaigns.html";
import softphonePage from "./web/softphone.html";
import toolsPage from "./web/tools.html";

export { SOFTPHONE_PATH };

export interface Console {
  /** For Bun.serve's `routes`: the pages and, through them, their bundled scripts and styles. */
  routes: { [path: string]: Bun.HTMLBundle };
  api: ReturnType<typeof consoleApi>;
  hub: ConsoleHub;
  /** Checks a softphone socket's ticket (single use). */
  claim(callId: string, token: string): Claim;
  /** The parties of a softphone call whose socket just opened (see CallManager.startCall's `known`). */
  opened(callId: string): CallParties | undefined;
  stop(): void;
}

export function createConsole(d: { config: Config; log: Logger; calls: CallManager }): Console {
  const hub = new ConsoleHub(d.calls);
  const tickets = new SoftphoneTickets();
  return {
    routes: {
      "/console": softphonePage,
      "/console/": softphonePage,
      "/console/calls": callsPage,
      "/console/tools": toolsPage,
      "/console/campaigns": campaignsPage,
    },
    api: consoleApi({ config: d.config, log: d.log, calls: d.calls, hub, tickets }),
    hub,
    claim: (callId, token) => tickets.claim(callId, token),
    opened: (callId) => tickets.take(callId),
    stop: () => hub.stop(),
  };
}

