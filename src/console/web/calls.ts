// The calls page: calls in progress with their levels, recent calls, and one call's transcript, which updates
// live while the call runs, with its recording (recording.ts) once the call is over: a line of the transcript
// seeks the recording to where it was said. History comes from the records API (GET /api/calls) and, where the relay has no
// records store, from the console's in-memory list of recently ended calls (GET /api/console/calls).
import { api, subscribe, withAuth, Unauthorized, askForToken } from "./api.ts";
import { recordingView, type RecordingView } from "./recording.ts";
import { byId, duration, h, meter, reasonText, setLevel, showMode, when } from "./ui.ts";

/** A call as both lists send it (the records API and the console's own): null or missing means not known yet. */
interface Summary {
  id: string;
  agent: string;
  caller: string;
  callee: string;
  source: string;
  startedAt: string | number;
  endedAt?: string | number | null;
  durationMs?: number | null;
  endReason?: string | null;
  endDetail?: string | null;
}

interface Line {
  role: "caller" | "agent";
  text: string;
  startMs: number;
  endMs?: number;
  interrupted?: boolean;
  heardMs?: number | null;
  /** What a web search found for this agent turn. */
  grounding?: { queries?: string[]; sources?: Array<{ uri: string; title: string | null }> };
}

/** "searched: …" and the pages an agent turn drew on (links open elsewhere, without a referrer). */
function groundingOf(l: Line): HTMLElement | null {
  const g = l.grounding;
  if (g === undefined) return null;
  const sources = (g.sources ?? []).filter((s) => /^https?:\/\//.test(s.uri));
  return h(
    "div",
    { class: "grounding" },
    (g.queries ?? []).length > 0 ? h("span", {}, `searched: ${g.queries!.join(" · ")}`) : null,
    ...sources.map((s) => h("a", { href: s.uri, target: "_blank", rel: "noopener noreferrer" }, s.title ?? new URL(s.uri).hostname)),
  );
}

interface Tool {
  id?: string;
  name: string;
  args?: unknown;
  atMs?: number;
  outcome?: string;
  durationMs?: number;
  result?: unknown;
}

interface Recording {
  status: "recording" | "ready" | "partial" | "failed";
  durationMs: number;
  bytes: number;
  location: string | null;
  error: string | null;
}

/** The record's `analysis` (README "What came of the call"): done, failed, skipped or pending. */
interface Analysis {
  summary?: string | null;
  success?: boolean | null;
  successReason?: string | null;
  data?: Record<string, unknown> | null;
  model?: string;
  analyzedAt?: string;
  error?: string;
  attempts?: number;
  skipped?: string;
  pending?: boolean;
}

interface Handoff {
  id: string;
  atMs: number;
  reason: string;
  summary: string;
  notify: { status: string; attempts: number; error: string | null };
  live: { number: string; state: string; error: string | null } | null;
}

interface Detail extends Summary {
  live?: boolean;
  recording?: Recording | null;
  transcript?: Line[];
  partial?: { caller?: string; agent?: string };
  toolCalls?: Tool[];
  analysis?: Analysis | null;
  handoffs?: Handoff[];
}

interface Levels {
  calls: Array<{ id: string; in: number; out: number; durationMs: number }>;
}

const liveBody = byId<HTMLTableElement>("live").tBodies[0]!;
const recentBody = byId<HTMLTableElement>("recent").tBodies[0]!;
const detailEl = byId("detail");
const moreButton = byId<HTMLButtonElement>("more");

interface LiveRow {
  row: HTMLTableRowElement;
  dur: HTMLTableCellElement;
  inBar: HTMLElement;
  outBar: HTMLElement;
}

const live = new Map<string, LiveRow>();
const recentIds = new Map<string, HTMLTableRowElement>();
let detail: Detail | undefined;
/** The shown call's player, kept across re-renders so the file is fetched once. */
let player: { id: string; view: RecordingView } | undefined;
let stream: AbortController | undefined;
/** The records API when the relay has one, else the in-memory list. */
let historyBase = "/api/calls";
let next: string | null = null;

function selected(): string | undefined {
  const m = /^#call=(.+)$/.exec(location.hash);
  return m ? decodeURIComponent(m[1]!) : undefined;
}

function open(id: string): void {
  location.hash = `call=${encodeURIComponent(id)}`;
}

// ---------- live table ----------

function emptyRow(body: HTMLTableSectionElement, cols: number, text: string): void {
  if (body.rows.length === 0) body.append(h("tr", { class: "empty" }, h("td", { colspan: String(cols) }, text)));
}

function clearEmpty(body: HTMLTableSectionElement): void {
  for (const r of [...body.rows]) if (r.classList.contains("empty")) r.remove();
}

function addLive(c: Summary): void {
  if (live.has(c.id)) return;
  clearEmpty(liveBody);
  const i = meter(true);
  const o = meter(true);
  const dur = h("td", { class: "num" }, duration(c.durationMs ?? 0));
  const row = h(
    "tr",
    { "data-call-id": c.id, "aria-selected": String(selected() === c.id) },
    h("td", {}, c.agent),
    h("td", {}, c.caller || "–"),
    h("td", { class: "wide" }, c.source),
    dur,
    h("td", { class: "levels" }, h("span", { class: "muted" }, "caller "), i.el, h("span", { class: "muted" }, " agent "), o.el),
  );
  row.addEventListener("click", () => open(c.id));
  liveBody.append(row);
  live.set(c.id, { row, dur, inBar: i.bar, outBar: o.bar });
  liveCount();
}

function removeLive(id: string): void {
  live.get(id)?.row.remove();
  live.delete(id);
  emptyRow(liveBody, 5, "No calls right now.");
  liveCount();
}

function liveCount(): void {
  byId("live-count").textContent = live.size > 0 ? `(${live.size})` : "";
}

// ---------- recent table ----------

function recentRow(c: Summary): HTMLTableRowElement {
  const row = h(
    "tr",
    { "data-call-id": c.id, "data-end-reason": c.endReason ?? undefined, "aria-selected": String(selected() === c.id) },
    h("td", {}, when(c.endedAt)),
    h("td", {}, c.agent),
    h("td", {}, c.caller || "–"),
    h("td", { class: "wide" }, c.source),
    h("td", { class: "num" }, duration(c.durationMs)),
    h("td", {}, h("span", { class: "reason" }, reasonText(c.endReason))),
  );
  row.addEventListener("click", () => open(c.id));
  return row;
}

/** Adds a call to the recent table, or, when it is there already (listed while it was still running), updates it. */
function addRecent(c: Summary, atTop: boolean): void {
  const row = recentRow(c);
  const old = recentIds.get(c.id);
  recentIds.set(c.id, row);
  if (old !== undefined) {
    if (atTop) {
      old.remove();
      recentBody.prepend(row);
    } else old.replaceWith(row);
    return;
  }
  clearEmpty(recentBody);
  if (atTop) recentBody.prepend(row);
  else recentBody.append(row);
}

async function loadHistory(more: boolean): Promise<void> {
  const q = `?limit=20${more && next !== null ? `&before=${encodeURIComponent(next)}` : ""}`;
  let r = await api<{ calls?: Summary[]; next?: string | null }>(historyBase + q);
  if (r.status !== 200 && historyBase === "/api/calls") {
    historyBase = "/api/console/calls";
    byId("history-source").textContent = "(since the relay started; no records store)";
    r = await api(historyBase + q);
  }
  for (const c of r.body.calls ?? []) addRecent(c, false);
  next = r.body.next ?? null;
  moreButton.hidden = next === null;
  emptyRow(recentBody, 6, "No calls yet.");
}

// ---------- one call ----------

function renderDetail(): void {
  const d = detail;
  detailEl.hidden = d === undefined;
  if (d === undefined) return;
  for (const r of document.querySelectorAll<HTMLTableRowElement>("tr[data-call-id]")) r.setAttribute("aria-selected", String(r.dataset.callId === d.id));
  detailEl.dataset.callId = d.id;
  detailEl.dataset.live = String(d.live === true);
  if (d.endReason != null) detailEl.dataset.endReason = d.endReason;
  else delete detailEl.dataset.endReason;

  const rec = recordingOf(d);
  type Item = { at: number; el: HTMLElement };
  const items: Item[] = [];
  for (const l of d.transcript ?? []) {
    const cut =
      l.role === "agent" && l.interrupted
        ? h("span", { class: "cut" }, ` · cut off${typeof l.heardMs === "number" ? ` after ${(l.heardMs / 1000).toFixed(1)} s heard` : ""}`)
        : null;
    const line = h("div", { class: `line ${l.role}`, "data-start-ms": String(Math.round(l.startMs)) }, h("span", { class: "who" }, l.role, cut), l.text, groundingOf(l));
    if (rec.view !== undefined) {
      const view = rec.view;
      line.classList.add("seekable");
      line.title = "Play the recording from here";
      line.addEventListener("click", () => view.seekTo(l.startMs));
    }
    items.push({ at: l.startMs, el: line });
  }
  for (const t of d.toolCalls ?? []) {
    const outcome = t.outcome === undefined ? "running…" : `${t.outcome}${t.durationMs !== undefined ? ` in ${t.durationMs} ms` : ""}`;
    const result = t.result === undefined ? "" : ` → ${JSON.stringify(t.result)}`;
    items.push({ at: t.atMs ?? Number.MAX_SAFE_INTEGER, el: h("div", { class: "tool" }, `⚙ ${t.name}(${JSON.stringify(t.args ?? {})}) · ${outcome}${result}`) });
  }
  for (const ho of d.handoffs ?? []) {
    const person = ho.live === null ? "" : ` · person on the line (${ho.live.number}): ${ho.live.state}${ho.live.error ? ` (${ho.live.error})` : ""}`;
    const notify = `notification ${ho.notify.status}${ho.notify.attempts > 1 ? ` after ${ho.notify.attempts} attempts` : ""}${ho.notify.error && ho.notify.status !== "delivered" ? ` (${ho.notify.error})` : ""}`;
    items.push({ at: ho.atMs, el: h("div", { class: "handoff", "data-handoff-id": ho.id }, `☎ handed to a person: ${ho.reason} · ${notify}${person}`, h("div", { class: "muted" }, ho.summary)) });
  }
  items.sort((a, b) => a.at - b.at);
  for (const role of ["caller", "agent"] as const) {
    const p = d.partial?.[role];
    if (p) items.push({ at: Number.MAX_SAFE_INTEGER, el: h("div", { class: `line ${role} partial` }, h("span", { class: "who" }, `${role} (speaking)`), p) });
  }

  const how = d.live
    ? h("p", { class: "ended-how muted" }, "In progress.")
    : h("p", { class: "ended-how" }, "Ended: ", h("strong", {}, reasonText(d.endReason)), d.endDetail ? h("span", { class: "muted" }, ` (${d.endDetail})`) : null);
  const close = h("button", { type: "button", class: "secondary" }, "Close");
  close.addEventListener("click", () => {
    history.replaceState(null, "", location.pathname);
    select(undefined);
  });
  detailEl.replaceChildren(
    h("h2", {}, `Call with ${d.agent}`),
    h(
      "p",
      { class: "muted" },
      d.source === "browser" ? "From the console's softphone" : `${d.caller || "unknown caller"} → ${d.callee || "–"}`,
      ` · started ${when(d.startedAt)} · `,
      h("span", { id: "detail-duration" }, duration(d.durationMs)),
    ),
    rec.el ?? "",
    h("div", { class: "transcript" }, ...items.map((i) => i.el), items.length === 0 ? h("p", { class: "muted" }, "Nothing said yet.") : null),
    how,
    ...[analysisView(d)].filter((x): x is HTMLElement => x !== null),
    close,
  );
}

/** What the detail shows of the call's recording: the player once the file is complete, else a line saying why not. */
function recordingOf(d: Detail): { el: HTMLElement | null; view: RecordingView | undefined } {
  const r = d.recording;
  if (r === undefined || r === null) return { el: null, view: undefined };
  if (r.status === "recording") return { el: h("p", { class: "muted", id: "recording", "data-state": "recording" }, "Recording… (playable once the call is over)"), view: undefined };
  if (r.location === null) return { el: h("p", { class: "muted", id: "recording", "data-state": "none" }, `No recording: ${r.error ?? "it failed"}`), view: undefined };
  if (player?.id !== d.id) player = { id: d.id, view: recordingView(d.id) };
  const note = r.status === "ready" ? null : h("p", { class: "muted" }, r.status === "partial" ? "The relay stopped during this call: the recording ends early." : `The recording stopped early: ${r.error ?? ""}`);
  return { el: h("div", {}, player.view.el, note), view: player.view };
}

/** While the shown call's analysis is pending, its record is read again this often. */
const ANALYSIS_POLL_MS = 3000;
let analysisPoll: ReturnType<typeof setTimeout> | undefined;

/** What came of the call: the model's summary, the success question's answer and the extracted data. */
function analysisView(d: Detail): HTMLElement | null {
  const a = d.analysis;
  clearTimeout(analysisPoll);
  if (a === undefined || a === null || d.live === true) return null;
  if (a.pending === true) analysisPoll = setTimeout(() => void fetchDetail(d.id), ANALYSIS_POLL_MS);
  const again = h("button", { type: "button", class: "secondary", id: "analyze-again" }, "Analyze again");
  again.addEventListener("click", () => {
    again.disabled = true;
    void api(`/api/calls/${encodeURIComponent(d.id)}/analyze`, { method: "POST" }).then(() => fetchDetail(d.id));
  });
  const body: HTMLElement[] = [];
  if (a.pending === true) body.push(h("p", { class: "muted" }, `Being analysed${a.attempts ? ` (attempt ${a.attempts + 1})` : ""}…`));
  else if (a.skipped !== undefined) body.push(h("p", { class: "muted" }, `Not analysed: ${a.skipped}.`));
  else if (a.error !== undefined) body.push(h("p", { class: "analysis-error" }, `Analysis failed after ${a.attempts ?? 0} attempts: ${a.error}`));
  else {
    if (a.summary != null) body.push(h("p", { class: "analysis-summary" }, a.summary));
    if (a.successReason != null) {
      const verdict = a.success === true ? "yes" : a.success === false ? "no" : "not known";
      body.push(h("p", { class: "analysis-success", "data-success": String(a.success) }, h("strong", {}, `Success: ${verdict}`), ` · ${a.successReason}`));
    }
    if (a.data != null) {
      const rows = Object.entries(a.data).map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, typeof v === "string" ? v : JSON.stringify(v))));
      body.push(h("table", { class: "analysis-data" }, h("tbody", {}, ...rows)));
    }
    body.push(h("p", { class: "muted" }, `${a.model ?? ""} · ${when(a.analyzedAt)}`));
  }
  return h("section", { class: "analysis", "data-state": a.pending ? "pending" : a.skipped !== undefined ? "skipped" : a.error !== undefined ? "failed" : "done" }, h("h3", {}, "What came of the call"), ...body, again);
}

