// Small DOM helpers shared by the console pages (no framework: two pages of tables and a few counters).

type Child = Node | string | number | null | undefined | false;

/** Creates an element; `attrs` become attributes (or `dataset` via data-*), children are appended in order. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string | undefined> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) el.setAttribute(k, v);
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(typeof c === "number" ? String(c) : c);
  return el;
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`#${id} missing`);
  return el as T;
}

/** 75_000 → "1:15", 3_700_000 → "1:01:40". */
export function duration(ms: number | null | undefined): string {
  if (ms == null || !Number.isFinite(ms)) return "–";
  const s = Math.max(0, Math.round(ms / 1000));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return hh > 0 ? `${hh}:${String(mm).padStart(2, "0")}:${ss}` : `${mm}:${ss}`;
}

/** A time from the API (ISO string or Unix ms) as local time of day, with the date when it is not today. */
export function when(t: string | number | null | undefined): string {
  if (t == null) return "–";
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return String(t);
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString() : d.toLocaleString();
}

/** A 0..1 level as a bar width; a square root makes quiet speech visible. */
export function setLevel(bar: HTMLElement, level: number): void {
  bar.style.width = `${Math.min(100, Math.round(Math.sqrt(Math.max(0, level)) * 100))}%`;
}

export function meter(small = false): { el: HTMLElement; bar: HTMLElement } {
  const bar = h("span");
  return { el: h("div", { class: small ? "meter small" : "meter" }, bar), bar };
}

const REASONS: Record<string, string> = {
  caller_hangup: "caller hung up",
  agent_end_call: "agent ended the call",
  max_duration: "time limit reached",
  idle: "nobody spoke for a while",
  model_failed: "the agent's model failed",
  media_lost: "audio lost",
  shutdown: "relay stopped",
  no_media: "no audio came (check PUBLIC_URL)",
  lost: "lost (the relay stopped)",
  handoff: "handed to a person, who then left",
  voicemail: "answering machine (voicemail)",
  opted_out: "asked not to be called again",
};

const OUTCOMES: Record<string, string> = {
  completed: "talked",
  voicemail: "voicemail",
  no_answer: "no answer",
  busy: "busy",
  failed: "failed",
  opted_out: "opted out",
  cancelled: "cancelled",
  expired: "expired",
};

/** An outbound attempt's or a campaign contact's outcome, for people. */
export function outcomeText(o: string | null | undefined): string {
  return o == null ? "–" : (OUTCOMES[o] ?? o);
}

export function reasonText(r: string | null | undefined): string {
  return r == null ? "–" : (REASONS[r] ?? r);
}

/** Shows "offline" next to the title when the relay runs the local echo model; returns the model label. */
export async function showMode(): Promise<string | undefined> {
  try {
    const res = await fetch("/healthz");
    const b = (await res.json()) as { model?: string };
    const el = document.getElementById("mode");
    if (el !== null && b.model !== undefined) el.textContent = b.model === "offline" ? "offline mode (echo model)" : `model: ${b.model}`;
    return b.model;
  } catch {
    return undefined;
  }
}
