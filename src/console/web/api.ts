// Talking to the relay from the console pages. The admin token (when the relay has one) is asked for once, kept
// in sessionStorage (gone when the tab closes) and sent only as an Authorization header, never in a URL, since
// URLs end up in logs. Server-Sent Events are read with fetch for the same reason: EventSource cannot send headers.

import { h } from "./ui.ts";

const TOKEN_KEY = "sauti-admin-token";

export class Unauthorized extends Error {
  constructor(readonly reason: string) {
    super(`unauthorized: ${reason}`);
  }
}

export function token(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(t: string | null): void {
  if (t === null || t === "") sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, t);
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const t = token();
  return t === null ? extra : { ...extra, authorization: `Bearer ${t}` };
}

/** fetch + JSON with the admin header. 401 → Unauthorized; other errors carry the server's message. */
export async function api<T>(path: string, init: { method?: string; body?: unknown; signal?: AbortSignal } = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(path, {
    method: init.method ?? "GET",
    headers: headers(init.body === undefined ? {} : { "content-type": "application/json" }),
    body: init.body === undefined ? null : JSON.stringify(init.body),
    signal: init.signal ?? null,
  });
  if (res.status === 401) {
    const b = (await res.json().catch(() => ({}))) as { reason?: string };
    throw new Unauthorized(b.reason ?? "unauthorized");
  }
  const body = (await res.json().catch(() => ({}))) as T;
  return { status: res.status, body };
}

/** fetch of a binary resource with the admin header (redirects followed). 401 → Unauthorized. */
export async function fetchBytes(path: string): Promise<{ status: number; bytes: ArrayBuffer | undefined; error: string | undefined }> {
  const res = await fetch(path, { headers: headers() });
  if (res.status === 401) throw new Unauthorized(((await res.json().catch(() => ({}))) as { reason?: string }).reason ?? "unauthorized");
  if (!res.ok) return { status: res.status, bytes: undefined, error: ((await res.json().catch(() => ({}))) as { error?: string }).error };
  return { status: res.status, bytes: await res.arrayBuffer(), error: undefined };
}

/** A raw body (a CSV) with its content type; the answer as JSON. 401 → Unauthorized. */
export async function sendRaw<T>(path: string, body: string, contentType: string): Promise<{ status: number; body: T }> {
  const res = await fetch(path, { method: "POST", headers: headers({ "content-type": contentType }), body });
  if (res.status === 401) throw new Unauthorized(((await res.json().catch(() => ({}))) as { reason?: string }).reason ?? "unauthorized");
  return { status: res.status, body: (await res.json().catch(() => ({}))) as T };
}

/** A file from the API (results.csv) saved by the browser: fetched with the admin header, never a URL with the token. */
export async function download(path: string, filename: string): Promise<void> {
  const res = await fetch(path, { headers: headers() });
  if (res.status === 401) throw new Unauthorized(((await res.json().catch(() => ({}))) as { reason?: string }).reason ?? "unauthorized");
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export type SseHandler = (event: string, data: unknown) => void;

/**
 * Reads an event stream until `signal` aborts, reconnecting after a pause when the stream drops (each new
 * connection starts with a fresh snapshot). A 401 ends it with Unauthorized.
 */
export async function subscribe(path: string, on: SseHandler, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    try {
      const res = await fetch(path, { headers: headers({ accept: "text/event-stream" }), signal });
      if (res.status === 401) throw new Unauthorized(((await res.json().catch(() => ({}))) as { reason?: string }).reason ?? "unauthorized");
      if (!res.ok || res.body === null) throw new Error(`event stream: HTTP ${res.status}`);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let cut: number;
        while ((cut = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          let event = "message";
          let data = "";
          for (const line of block.split("\n")) {
            if (line.startsWith("event: ")) event = line.slice(7);
            else if (line.startsWith("data: ")) data += line.slice(6);
          }
          if (data !== "") on(event, JSON.parse(data));
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof Unauthorized) throw err;
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
}

/** The admin-token dialog, the same on every page: built on first use. */
function tokenDialog(): HTMLDialogElement {
  const found = document.getElementById("token-dialog");
  if (found !== null) return found as HTMLDialogElement;
  const dlg = h(
    "dialog",
    { id: "token-dialog" },
    h(
      "form",
      { method: "dialog" },
      h("strong", {}, "Admin token"),
      h("span", { class: "why muted" }),
      h("input", { type: "password", autocomplete: "current-password", placeholder: "ADMIN_TOKEN", "aria-label": "admin token" }),
      h("button", { type: "submit" }, "Continue"),
    ),
  );
  document.body.append(dlg);
  return dlg;
}

/** The question being asked: requests refused meanwhile (a page has several) wait for the same answer. */
let asking: Promise<void> | undefined;

/** Shows the token form when a request was refused; resolves once a token was entered. */
export function askForToken(reason: string): Promise<void> {
  asking ??= ask(reason).finally(() => (asking = undefined));
  return asking;
}

function ask(reason: string): Promise<void> {
  const dlg = tokenDialog();
  const form = dlg.querySelector("form")!;
  const input = dlg.querySelector("input")!;
  const why = dlg.querySelector(".why")!;
  why.textContent =
    reason.startsWith("ADMIN_TOKEN unset")
      ? "This relay has no ADMIN_TOKEN and only answers the console on its own machine. Set ADMIN_TOKEN on the relay and enter it here."
      : reason === "wrong token"
        ? "That token was refused. Enter the relay's ADMIN_TOKEN."
        : "Enter the relay's ADMIN_TOKEN.";
  input.value = "";
  return new Promise((resolve) => {
    form.onsubmit = (e) => {
      e.preventDefault();
      setToken(input.value.trim());
      dlg.close();
      resolve();
    };
    if (!dlg.open) dlg.showModal();
  });
}

/** Runs `fn`, asking for the token and retrying as long as the relay says 401. */
export async function withAuth<T>(fn: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof Unauthorized)) throw err;
      await askForToken(err.reason);
    }
  }
}
