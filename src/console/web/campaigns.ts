// The campaigns page: a campaign from a CSV, previewed first (the first rows, the variables found, the rows that
// would be refused and why, numbers merged), then created; the list of campaigns with their progress by outcome;
// one campaign's counts as they change, pause/resume/cancel, its contacts with links to their call records, and
// results.csv. Everything through the admin API (GET/POST /api/campaigns…).
import { api, download, sendRaw, withAuth } from "./api.ts";
import { byId, h, outcomeText, showMode, when } from "./ui.ts";

interface AgentInfo {
  name: string;
  outbound: { from: string; variables: string[] } | null;
}

interface RowProblem {
  row: number;
  line?: number;
  column: string;
  error: string;
}

interface Preview {
  contacts: number;
  variables: string[];
  required: string[];
  first: Array<{ row: number; to: string; variables: Record<string, string> }>;
  refused: RowProblem[];
  merged: Array<{ to: string; rows: number[] }>;
}

interface Counts {
  states: Record<string, number>;
  outcomes: Record<string, number>;
}

interface Campaign {
  id: string;
  name: string;
  agent: string;
  state: string;
  contacts: number;
  maxConcurrent: number;
  createdAt: string;
  counts?: Counts;
}

interface ContactRow {
  row: number;
  seq: number;
  to: string;
  state: string;
  attempts: number;
  lastOutcome: string | null;
  outcome: string | null;
  nextAt: string | null;
  callIds: string[];
}

const present = (...els: Array<Node | string | null>): Array<Node | string> => els.filter((e): e is Node | string => e !== null);

const ORDER = ["completed", "voicemail", "no_answer", "busy", "failed", "opted_out", "cancelled", "expired"];

const form = byId<HTMLFormElement>("form");
const agentSel = byId<HTMLSelectElement>("agent");
const csv = byId<HTMLTextAreaElement>("csv");
const createBtn = byId<HTMLButtonElement>("create");
const previewOut = byId("preview-out");
const listBody = byId<HTMLTableElement>("list").tBodies[0]!;
const detailEl = byId("campaign");
const field = (id: string) => byId<HTMLInputElement>(id).value.trim();

let shown: string | undefined;
let poll: ReturnType<typeof setTimeout> | undefined;

/** The form's settings as the API's query parameters (the CSV is the body). */
function query(): string {
  const q = new URLSearchParams({
    name: field("name"),
    agent: agentSel.value,
    maxConcurrent: field("max"),
    "window.days": field("days"),
    "window.from": field("from"),
    "window.to": field("to"),
    "window.timezone": field("timezone"),
    "retry.attempts": field("attempts"),
    "retry.backoffS": field("backoff"),
  });
  return q.toString();
}

function problemsTable(rows: RowProblem[]): HTMLElement {
  return h(
    "div",
    { class: "scroll" },
    h(
      "table",
      { id: "refused" },
      h("thead", {}, h("tr", {}, h("th", {}, "Row"), h("th", {}, "Line"), h("th", {}, "Column"), h("th", {}, "Why"))),
      h("tbody", {}, ...rows.map((p) => h("tr", { class: "refused" }, h("td", {}, p.row), h("td", {}, p.line ?? "–"), h("td", {}, p.column), h("td", {}, p.error)))),
    ),
  );
}

function showPreview(p: Preview): void {
  previewOut.hidden = false;
  const cols = p.variables;
  previewOut.replaceChildren(
    ...present(
    h("h2", {}, "Preview"),
    h("p", { id: "preview-summary" }, `${p.contacts} contact(s) to call`, p.refused.length > 0 ? h("strong", { class: "error" }, ` · ${p.refused.length} row(s) refused`) : null, p.merged.length > 0 ? ` · ${p.merged.length} number(s) given twice, merged` : null),
    h("p", { class: "muted" }, `Variables found: ${cols.join(", ") || "none"}. The agent needs: ${p.required.join(", ") || "none"}.`),
    h(
      "div",
      { class: "scroll" },
      h(
        "table",
        { id: "first-rows" },
        h("thead", {}, h("tr", {}, h("th", {}, "Row"), h("th", {}, "To"), ...cols.map((c) => h("th", {}, c)))),
        h("tbody", {}, ...p.first.map((r) => h("tr", {}, h("td", {}, r.row), h("td", {}, r.to), ...cols.map((c) => h("td", {}, r.variables[c] ?? ""))))),
      ),
    ),
    p.refused.length > 0 ? h("h2", {}, "Rows that would be refused") : null,
    p.refused.length > 0 ? problemsTable(p.refused) : null,
    p.merged.length > 0 ? h("p", { class: "muted", id: "merged" }, "Merged: ", p.merged.map((m) => `${m.to} (rows ${m.rows.join(", ")})`).join("; ")) : null,
    ),
  );
  createBtn.disabled = p.contacts === 0 || p.refused.length > 0;
  createBtn.textContent = "Create and start";
}

