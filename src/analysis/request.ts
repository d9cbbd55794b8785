// What the model is given about an ended call: the transcript (who said what, which agent turns the caller cut
// off and how much of each they heard), the tool calls with their results, the handoffs, how the call ended and
// the call's variables, as one user turn; the questions as a second part; the answer's schema in generationConfig.
// Phone numbers are not sent: nothing asked about the call needs them.
import type { AnalysisSpec } from "../call/agent.ts";
import type { GenerateContentRequest } from "../gemini/generate.ts";
import { looksLikeNumber } from "../phone-numbers.ts";
import type { CallRecord } from "../records/record.ts";
import { schemaField, type SchemaForm } from "./answer.ts";

export const SYSTEM_INSTRUCTION =
  "You read the record of one phone call between a caller and a voice agent, and report what came of it. " +
  "Use only what the record shows; never guess or invent. Answer with one JSON object that fits the response schema.";

/** A tool result or argument longer than this is cut in the prompt: the gist is enough to judge the call. */
const MAX_TOOL_TEXT = 2000;

const ENDINGS: Record<string, string> = {
  caller_hangup: "the caller hung up",
  agent_end_call: "the agent ended the call",
  max_duration: "the call reached its time limit",
  idle: "nobody spoke for a long time",
  model_failed: "the agent failed",
  media_lost: "the line's audio was lost",
  shutdown: "the service stopped",
  handoff: "a person took the call over and it ended when they left",
};

/** ms from the stream's start → "1:05.2". */
function clock(ms: number): string {
  const t = Math.max(0, ms) / 1000;
  const m = Math.floor(t / 60);
  return `${m}:${(t - m * 60).toFixed(1).padStart(4, "0")}`;
}

function clip(s: string): string {
  return s.length > MAX_TOOL_TEXT ? `${s.slice(0, MAX_TOOL_TEXT)}… (cut)` : s;
}

/** The call's variables as the model may read them: no phone numbers (the caller and callee variables every call
 *  has, or a number an outbound request put in a variable). Records written before variables existed have none. */
export function variablesOf(rec: CallRecord): Record<string, string> {
  const v = rec.variables ?? {};
  return Object.fromEntries(Object.entries(v).filter(([k, x]) => k !== "caller" && k !== "callee" && typeof x === "string" && !looksLikeNumber(x)));
}

/** The record as the text the model reads. */
export function describeCall(rec: CallRecord): string {
  const lines: string[] = ["The call"];
  lines.push(`- agent: ${rec.agent}`);
  lines.push(`- direction: ${rec.direction}`);
  const how = rec.endReason === null ? "not recorded" : `${ENDINGS[rec.endReason] ?? rec.endReason} (${rec.endReason}${rec.endDetail ? `: ${rec.endDetail}` : ""})`;
  lines.push(`- how it ended: ${how}`);
  if (rec.durationMs !== null) lines.push(`- length: ${Math.round(rec.durationMs / 1000)} s`);
  const vars = variablesOf(rec);
  lines.push(`- variables: ${Object.keys(vars).length === 0 ? "none" : JSON.stringify(vars)}`);
  lines.push("");
  lines.push("What happened, in order (times from the start of the call):");
  type Item = { at: number; text: string };
  const items: Item[] = [];
  for (const u of rec.transcript) {
    if (u.role === "agent" && u.interrupted) {
      const heard = u.heardMs === null ? "" : `; the caller heard about ${(u.heardMs / 1000).toFixed(1)} s of it`;
      items.push({ at: u.startMs, text: `[${clock(u.startMs)}] agent (cut off by the caller${heard}; the text is what was generated before the cut): ${u.text}` });
    } else {
      items.push({ at: u.startMs, text: `[${clock(u.startMs)}] ${u.role}: ${u.text}` });
    }
  }
  for (const t of rec.toolCalls) {
    const outcome = t.outcome === null ? "no answer" : t.outcome;
    const result = t.result === null ? "" : ` ${clip(JSON.stringify(t.result))}`;
    items.push({ at: t.atMs, text: `[${clock(t.atMs)}] tool call ${t.name}(${clip(JSON.stringify(t.args))}) → ${outcome}${result}` });
  }
  for (const h of rec.handoffs) {
    const live = h.live === null ? "" : `; a person on the line: ${h.live.state}`;
    items.push({ at: h.atMs, text: `[${clock(h.atMs)}] handed to a person (reason: ${h.reason}; notification ${h.notify.status}${live})` });
  }
  items.sort((a, b) => a.at - b.at);
  if (items.length === 0) lines.push("(nothing was said)");
  for (const i of items) lines.push(i.text);
  return lines.join("\n");
}

/** The questions, one per field the answer carries. */
export function describeQuestions(spec: AnalysisSpec): string {
  const q: string[] = ["Report on the call as JSON:"];
  if (spec.summary) q.push("- summary: two or three sentences on what the call was about and how it ended.");
  if (spec.success !== undefined) {
    q.push(`- success: the answer to "${spec.success}": true for yes, false for no, null when the call does not show it.`);
    q.push("- successReason: one sentence saying why.");
  }
  if (spec.data !== undefined) q.push("- data: the values its schema asks for, as the call gave them; where the call did not give a value, leave it out (or null where the schema allows).");
  return q.join("\n");
}

export function analysisRequest(rec: CallRecord, spec: AnalysisSpec, form: SchemaForm): GenerateContentRequest {
  return {
    systemInstruction: { parts: [{ text: SYSTEM_INSTRUCTION }] },
    contents: [{ role: "user", parts: [{ text: describeCall(rec) }, { text: describeQuestions(spec) }] }],
    generationConfig: { responseMimeType: "application/json", ...schemaField(spec, form) },
  };
}
