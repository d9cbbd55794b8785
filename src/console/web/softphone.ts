// The softphone page: pick an agent, Call, talk, Hang up. Counters are on window.__sauti for tests.
import { api, askForToken, Unauthorized, withAuth } from "./api.ts";
import { Softphone, type PhoneStats } from "./phone.ts";
import { byId, duration, h, setLevel, showMode } from "./ui.ts";

declare global {
  interface Window {
    __sauti: PhoneStats;
  }
}

interface AgentInfo {
  name: string;
  model: string;
  voice: string;
  tools: string[];
  /** The numbers it answers; null for the default agent (every other number). */
  numbers: string[] | null;
}

/** "sales · +254711000002, +254711000003 · tools: lookup_order" */
function agentLabel(a: AgentInfo): string {
  const parts = [a.name, a.numbers === null ? "default (any other number)" : a.numbers.join(", ")];
  if (a.tools.length > 0) parts.push(`tools: ${a.tools.join(", ")}`);
  return parts.join(" · ");
}

const select = byId<HTMLSelectElement>("agent");
const button = byId<HTMLButtonElement>("call");
const status = byId("status");
const counters = byId("counters");
const txBar = byId("tx-meter");
const rxBar = byId("rx-meter");

let agentCount = 0;
const phone = new Softphone(render);
window.__sauti = phone.stats;

function render(): void {
  const s = phone.stats;
  const busy = s.state === "starting" || s.state === "in-call";
  button.textContent = busy ? "Hang up" : "Call";
  button.classList.toggle("hangup", busy);
  button.disabled = !busy && agentCount === 0;
  select.disabled = busy || agentCount === 0;
  status.dataset.state = s.state;
  switch (s.state) {
    case "idle":
      status.textContent = "Pick an agent and press Call.";
      break;
    case "starting":
      status.textContent = `Calling ${s.agent ?? "the agent"}…`;
      break;
    case "in-call":
      status.textContent = `In a call with ${s.agent} · ${duration(s.startedAt === undefined ? 0 : Date.now() - s.startedAt)}`;
      break;
    case "ended":
      status.textContent = `Call ended: ${s.detail}.`;
      break;
    case "failed":
      status.textContent = `Could not call: ${s.detail}.`;
      break;
  }
}

/** Meters and counters follow the audio at display rate, not per frame. */
function tick(): void {
  const s = phone.stats;
  setLevel(txBar, s.txLevel);
  setLevel(rxBar, s.rxLevel);
  if (s.state === "in-call") {
    render();
    counters.replaceChildren(
      h("span", {}, `sent ${(s.txBytes / 1024).toFixed(0)} KB`),
      h("span", {}, `received ${(s.rxBytes / 1024).toFixed(0)} KB`),
      h("span", {}, `playback buffer ${Math.round(s.playbackBufferedMs)} ms`),
      h("span", {}, `${s.contextRate / 1000} kHz ↔ ${s.inputRate / 1000}/${s.outputRate / 1000} kHz`),
    );
  }
  requestAnimationFrame(tick);
}

function call(): void {
  phone.call(select.value).catch(async (err: unknown) => {
    // Other failures are in the status line. A refused token: ask for it, then call again (submitting the
    // token form is a user gesture too, so the audio context may start).
    if (!(err instanceof Unauthorized)) return;
    await askForToken(err.reason);
    call();
  });
}

button.addEventListener("click", () => {
  const s = phone.stats;
  if (s.state === "starting" || s.state === "in-call") return phone.hangup();
  call();
});

async function loadAgents(): Promise<void> {
  const r = await withAuth(() => api<{ agents: AgentInfo[] }>("/api/softphone/agents"));
  const agents = r.body.agents ?? [];
  select.replaceChildren(...agents.map((a) => h("option", { value: a.name }, agentLabel(a))));
  agentCount = agents.length;
  render();
  if (agents.length === 0) status.textContent = "This relay has no agent to call.";
}

void showMode().then((model) => {
  byId("offline").hidden = model !== "offline";
});
void loadAgents().catch((err: unknown) => {
  status.textContent = `Could not load the agents: ${err instanceof Error ? err.message : String(err)}`;
});
requestAnimationFrame(tick);
