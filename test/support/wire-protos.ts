// Reads a client message the way the Live service does: as proto3 JSON of
// google.ai.generativelanguage.v1beta.BidiGenerateContentClientMessage, from Google's own .proto files (the
// google-proto-files package, the same text as googleapis/googleapis). Anything the protos do not have, a value of
// the wrong type, an enum name they do not list, a deprecated field, a null, or two fields the proto calls mutually
// exclusive is a problem. Why protobufjs: it parses the .proto text at run time and its ProtoJSON reader rejects
// unknown fields by default, so no compiler or generated code is needed (docs/gemini-live.md#wire-check).
import { dirname, join } from "node:path";
import protobuf from "protobufjs";
import protojson from "protobufjs/ext/protojson.js";

export const PROTO_PACKAGE = "google-proto-files";
const PROTO_DIR = dirname(require.resolve(`${PROTO_PACKAGE}/package.json`));
const ENTRY = "google/ai/generativelanguage/v1beta/generative_service.proto";
const PKG = "google.ai.generativelanguage.v1beta";
export const CLIENT_MESSAGE = `${PKG}.BidiGenerateContentClientMessage`;
/** The REST generateContent body (its `model` is the URL path's; docs/gemini-rest.md#wire-check). */
export const GENERATE_CONTENT_REQUEST = `${PKG}.GenerateContentRequest`;

/**
 * Fields the official SDK sends that the published v1beta protos do not have yet. Each is added to the parsed
 * protos with the type the SDK gives it, so its value is still checked; loading fails once the protos gain it.
 */
export interface KnownException {
  /** Message that gets the field. */
  message: string;
  /** proto field name (its JSON name is the lowerCamelCase form). */
  field: string;
  /** A message or enum type name; an enum or message defined here is added next to the field. */
  type: string;
  define?: { enum: Record<string, number> } | { fields: Record<string, string> };
  /** A list field (proto `repeated`). */
  repeated?: boolean;
  source: string;
}

// js-genai at commit 6e9b35c45e21f0d37179a24d29dca01ebed698e6 (v2.18.0, 2026-08-21).
export const KNOWN_EXCEPTIONS: readonly KnownException[] = [
  {
    message: `${PKG}.ThinkingConfig`,
    field: "thinking_level",
    type: "ThinkingLevel",
    // The SDK's string enum; numbers as in google/cloud/aiplatform/v1/content.proto ThinkingConfig.ThinkingLevel.
    define: { enum: { THINKING_LEVEL_UNSPECIFIED: 0, LOW: 1, MEDIUM: 2, HIGH: 3, MINIMAL: 4 } },
    source:
      "googleapis/js-genai src/types.ts:292 (enum ThinkingLevel) and :2884 (ThinkingConfig.thinkingLevel), passed through " +
      "to setup.generationConfig.thinkingConfig by liveConnectConfigToMldev, src/converters/_live_converters.ts:1117",
  },
  {
    message: `${PKG}.GenerationConfig`,
    field: "enable_affective_dialog",
    type: "bool",
    source:
      "googleapis/js-genai src/types.ts:8195 (LiveConnectConfig.enableAffectiveDialog), sent as " +
      "setup.generationConfig.enableAffectiveDialog by src/converters/_live_converters.ts:1128",
  },
  {
    message: `${PKG}.BidiGenerateContentSetup`,
    field: "proactivity",
    type: "ProactivityConfig",
    define: { fields: { proactive_audio: "bool" } },
    source:
      "googleapis/js-genai src/types.ts:8225 (LiveConnectConfig.proactivity) and :7953 (ProactivityConfig.proactiveAudio), " +
      "sent as setup.proactivity by src/converters/_live_converters.ts:1215",
  },
  {
    // The published AudioTranscriptionConfig is an empty message.
    message: `${PKG}.AudioTranscriptionConfig`,
    field: "language_codes",
    type: "string",
    repeated: true,
    source:
      "googleapis/js-genai src/types.ts:3001 (AudioTranscriptionConfig.languageCodes, BCP-47 hints), passed through whole " +
      "as setup.inputAudioTranscription / setup.outputAudioTranscription by src/converters/_live_converters.ts:1172 and :1183",
  },
];

/** Field numbers far above any Google uses, so an added field never collides with a real one. */
const EXCEPTION_FIELD_ID = 90_000;

export function loadProtos(exceptions: readonly KnownException[] = KNOWN_EXCEPTIONS): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => join(PROTO_DIR, target);
  // keepCase: proto field names stay snake_case (JSON names are derived from them); comments carry "DEPRECATED:".
  root.loadSync(ENTRY, { keepCase: true, alternateCommentMode: true });
  exceptions.forEach((x, i) => {
    const t = root.lookupType(x.message);
    if (t.fields[x.field] !== undefined) {
      throw new Error(`${x.message}.${x.field} is in the protos now: remove it from KNOWN_EXCEPTIONS (test/support/wire-protos.ts)`);
    }
    if (x.define !== undefined && "enum" in x.define) t.add(new protobuf.Enum(x.type, x.define.enum));
    if (x.define !== undefined && "fields" in x.define) {
      const m = new protobuf.Type(x.type);
      Object.entries(x.define.fields).forEach(([name, type], j) => m.add(new protobuf.Field(name, j + 1, type, "optional")));
      t.add(m);
    }
    t.add(new protobuf.Field(x.field, EXCEPTION_FIELD_ID + i, x.type, x.repeated === true ? "repeated" : "optional"));
  });
  root.resolveAll();
  return root;
}

