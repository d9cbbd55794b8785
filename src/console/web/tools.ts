// The tools page: pick an agent and one of its tools, edit the arguments (filled in from the schema), Run, and
// read the outcome, the time taken and the answer exactly as the model would get it (POST /api/console/tools/run).
import { api, withAuth } from "./api.ts";
import { exampleArgs } from "./example-args.ts";
import { byId, h, showMode } from "./ui.ts";

interface ToolInfo {
  name: string;
  description: string | null;
  kind: "http" | "builtin";
  parameters: Record<string, unknown> | null;
  behavior: string | null;
  scheduling: string | null;
  timeoutMs: number;
  url: string | null;
  headerNames: string[];
  signed: boolean;
}

interface AgentTools {
  name: string;
  model: string;
  webSearch: boolean;
  tools: ToolInfo[];
}

interface Trial {
  outcome: "ok" | "error" | "timeout" | "cancelled";
  durationMs: number;
  response: Record<string, unknown>;
  endedCall: boolean;
}

const agentSel = byId<HTMLSelectElement>("agent");
const toolSel = byId<HTMLSelectElement>("tool");
const info = byId("tool-info");
const argsBox = byId<HTMLTextAreaElement>("args");
const runBtn = byId<HTMLButtonElement>("run");
const resetBtn = byId<HTMLButtonElement>("reset");
const outcome = byId("outcome");
const result = byId("result");
const schema = byId("schema");

let agents: AgentTools[] = [];

function current(): { agent: AgentTools; tool: ToolInfo } | undefined {
  const agent = agents.find((a) => a.name === agentSel.value);
  const tool = agent?.tools.find((t) => t.name === toolSel.value);
  return agent && tool ? { agent, tool } : undefined;
}

function describe(t: ToolInfo): string {
  const where = t.kind === "http" ? `POST ${t.url}` : "built in";
  const headers = t.headerNames.length > 0 ? `, headers ${t.headerNames.join(", ")}` : "";
  const mode = t.behavior ? `, ${t.behavior}${t.scheduling ? ` (results ${t.scheduling})` : ""}` : "";
  return `${t.description ?? ""} — ${where}${headers}${t.signed ? ", signed" : ""}, timeout ${t.timeoutMs} ms${mode}`;
}

function showTool(): void {
  const c = current();
  runBtn.disabled = resetBtn.disabled = c === undefined;
  outcome.textContent = "";
  delete outcome.dataset.outcome;
  result.hidden = true;
  if (c === undefined) {
    info.textContent = agents.length === 0 ? "" : "This agent has no tools to try.";
    argsBox.value = "";
    schema.textContent = "";
    return;
  }
  info.textContent = describe(c.tool);
  argsBox.value = JSON.stringify(exampleArgs(c.tool.parameters), null, 2);
  schema.textContent = c.tool.parameters === null ? "(no parameters)" : JSON.stringify(c.tool.parameters, null, 2);
}

function showAgent(): void {
  const a = agents.find((x) => x.name === agentSel.value);
  const tools = a?.tools ?? [];
  toolSel.replaceChildren(...tools.map((t) => h("option", { value: t.name }, t.name)));
  toolSel.disabled = tools.length === 0;
  showTool();
}

async function run(): Promise<void> {
  const c = current();
  if (c === undefined) return;
  let args: unknown;
  try {
    args = JSON.parse(argsBox.value === "" ? "{}" : argsBox.value);
  } catch (err) {
    outcome.dataset.outcome = "invalid";
    outcome.textContent = `Not JSON: ${err instanceof Error ? err.message : String(err)}`;
    return;
  }
  runBtn.disabled = true;
  outcome.dataset.outcome = "running";
  outcome.textContent = `Running ${c.tool.name}…`;
  result.hidden = true;
  try {
    const r = await withAuth(() => api<Trial & { error?: string }>("/api/console/tools/run", { method: "POST", body: { agent: c.agent.name, tool: c.tool.name, args } }));
    if (r.status !== 200) {
      outcome.dataset.outcome = "refused";
      outcome.textContent = `Not run: ${r.body.error ?? `HTTP ${r.status}`}`;
      return;
    }
    const t = r.body;
    outcome.dataset.outcome = t.outcome;
    outcome.textContent = `${t.outcome} in ${t.durationMs} ms${t.endedCall ? " · on a call, this would hang up once the goodbye is heard" : ""}`;
    result.textContent = JSON.stringify(t.response, null, 2);
    result.hidden = false;
  } catch (err) {
    outcome.dataset.outcome = "failed";
    outcome.textContent = `Could not run it: ${err instanceof Error ? err.message : String(err)}`;
  } finally {
    runBtn.disabled = false;
  }
}

async function load(): Promise<void> {
  const r = await withAuth(() => api<{ agents: AgentTools[] }>("/api/console/tools"));
  agents = r.body.agents ?? [];
  agentSel.replaceChildren(...agents.map((a) => h("option", { value: a.name }, `${a.name} (${a.tools.length} tool${a.tools.length === 1 ? "" : "s"}${a.webSearch ? ", web search" : ""})`)));
  agentSel.disabled = agents.length === 0;
  if (agents.length === 0) info.textContent = "This relay has no agents.";
  showAgent();
}

agentSel.addEventListener("change", showAgent);
toolSel.addEventListener("change", showTool);
resetBtn.addEventListener("click", showTool);
runBtn.addEventListener("click", () => void run());
void showMode();
void load().catch((err: unknown) => {
  info.textContent = `Could not load the agents: ${err instanceof Error ? err.message : String(err)}`;
});
