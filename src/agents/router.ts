// Which agent answers a dialed number: an exact E.164 match, else the default agent (the one without numbers),
// else nobody (the webhook then answers with the fallback message).
import type { Agent } from "../call/agent.ts";
import type { AgentRouter } from "../call/manager.ts";
import type { RoutedAgent } from "./load.ts";
import { toE164 } from "./numbers.ts";

export class NumberRouter implements AgentRouter {
  private readonly byNumber = new Map<string, Agent>();
  readonly default: Agent | undefined;
  readonly agents: readonly Agent[];

  constructor(entries: readonly RoutedAgent[]) {
    this.agents = entries.map((e) => e.agent);
    this.default = entries.find((e) => e.numbers === undefined)?.agent;
    for (const e of entries) for (const n of e.numbers ?? []) this.byNumber.set(n, e.agent);
  }

  route(callee: string): Agent | undefined {
    const n = toE164(callee);
    return (n !== undefined ? this.byNumber.get(n) : undefined) ?? this.default;
  }
}