function lowerCamel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

function jsonName(f: protobuf.Field): string {
  const explicit = (f.options as Record<string, unknown> | undefined)?.json_name;
  return typeof explicit === "string" ? explicit : lowerCamel(f.name);
}

const DEPRECATED_COMMENT = /(^|\n)\s*DEPRECATED\b/;
/** "This field is mutually exclusive with `parameters`." / "It is mutually exclusive with the voice_config field." */
const EXCLUSIVE_COMMENT = /mutually exclusive with (?:the )?`?(\w+)`?/;

function fieldDeprecated(f: protobuf.Field): boolean {
  return (f.options as Record<string, unknown> | undefined)?.deprecated === true || DEPRECATED_COMMENT.test(f.comment ?? "");
}

function valueDeprecated(e: protobuf.Enum, name: string): boolean {
  return e.valuesOptions?.[name]?.deprecated === true || DEPRECATED_COMMENT.test(e.comments[name] ?? "");
}

type Obj = Record<string, unknown>;

export class WireChecker {
  readonly root: protobuf.Root;
  private readonly client: protobuf.Type;
  private readonly byJson = new Map<protobuf.Type, Map<string, protobuf.Field>>();

  /** `message`: the type every checked text must be (the Live client message unless told). */
  constructor(root = loadProtos(), private readonly message = CLIENT_MESSAGE) {
    this.root = root;
    this.client = root.lookupType(message);
  }

  /** Problems with one client frame (or request body) as sent; empty when the service would take it. */
  check(frame: string): string[] {
    let json: unknown;
    try {
      json = JSON.parse(frame);
    } catch (e) {
      return [`not JSON: ${(e as Error).message}`];
    }
    if (typeof json !== "object" || json === null || Array.isArray(json)) return ["not a JSON object"];
    const problems: string[] = [];
    try {
      protojson.fromJson(this.client, json);
    } catch (e) {
      problems.push((e as Error).message);
    }
    // Every client message is exactly one of setup | clientContent | realtimeInput | toolResponse.
    const kinds = Object.keys(json).length;
    if (this.message === CLIENT_MESSAGE && kinds !== 1) problems.push(`expected exactly one of the message kinds at the top, got ${kinds}`);
    if (problems.length > 0) return problems;
    this.walk(this.client, json as Obj, "", problems);
    return problems;
  }

  private fields(t: protobuf.Type): Map<string, protobuf.Field> {
    let m = this.byJson.get(t);
    if (m === undefined) {
      m = new Map();
      for (const f of t.fieldsArray) {
        m.set(f.name, f);
        m.set(jsonName(f), f);
      }
      this.byJson.set(t, m);
    }
    return m;
  }

  // The message parsed already, so every key names a field and every value has its type: this only adds the
  // rules proto3 JSON itself does not enforce.
  private walk(t: protobuf.Type, json: Obj, path: string, problems: string[]): void {
    const fields = this.fields(t);
    const present = new Set<protobuf.Field>();
    for (const [key, value] of Object.entries(json)) {
      const f = fields.get(key)!;
      const at = path === "" ? key : `${path}.${key}`;
      present.add(f);
      f.resolve();
      if (fieldDeprecated(f)) problems.push(`${at}: deprecated in the proto (${(f.comment ?? "").replace(/\s+/g, " ").trim()})`);
      if (value === null) {
        if (f.type !== "google.protobuf.Value") problems.push(`${at}: null (leave the field out instead)`);
        continue;
      }
      const items = f.map ? Object.entries(value as Obj) : f.repeated ? (value as unknown[]).map((v, i) => [i, v] as const) : [[undefined, value] as const];
      const rt = f.resolvedType;
      for (const [k, v] of items) {
        const sub = k === undefined ? at : typeof k === "number" ? `${at}[${k}]` : `${at}.${k}`;
        if (v === null) {
          if (f.type !== "google.protobuf.Value") problems.push(`${sub}: null (leave it out instead)`);
        } else if (rt instanceof protobuf.Enum) {
          if (typeof v === "string" && valueDeprecated(rt, v)) problems.push(`${sub}: ${v} is deprecated in the proto`);
        } else if (rt instanceof protobuf.Type && !rt.fullName.startsWith(".google.protobuf.")) {
          this.walk(rt, v as Obj, sub, problems);
        }
      }
    }
    for (const f of present) {
      const other = EXCLUSIVE_COMMENT.exec(f.comment ?? "")?.[1];
      const o = other === undefined ? undefined : t.fields[other];
      if (o !== undefined && present.has(o)) problems.push(`${path}: ${jsonName(f)} and ${jsonName(o)} are mutually exclusive in the proto`);
    }
  }
}
