// "Call a phone number" on the softphone page: one outbound test call (POST /api/outbound) with the variables its
// agent needs, followed until it has an outcome, with a link to its call record.
import { api, withAuth } from "./api.ts";
import { byId, h, outcomeText, reasonText } from "./ui.ts";

interface AgentInfo {
  name: string;
  outbound: { from: string; variables: string[] } | null;
}

interface Attempt {
  id: string;
  status: string;
  outcome: string | null;
  endReason: string | null;
  detail: string | null;
  callId: string | null;
  error?: string;
  field?: string;
}

const form = byId<HTMLFormElement>("dial");
const agentSel = byId<HTMLSelectElement>("dial-agent");
const vars = byId("dial-vars");
const status = byId("dial-status");
const button = byId<HTMLButtonElement>("dial-call");
let agents: AgentInfo[] = [];

function renderVars(): void {
  const a = agents.find((x) => x.name === agentSel.value);
  vars.replaceChildren(
    ...(a?.outbound?.variables ?? []).map((n) =>
      h("div", {}, h("label", { for: `var-${n}` }, `{{${n}}}`), h("input", { type: "text", id: `var-${n}`, "data-var": n, autocomplete: "off" })),
    ),
  );
}

function show(a: Attempt): void {
  status.dataset.status = a.status;
  if (a.outcome !== null) status.dataset.outcome = a.outcome;
  const link = a.callId === null ? null : h("a", { href: `/console/calls#call=${encodeURIComponent(a.callId)}`, id: "dial-record" }, "the call's record");
  if (a.status === "done") {
    status.replaceChildren(`Done: ${outcomeText(a.outcome)}`, a.endReason ? ` (${reasonText(a.endReason)})` : "", a.detail && a.outcome !== "completed" ? ` · ${a.detail}` : "", link ? " · " : "", link ?? "");
    button.disabled = false;
    return;
  }
  const what = a.status === "dialing" ? "Placing the call…" : a.status === "ringing" ? "Ringing…" : "In the call";
  status.replaceChildren(what, link ? " · " : "", link ?? "");
}

async function follow(id: string): Promise<void> {
  for (;;) {
    const r = await api<Attempt>(`/api/outbound/${encodeURIComponent(id)}`);
    if (r.status !== 200) return;
    show(r.body);
    if (r.body.status === "done") return;
    await new Promise((res) => setTimeout(res, 1000));
  }
}

form.addEventListener("submit", (e) => {
  e.preventDefault();
  const variables: Record<string, string> = {};
  for (const el of vars.querySelectorAll<HTMLInputElement>("input[data-var]")) variables[el.dataset.var!] = el.value;
  button.disabled = true;
  void withAuth(() => api<Attempt>("/api/outbound", { method: "POST", body: { agent: agentSel.value, to: byId<HTMLInputElement>("dial-to").value, variables } })).then((r) => {
    if (r.status !== 201) {
      status.dataset.status = "refused";
      status.textContent = `Not called: ${r.body.field ? `${r.body.field}: ` : ""}${r.body.error ?? r.status}`;
      button.disabled = false;
      return;
    }
    show(r.body);
    return follow(r.body.id);
  });
});

agentSel.addEventListener("change", renderVars);

void withAuth(() => api<{ agents: AgentInfo[] }>("/api/softphone/agents")).then((r) => {
  agents = (r.body.agents ?? []).filter((a) => a.outbound !== null);
  if (agents.length === 0) {
    byId("dial-card").hidden = true;
    return;
  }
  agentSel.replaceChildren(...agents.map((a) => h("option", { value: a.name }, `${a.name} (from ${a.outbound!.from})`)));
  renderVars();
});
