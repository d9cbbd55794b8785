// The agents file's contract (README "Agents and tools"): field names exactly as users write them. Checked with zod so a
// mistake names its place in the file (`agents[1].tools[0].url`) and what was expected there.
import { z } from "zod";
import { toE164 } from "../phone-numbers.ts";

/** Gemini's rule for function names (docs/gemini-live.md#tools). */
const TOOL_NAME = /^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$/;
/** Same shape GEMINI_MODEL accepts. */
const MODEL_ID = /^(models\/)?[\w.-]+$/;

const seconds = () => z.int({ error: "expected a whole number of seconds, 0 or more" }).min(0).max(86400);

/** A dialed number in E.164 (spaces, dashes, dots and brackets are allowed and dropped). */
const phoneNumber = z
  .string({ error: 'expected a phone number in E.164 form, like "+254711000000"' })
  .refine((n) => toE164(n) !== undefined, { error: 'expected a phone number in E.164 form, like "+254711000000"' });

export const builtinToolSchema = z.strictObject({
  builtin: z.enum(["end_call", "voicemail", "opt_out"], { error: "expected end_call, voicemail or opt_out" }),
  /** Replaces the description the model sees. */
  description: z.string().min(1).optional(),
});

/** Search grounding: the model searches the public web itself (Google runs it; the relay calls nothing). */
export const searchToolSchema = z.strictObject({
  builtin: z.literal("google_search"),
});

/** A BCP-47 tag (`sw`, `sw-KE`, `en-KE`), checked and canonicalised by Intl. */
const languageTag = z
  .string({ error: 'expected a BCP-47 language tag like "sw" or "en-KE"' })
  .refine(
    (t) => {
      try {
        return t.trim() !== "" && Intl.getCanonicalLocales(t).length === 1;
      } catch {
        return false;
      }
    },
    { error: 'expected a BCP-47 language tag like "sw" or "en-KE"' },
  );

const sensitivity = z.enum(["low", "high"], { error: 'expected "low" or "high"' });

export const turnTakingSchema = z.strictObject({
  startSensitivity: sensitivity.optional(),
  endSensitivity: sensitivity.optional(),
  prefixPaddingMs: z.int({ error: "expected milliseconds, from 0 to 2000" }).min(0).max(2000).optional(),
  silenceDurationMs: z.int({ error: "expected milliseconds, from 0 to 10000" }).min(0).max(10000).optional(),
});

export const httpToolSchema = z.strictObject({
  builtin: z.undefined().optional(),
  name: z.string().regex(TOOL_NAME, { error: "expected a function name: a letter or _, then letters, digits, _ . : - (at most 64)" }),
  description: z.string({ error: "expected a description (the model reads it to decide when to call the tool)" }).min(1),
  /** JSON Schema (draft 2020-12) of the arguments object; the model's arguments are checked against all of it. */
  parameters: z
    .looseObject({
      // JSON Schema's type names are lower case (a checker refuses "OBJECT"); Gemini's own form is made from this.
      type: z.literal("object", { error: 'expected "object" (JSON Schema type names are lower case; the arguments are an object)' }),
    })
    .optional(),
  url: z.url({ protocol: /^https?$/, error: "expected an absolute http(s) URL" }),
  headers: z.record(z.string(), z.string({ error: "expected a header value (string)" })).optional(),
  timeoutMs: z.int({ error: "expected milliseconds, from 1 to 60000" }).min(1).max(60000).default(5000),
  behavior: z.enum(["blocking", "non_blocking"], { error: 'expected "blocking" or "non_blocking"' }).optional(),
  scheduling: z.enum(["interrupt", "when_idle", "silent"], { error: 'expected "interrupt", "when_idle" or "silent"' }).optional(),
}).superRefine((t, ctx) => {
  if (t.scheduling !== undefined && t.behavior !== "non_blocking") {
    ctx.addIssue({ code: "custom", path: ["scheduling"], message: "expected only with `behavior: non_blocking` (the model waits for a blocking tool's result anyway)" });
  }
});

/** The handoff tool comes with the agent's `handoff` block; listing it here only changes its description. */
export const handoffToolSchema = z.strictObject({
  builtin: z.literal("handoff"),
  description: z.string().min(1).optional(),
});


/** A JSON Schema of an object (checked in full when the file loads: src/analysis/answer.ts). */
const objectSchema = z.looseObject({
  type: z.string().refine((t) => t.toLowerCase() === "object", { error: 'expected "object" (what is extracted is an object of named values)' }),
});

/** Post-call analysis (README "What came of the call"). */
export const analysisSchema = z
  .strictObject({
    summary: z.boolean().default(true),
    success: z.string().min(1, { error: "expected a yes/no question about the call" }).optional(),
    data: objectSchema.optional(),
    model: z.string().regex(MODEL_ID, { error: "expected a model id like gemini-flash-latest" }).optional(),
  })
  .refine((a) => a.summary || a.success !== undefined || a.data !== undefined, { error: "expected at least one of summary: true, success or data" });

/** Handing a caller to a person (README "Handing a caller to a person"). */
export const handoffSchema = z.strictObject({
  notify: z.strictObject({
    url: z.url({ protocol: /^https?$/, error: "expected an absolute http(s) URL" }),
    headers: z.record(z.string(), z.string({ error: "expected a header value (string)" })).optional(),
  }),
  say: z.string().min(1).optional(),
  live: z
    .strictObject({
      number: phoneNumber,
      after: z.enum(["resume", "end"], { error: 'expected "resume" (the agent takes the call back) or "end"' }).default("resume"),
    })
    .optional(),
  timeoutMs: z.int({ error: "expected milliseconds, from 1000 to 30000" }).min(1000).max(30000).default(8000),
});