function showError(body: { error?: string; field?: string; refused?: RowProblem[] }): void {
  previewOut.hidden = false;
  previewOut.replaceChildren(
    ...present(
      h("p", { class: "error", id: "form-error" }, body.field ? `${body.field}: ` : "", body.error ?? "refused"),
      body.refused !== undefined && body.refused.length > 0 ? problemsTable(body.refused) : null,
    ),
  );
  createBtn.disabled = true;
}

async function preview(): Promise<void> {
  const r = await withAuth(() => sendRaw<Preview & { error?: string; field?: string }>(`/api/campaigns/preview?${query()}`, csv.value, "text/csv"));
  if (r.status === 200) showPreview(r.body);
  else showError(r.body);
}

async function create(): Promise<void> {
  const r = await withAuth(() => sendRaw<Campaign & { error?: string; field?: string; refused?: RowProblem[] }>(`/api/campaigns?${query()}`, csv.value, "text/csv"));
  if (r.status !== 201) return showError(r.body);
  previewOut.hidden = true;
  createBtn.disabled = true;
  await loadList();
  open(r.body.id);
}

function bar(c: Counts | undefined, total: number): HTMLElement {
  const el = h("div", { class: "progress" });
  if (c === undefined || total === 0) return el;
  const dialing = c.states.dialing ?? 0;
  for (const o of ORDER) {
    const n = c.outcomes[o] ?? 0;
    if (n > 0) el.append(h("span", { class: `o-${o}`, style: `width:${(100 * n) / total}%`, title: `${outcomeText(o)}: ${n}` }));
  }
  if (dialing > 0) el.append(h("span", { class: "o-dialing", style: `width:${(100 * dialing) / total}%`, title: `dialing: ${dialing}` }));
  return el;
}

async function loadList(): Promise<void> {
  const r = await withAuth(() => api<{ campaigns: Campaign[] }>("/api/campaigns"));
  const list = r.body.campaigns ?? [];
  // The list shows each campaign's counts too (a few campaigns: one request each).
  const withCounts = await Promise.all(list.map(async (c) => (await api<Campaign>(`/api/campaigns/${c.id}`)).body));
  listBody.replaceChildren(
    ...withCounts.map((c) => {
      const row = h("tr", { "data-campaign-id": c.id, "data-state": c.state, "aria-selected": String(shown === c.id) }, h("td", {}, c.name), h("td", {}, c.agent), h("td", {}, c.state), h("td", { class: "num" }, c.contacts), h("td", {}, bar(c.counts, c.contacts)));
      row.addEventListener("click", () => open(c.id));
      return row;
    }),
  );
  if (list.length === 0) listBody.append(h("tr", { class: "empty" }, h("td", { colspan: "5" }, "No campaigns yet.")));
}

function open(id: string): void {
  location.hash = `campaign=${encodeURIComponent(id)}`;
}

