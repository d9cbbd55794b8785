// Shared pieces of the analysis tests: an ended call written the way the recorder writes one (with its analysis
// queued in the ended write), and a worker on a fake clock against the generateContent stand-in.
import type { AnalysisSpec } from "../../src/call/agent.ts";
import type { AnalysisSettings } from "../../src/config.ts";
import { AnalysisWorker } from "../../src/analysis/worker.ts";
import { Deliveries } from "../../src/records/delivery.ts";
import type { CallRecord, RecordOp } from "../../src/records/record.ts";
import type { RecordStore } from "../../src/records/store.ts";
import { FakeClock } from "../support/fake-clock.ts";
import { GenerateStandin } from "../support/generate-standin.ts";
import { captureLog } from "../support/log.ts";
import { WebhookReceiver, whsecret } from "../support/webhook-receiver.ts";

export const SPEC: AnalysisSpec = {
  summary: true,
  success: "Did the caller confirm the appointment?",
  data: {
    type: "object",
    properties: {
      confirmed: { type: "boolean" },
      new_time: { type: "string", description: "The new time if the caller asked to move it" },
    },
    required: ["confirmed"],
  },
  model: undefined,
};

export const GOOD_ANSWER = {
  summary: "The clinic called to confirm tomorrow's appointment. The caller confirmed and hung up.",
  success: true,
  successReason: "The caller said they will be there.",
  data: { confirmed: true },
};

export const SETTINGS: AnalysisSettings = {
  model: "gemini-flash-latest",
  apiUrl: "http://127.0.0.1:1",
  concurrency: 4,
  timeoutMs: 30000,
  retries: 3,
  backoffMs: 1000,
  schemaForm: "json",
};

/** A whole call, ended, with its analysis queued (spec null: the agent has none). */
/** `at`: a moment ago, so the fake clocks (started at real time after it) find the analysis due. */
export function endedCallOps(id: string, spec: AnalysisSpec | null = SPEC, at = Date.now() - 5000, agent = "clinic"): RecordOp[] {
  return [
    { kind: "started", id, agent, caller: "+254700000001", callee: "+254700000002", source: "phone", at: at - 60000 },
    { kind: "utterance", id, seq: 0, role: "agent", text: "Hello, this is the clinic about your appointment tomorrow at ten.", startMs: 100, endMs: 3000, interrupted: false, heardMs: 2900 },
    { kind: "utterance", id, seq: 1, role: "caller", text: "Yes, I will be there.", startMs: 3500, endMs: 4500, interrupted: false, heardMs: null },
    { kind: "toolCall", id, seq: 0, toolCallId: "fc1", name: "confirm_slot", args: { slot: "10:00" }, atMs: 4600 },
    { kind: "toolResult", id, seq: 0, outcome: "ok", durationMs: 12, result: { status: "ok", confirmed: true }, atMs: 4612 },
    { kind: "utterance", id, seq: 2, role: "agent", text: "Wonderful, we will see you tomorrow and", startMs: 5000, endMs: 6400, interrupted: true, heardMs: 800 },
    {
      kind: "ended",
      id,
      at,
      durationMs: 60000,
      reason: "caller_hangup",
      detail: "caller socket closed (1000)",
      agentTurns: 2,
      bargeIns: 1,
      rejectedTurns: 0,
      firstAudioMs: undefined,
      audio: { framesIn: 3000, framesOut: 2000, underrunMs: 0, discardedMs: 0, droppedMs: 0, overflowMs: 0 },
      model: {},
      usage: { tokens: {}, totalTokens: 0 },
      delivery: undefined,
      analysis: spec === null ? undefined : { agent, spec },
    },
  ];
}

export interface Rig {
  clock: FakeClock;
  standin: GenerateStandin;
  worker: AnalysisWorker;
  deliveries: Deliveries | undefined;
  receiver: WebhookReceiver | undefined;
  lines: string[];
  /** Fires what is due on the fake clock now, then waits for `get` to satisfy `ok` (real time only bounds the wait). */
  until<T>(get: () => Promise<T> | T, ok: (v: T) => boolean, label: string): Promise<T>;
  record(id: string): Promise<CallRecord>;
}

export function analysisRig(
  store: RecordStore,
  defer: (undo: () => unknown) => void,
  o: { settings?: Partial<AnalysisSettings>; apiKey?: string | null; webhook?: boolean } = {},
): Rig {
  const clock = new FakeClock();
  // Standard Webhooks receivers check the timestamp against their own clock: start the fake one at real time.
  clock.t = Date.now();
  const standin = new GenerateStandin("test-key");
  const apiUrl = standin.start();
  defer(() => standin.stop());
  const { log, lines } = captureLog("debug");
  let receiver: WebhookReceiver | undefined;
  let deliveries: Deliveries | undefined;
  if (o.webhook === true) {
    receiver = new WebhookReceiver(whsecret()).up();
    defer(() => receiver!.stop());
    deliveries = new Deliveries(store, { call: { url: receiver.url, secret: receiver.secret, retries: 3, backoffMs: 500, timeoutMs: 5000 }, handoff: undefined }, log, clock);
    defer(() => deliveries!.stop());
  }
  const worker = new AnalysisWorker({
    store,
    settings: { ...SETTINGS, apiUrl, ...o.settings },
    apiKey: o.apiKey === null ? undefined : (o.apiKey ?? "test-key"),
    webhook: deliveries !== undefined,
    log,
    clock,
    onSettled: () => deliveries?.kick(0),
  });
  defer(() => worker.stop());
  const rig: Rig = {
    clock,
    standin,
    worker,
    deliveries,
    receiver,
    lines,
    async until(get, ok, label) {
      const t0 = Date.now();
      for (;;) {
        clock.advance(0);
        const v = await get();
        if (ok(v)) return v;
        if (Date.now() - t0 > 15000) throw new Error(`timed out waiting for: ${label}; last: ${JSON.stringify(v)}`);
        await Bun.sleep(5);
      }
    },
    async record(id) {
      const r = await store.getCall(id);
      if (r === undefined) throw new Error(`no record ${id}`);
      return r;
    },
  };
  return rig;
}
