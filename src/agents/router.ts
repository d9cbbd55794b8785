// Which agent answers a dialed number: an exact E.164 match, else the default agent (the one without numbers),
// else nobody (the webhook then answers with the fallback message).
import type { Agent, AgentRouter, RoutedAgent } from "../call/agent.ts";
import { toE164 } from "../phone-numbers.ts";

export class NumberRouter implements AgentRouter {
  private readonly byNumber = new Map<string, Agent>();
  readonly default: Agent | undefined;
  readonly agents: readonly Agent[];

  constructor(private readonly entries: readonly RoutedAgent[]) {
    this.agents = entries.map((e) => e.agent);
    this.default = entries.find((e) => e.numbers === null)?.agent;
    for (const e of entries) for (const n of e.numbers ?? []) this.byNumber.set(n, e.agent);
  }

  route(callee: string): Agent | undefined {
    const n = toE164(callee);
    return (n !== undefined ? this.byNumber.get(n) : undefined) ?? this.default;
  }

  list(): RoutedAgent[] {
    return this.entries.map((e) => ({ agent: e.agent, numbers: e.numbers === null ? null : [...e.numbers] }));
  }
}