async function showCampaign(id: string): Promise<void> {
  clearTimeout(poll);
  shown = id;
  const r = await withAuth(() => api<Campaign>(`/api/campaigns/${encodeURIComponent(id)}`));
  if (shown !== id) return;
  if (r.status !== 200) {
    detailEl.hidden = false;
    detailEl.replaceChildren(h("p", { class: "muted" }, `No campaign ${id}.`));
    return;
  }
  const c = r.body;
  const counts = c.counts ?? { states: {}, outcomes: {} };
  const contacts = await api<{ contacts: ContactRow[]; next: number | null }>(`/api/campaigns/${encodeURIComponent(id)}/contacts?limit=200`);
  const act = (what: "pause" | "resume" | "cancel", label: string, enabled: boolean) => {
    const b = h("button", { type: "button", class: "secondary", id: `do-${what}` }, label);
    b.disabled = !enabled;
    b.addEventListener("click", async () => {
      await withAuth(() => api(`/api/campaigns/${encodeURIComponent(id)}/${what}`, { method: "POST", body: {} }));
      await showCampaign(id);
      await loadList();
    });
    return b;
  };
  const results = h("button", { type: "button", class: "secondary", id: "results" }, "results.csv");
  results.addEventListener("click", () => void withAuth(() => download(`/api/campaigns/${encodeURIComponent(id)}/results.csv`, `${id}-results.csv`)));
  detailEl.hidden = false;
  detailEl.dataset.campaignId = id;
  detailEl.dataset.state = c.state;
  detailEl.replaceChildren(
    ...present(
    h("h2", {}, c.name),
    h("p", { class: "muted" }, `${c.agent} · ${c.contacts} contacts · at most ${c.maxConcurrent} at once · created ${when(c.createdAt)} · `, h("strong", { id: "campaign-state" }, c.state)),
    bar(counts, c.contacts),
    h(
      "div",
      { class: "legend", id: "counts" },
      h("span", { "data-count": "pending" }, `pending ${counts.states.pending ?? 0}`),
      h("span", { "data-count": "dialing" }, h("i", { class: "o-dialing" }), `dialing ${counts.states.dialing ?? 0}`),
      ...ORDER.map((o) => h("span", { "data-count": o }, h("i", { class: `o-${o}` }), `${outcomeText(o)} ${counts.outcomes[o] ?? 0}`)),
    ),
    h(
      "p",
      { class: "buttons" },
      act("pause", "Pause", c.state === "running" || c.state === "scheduled"),
      " ",
      act("resume", "Resume", c.state === "paused"),
      " ",
      act("cancel", "Cancel", c.state === "running" || c.state === "scheduled" || c.state === "paused"),
      " ",
      results,
    ),
    h(
      "div",
      { class: "scroll" },
      h(
        "table",
        { id: "contacts" },
        h("thead", {}, h("tr", {}, h("th", {}, "Row"), h("th", {}, "To"), h("th", {}, "State"), h("th", { class: "num" }, "Attempts"), h("th", {}, "Outcome"), h("th", {}, "Calls"))),
        h(
          "tbody",
          {},
          ...(contacts.body.contacts ?? []).map((k) =>
            h(
              "tr",
              { "data-row": String(k.row), "data-state": k.state, "data-outcome": k.outcome ?? k.lastOutcome ?? undefined },
              h("td", {}, k.row),
              h("td", {}, k.to),
              h("td", {}, k.state === "pending" && k.nextAt !== null ? `pending (next ${when(k.nextAt)})` : k.state),
              h("td", { class: "num" }, k.attempts),
              h("td", {}, outcomeText(k.outcome ?? k.lastOutcome)),
              h("td", {}, ...k.callIds.map((cid, i) => h("a", { href: `/console/calls#call=${encodeURIComponent(cid)}`, class: "call-link" }, `${i > 0 ? " " : ""}call ${i + 1}`))),
            ),
          ),
        ),
      ),
    ),
    contacts.body.next !== null ? h("p", { class: "muted" }, "The first 200 contacts; results.csv has them all.") : null,
    ),
  );
  for (const r of listBody.rows) r.setAttribute("aria-selected", String(r.dataset.campaignId === id));
  // Progress as it happens: while the campaign can still change.
  if (c.state === "running" || c.state === "scheduled" || (counts.states.dialing ?? 0) > 0) {
    poll = setTimeout(() => {
      if (shown === id) void showCampaign(id).then(loadList);
    }, 2000);
  }
}

function selected(): string | undefined {
  const m = /^#campaign=(.+)$/.exec(location.hash);
  return m ? decodeURIComponent(m[1]!) : undefined;
}

async function loadAgents(): Promise<void> {
  const r = await withAuth(() => api<{ agents: AgentInfo[] }>("/api/softphone/agents"));
  const agents = (r.body.agents ?? []).filter((a) => a.outbound !== null);
  agentSel.replaceChildren(...agents.map((a) => h("option", { value: a.name }, `${a.name} (from ${a.outbound!.from}${a.outbound!.variables.length > 0 ? `; needs ${a.outbound!.variables.join(", ")}` : ""})`)));
  if (agents.length === 0) agentSel.replaceChildren(h("option", { value: "" }, "No agent has outbound.from in the agents file"));
}

byId<HTMLInputElement>("file").addEventListener("change", async (e) => {
  const f = (e.target as HTMLInputElement).files?.[0];
  if (f !== undefined) csv.value = await f.text();
  createBtn.disabled = true;
});
csv.addEventListener("input", () => (createBtn.disabled = true));
byId("preview").addEventListener("click", () => void preview());
form.addEventListener("submit", (e) => {
  e.preventDefault();
  void create();
});
window.addEventListener("hashchange", () => {
  const id = selected();
  if (id !== undefined) void showCampaign(id);
});

void showMode();
void loadAgents();
void loadList().then(() => {
  const id = selected();
  if (id !== undefined) void showCampaign(id);
});