async function fetchDetail(id: string): Promise<void> {
  let r = await api<Detail>(`/api/calls/${encodeURIComponent(id)}`);
  if (r.status !== 200) r = await api<Detail>(`/api/console/calls/${encodeURIComponent(id)}`);
  if (selected() !== id) return;
  if (r.status === 200) detail = { ...r.body, live: r.body.live ?? false };
  else {
    detail = undefined;
    detailEl.hidden = false;
    detailEl.replaceChildren(h("p", { class: "muted" }, `No record of call ${id}.`));
    return;
  }
  renderDetail();
}

// ---------- live updates ----------

function onEvent(event: string, data: unknown): void {
  switch (event) {
    case "snapshot": {
      const s = data as { live: Summary[]; call?: Detail };
      for (const id of [...live.keys()]) removeLive(id);
      for (const c of s.live) addLive(c);
      emptyRow(liveBody, 5, "No calls right now.");
      const id = selected();
      if (s.call !== undefined) {
        detail = s.call;
        renderDetail();
        // The console's memory of an ended call has no recording: the record has (and is the whole story).
        if (s.call.live !== true) void fetchDetail(s.call.id);
      } else if (id !== undefined) void fetchDetail(id);
      return;
    }
    case "started":
      return addLive(data as Summary);
    case "levels":
      for (const l of (data as Levels).calls) {
        const row = live.get(l.id);
        if (row === undefined) continue;
        setLevel(row.inBar, l.in);
        setLevel(row.outBar, l.out);
        row.dur.textContent = duration(l.durationMs);
        if (detail?.id === l.id && detail.live) {
          detail.durationMs = l.durationMs;
          const el = document.getElementById("detail-duration");
          if (el !== null) el.textContent = duration(l.durationMs);
        }
      }
      return;
    case "transcript": {
      const t = data as Line & { callId: string; final: boolean };
      if (detail?.id !== t.callId) return;
      detail.partial ??= {};
      detail.transcript ??= [];
      if (t.final) {
        detail.partial[t.role] = undefined;
        detail.transcript.push(t);
      } else detail.partial[t.role] = t.text;
      return renderDetail();
    }
    case "tool": {
      const { callId, tool } = data as { callId: string; tool: Tool };
      if (detail?.id !== callId) return;
      const list = (detail.toolCalls ??= []);
      const i = list.findIndex((x) => x.id === tool.id);
      if (i >= 0) list[i] = tool;
      else list.push(tool);
      return renderDetail();
    }
    case "ended": {
      const c = data as Summary;
      removeLive(c.id);
      addRecent(c, true);
      if (detail?.id === c.id) {
        detail = { ...detail, ...c, live: false, partial: {} };
        renderDetail();
        // The record (its recording once complete, handoffs, the analysis once queued) is written a moment after the
        // call ends: fetch it again then.
        const id = c.id;
        setTimeout(() => {
          if (selected() === id) void fetchDetail(id);
        }, 1500);
      }
      return;
    }
  }
}

