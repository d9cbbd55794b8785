// Recording settings and agent fields: RECORD_CALLS, RECORDING_NOTICE, RECORDINGS_DIR, RECORDINGS_URL with the
// S3_*/AWS_* variables (bad values exit 2 naming them), the agents file's `record` and `recordingNotice`, and the
// opening text that puts the notice before the greeting.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { defaultAgent } from "../../src/agents/default-agent.ts";
import { AgentsFileError, loadAgentsFile } from "../../src/agents/load.ts";
import { openingText } from "../../src/call/opening.ts";
import { ConfigError, loadConfig } from "../../src/config.ts";

const dir = mkdtempSync(join(tmpdir(), "rec-settings-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function refused(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`${JSON.stringify(env)} loaded`);
}

describe("recording settings", () => {
  test("defaults: nothing recorded, the notice, ./data/recordings, no object storage", () => {
    const r = loadConfig({}).recordings;
    expect(r).toEqual({ recordByDefault: false, notice: "This call may be recorded.", dir: resolve("./data/recordings"), s3: undefined });
    expect(loadConfig({ RECORDING_NOTICE: "" }).recordings.notice).toBe("");
    expect(loadConfig({ RECORD_CALLS: "true" }).recordings.recordByDefault).toBe(true);
  });

  test("RECORDINGS_URL: bucket and prefix; S3_* before AWS_*; bad values name their variable", () => {
    const s3 = loadConfig({
      RECORDINGS_URL: "s3://my-bucket/calls/kenya/",
      AWS_ACCESS_KEY_ID: "aws-id",
      S3_ACCESS_KEY_ID: "s3-id",
      AWS_SECRET_ACCESS_KEY: "aws-secret",
      AWS_REGION: "af-south-1",
      S3_ENDPOINT: "https://minio.example.com/",
    }).recordings.s3!;
    expect(s3).toEqual({
      bucket: "my-bucket",
      prefix: "calls/kenya/",
      accessKeyId: "s3-id",
      secretAccessKey: "aws-secret",
      sessionToken: undefined,
      region: "af-south-1",
      endpoint: "https://minio.example.com",
    });
    expect(loadConfig({ RECORDINGS_URL: "s3://bucket" }).recordings.s3!.prefix).toBe("");
    for (const bad of ["https://bucket/x", "s3://", "s3://UPPER/x", "s3://b/../x", "s3://bb/a//b"]) {
      expect(refused({ RECORDINGS_URL: bad }).variable).toBe("RECORDINGS_URL");
    }
    expect(refused({ RECORDINGS_URL: "s3://bucket", S3_ENDPOINT: "minio:9000" }).variable).toBe("S3_ENDPOINT");
    expect(refused({ RECORDINGS_URL: "s3://bucket", AWS_ENDPOINT: "ftp://x" }).variable).toBe("AWS_ENDPOINT");
    expect(refused({ RECORD_CALLS: "sometimes" }).variable).toBe("RECORD_CALLS");
  });

  test("agents: record and recordingNotice per agent, defaults from RECORD_CALLS and RECORDING_NOTICE; wrong types are named", () => {
    const p = join(dir, "agents.yaml");
    writeFileSync(
      p,
      `agents:
  - name: sales
    numbers: ["+254711000001"]
    prompt: Sell.
    record: true
    recordingNotice: "Calls are recorded for training."
  - name: quiet
    numbers: ["+254711000002"]
    prompt: Help.
    record: false
  - name: fallback
    prompt: Help.
`,
    );
    const agents = loadAgentsFile(p, {
      env: {},
      defaults: { model: "m", voice: "v", greeting: "Hi.", maxCallSeconds: 0, record: true, recordingNotice: "We record." },
      toolSigningSecret: undefined,
    }).map((r) => r.agent);
    expect(agents.map((a) => [a.name, a.record, a.recordingNotice])).toEqual([
      ["sales", true, "Calls are recorded for training."],
      ["quiet", false, "We record."],
      ["fallback", true, "We record."],
    ]);
    writeFileSync(p, `agents:\n  - name: x\n    prompt: p\n    record: "yes"\n`);
    try {
      loadAgentsFile(p, { env: {}, defaults: { model: "m", voice: "v", greeting: "", maxCallSeconds: 0 }, toolSigningSecret: undefined });
      throw new Error("loaded");
    } catch (err) {
      expect(err).toBeInstanceOf(AgentsFileError);
      expect((err as AgentsFileError).problems.join()).toContain("agents[0].record: expected true or false");
    }
    const def = defaultAgent(loadConfig({ RECORD_CALLS: "1", RECORDING_NOTICE: "Recorded." }));
    expect([def.record, def.recordingNotice]).toEqual([true, "Recorded."]);
  });

  test("the opening text: the notice word for word before the greeting, only on recorded calls", () => {
    const withGreeting = openingText({ greeting: "Greet the caller.", record: true, recordingNotice: "This call may be recorded." });
    expect(withGreeting).toContain('word for word');
    expect(withGreeting).toContain('"This call may be recorded."');
    expect(withGreeting.indexOf("This call may be recorded.")).toBeLessThan(withGreeting.indexOf("Greet the caller."));
    const callerFirst = openingText({ greeting: "", record: true, recordingNotice: "Recorded." });
    expect(callerFirst).toContain('"Recorded."');
    expect(callerFirst).toContain("wait for the caller");
    expect(openingText({ greeting: "Greet.", record: false, recordingNotice: "Recorded." })).toBe("Greet.");
    expect(openingText({ greeting: "Greet.", record: true, recordingNotice: "" })).toBe("Greet.");
    expect(openingText({ greeting: "", record: undefined, recordingNotice: undefined })).toBe("");
  });
});