/** Placing outbound calls (src/outbound): the number they come from, and how long the agent lets a silent line be. */
export const outboundSchema = z.strictObject({
  from: phoneNumber,
  greetAfterMs: z.int({ error: "expected milliseconds, from 0 to 10000" }).min(0).max(10000).default(1500),
});

/** What an outbound call does when an answering machine takes it. */
export const voicemailSchema = z
  .strictObject({
    action: z.enum(["hangup", "leave_message"], { error: "expected hangup or leave_message" }),
    message: z.string().optional(),
  })
  .superRefine((v, ctx) => {
    if (v.action === "leave_message" && (v.message ?? "").trim() === "") {
      ctx.addIssue({ code: "custom", path: ["message"], message: "expected the message to leave (action leave_message)" });
    }
  });

const toolSchema = z.discriminatedUnion("builtin", [builtinToolSchema, searchToolSchema, handoffToolSchema, httpToolSchema], {
  error: (iss) =>
    iss.code === "invalid_union"
      ? 'expected "builtin: end_call", "builtin: voicemail", "builtin: opt_out", "builtin: google_search", "builtin: handoff" or an HTTP tool (name, description, url)'
      : undefined,
});

export const agentSchema = z
  .strictObject({
    name: z.string().regex(/^[\w.-]{1,64}$/, { error: "expected a name of letters, digits, _ . - (at most 64)" }),
    numbers: z.array(phoneNumber).min(1, { error: "expected at least one number (leave `numbers` out for the default agent)" }).optional(),
    model: z.string().regex(MODEL_ID, { error: "expected a model id like gemini-3.8-live" }).optional(),
    voice: z.string().min(1).optional(),
    prompt: z.string().min(1).optional(),
    promptFile: z.string().min(1).optional(),
    greeting: z.string().optional(),
    maxCallSeconds: seconds().optional(),
    idleSeconds: seconds().optional(),
    /** Record this agent's calls (default RECORD_CALLS). */
    record: z.boolean({ error: "expected true or false" }).optional(),
    /** Said word for word at the start of a recorded call (default RECORDING_NOTICE); "" says nothing. */
    recordingNotice: z.string({ error: "expected the words to say (a string)" }).max(500).optional(),
    turnTaking: turnTakingSchema.optional(),
    /** The language the agent speaks, or a list: that one first, then others its callers mix in. */
    language: z.union([languageTag, z.array(languageTag).min(1, { error: "expected at least one language tag" })]).optional(),
    temperature: z.number({ error: "expected a number from 0 to 2" }).min(0).max(2).optional(),
    outbound: outboundSchema.optional(),
    voicemail: voicemailSchema.optional(),
    tools: z.array(toolSchema).default([]),
    analysis: analysisSchema.optional(),
    handoff: handoffSchema.optional(),
  })
  .superRefine((a, ctx) => {
    if ((a.prompt === undefined) === (a.promptFile === undefined)) {
      ctx.addIssue({ code: "custom", path: ["prompt"], message: "expected exactly one of `prompt` or `promptFile`" });
    }
    const seen = new Set<string>();
    a.tools.forEach((t, i) => {
      const name = t.builtin ?? t.name;
      if (seen.has(name)) ctx.addIssue({ code: "custom", path: ["tools", i], message: `expected a tool name not used twice in this agent (${name})` });
      seen.add(name);
      if (t.builtin === "handoff" && a.handoff === undefined) {
        ctx.addIssue({ code: "custom", path: ["tools", i], message: "expected a `handoff` block on this agent (where the handoff goes)" });
      }
      if (t.builtin === undefined && t.name === "handoff" && a.handoff !== undefined) {
        ctx.addIssue({ code: "custom", path: ["tools", i, "name"], message: "expected another name: `handoff` is the built-in tool this agent's `handoff` block gives it" });
      }
    });
    if (a.voicemail !== undefined && a.outbound === undefined) {
      ctx.addIssue({ code: "custom", path: ["voicemail"], message: "expected `outbound` too (only calls the relay places meet answering machines)" });
    }
  });

export const agentsFileSchema = z
  .strictObject({
    agents: z.array(agentSchema).min(1, { error: "expected at least one agent" }),
  })
  .superRefine((f, ctx) => {
    const names = new Map<string, number>();
    const numbers = new Map<string, number>();
    let defaultAt: number | undefined;
    f.agents.forEach((a, i) => {
      if (names.has(a.name)) ctx.addIssue({ code: "custom", path: ["agents", i, "name"], message: `expected a unique name (agents[${names.get(a.name)}] is also "${a.name}")` });
      names.set(a.name, i);
      // An agent with `outbound` and no numbers only places calls; it is not the default agent.
      if (a.numbers === undefined && a.outbound === undefined) {
        if (defaultAt !== undefined) {
          ctx.addIssue({ code: "custom", path: ["agents", i, "numbers"], message: `expected only one agent without numbers (agents[${defaultAt}] is already the default)` });
        }
        defaultAt ??= i;
      }
      (a.numbers ?? []).forEach((n, j) => {
        const e164 = toE164(n)!;
        const other = numbers.get(e164);
        if (other !== undefined) ctx.addIssue({ code: "custom", path: ["agents", i, "numbers", j], message: `expected a number routed to one agent only (agents[${other}] has it too)` });
        numbers.set(e164, i);
      });
    });
  });

export type AgentsFile = z.infer<typeof agentsFileSchema>;
export type AgentEntry = AgentsFile["agents"][number];
export type ToolEntry = AgentEntry["tools"][number];
export type HttpToolEntry = z.infer<typeof httpToolSchema>;
export type TurnTakingEntry = z.infer<typeof turnTakingSchema>;
export type AnalysisEntry = z.infer<typeof analysisSchema>;
export type HandoffEntry = z.infer<typeof handoffSchema>;