function connect(watch: string | undefined): void {
  stream?.abort();
  const ac = (stream = new AbortController());
  const path = `/api/console/events${watch === undefined ? "" : `?call=${encodeURIComponent(watch)}`}`;
  subscribe(path, onEvent, ac.signal).catch(async (err: unknown) => {
    if (err instanceof Unauthorized && !ac.signal.aborted) {
      await askForToken(err.reason);
      connect(watch);
    }
  });
}

function select(id: string | undefined): void {
  if (id === undefined) {
    detail = undefined;
    renderDetail();
    for (const r of document.querySelectorAll<HTMLTableRowElement>("tr[data-call-id]")) r.setAttribute("aria-selected", "false");
  } else if (detail?.id !== id) {
    detail = undefined;
    detailEl.hidden = true;
  }
  // The watched call's transcript comes with the stream's snapshot, then as it is spoken.
  connect(id);
}

window.addEventListener("hashchange", () => select(selected()));
moreButton.addEventListener("click", () => void loadHistory(true));

void showMode();
void withAuth(() => loadHistory(false)).then(
  () => select(selected()),
  (err: unknown) => {
    recentBody.replaceChildren(h("tr", { class: "empty" }, h("td", { colspan: "6" }, `Could not load calls: ${String(err)}`)));
  },
);
