// A real S3-compatible server on loopback for the recording uploads: s3rver (npm, a devDependency), which runs
// under Bun (its account is access key "S3RVER", secret "S3RVER"). Stopping one and starting another on the same
// port and directory is an outage the uploader must ride out.
import S3rver from "s3rver";
import { S3Client } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { S3Settings } from "../../src/config.ts";

export const S3_KEY = "S3RVER";

export interface S3Server {
  port: number;
  endpoint: string;
  bucket: string;
  client: S3Client;
  /** Settings for RECORDINGS_URL=s3://bucket/prefix against this server. */
  settings(prefix?: string): S3Settings;
  stop(): Promise<void>;
  /** Starts again on the same port and directory (after stop). */
  restart(): Promise<void>;
  /** Stops and removes its directory. */
  dispose(): Promise<void>;
}

export async function startS3(bucket = "recordings", port = 0): Promise<S3Server> {
  const directory = mkdtempSync(join(tmpdir(), "sauti-s3rver-"));
  let server: S3rver | undefined;
  let at = port;
  const run = async () => {
    server = new S3rver({ port: at, address: "127.0.0.1", silent: true, directory, configureBuckets: [{ name: bucket, configs: [] }] });
    const info = (await server.run()) as { port: number };
    at = info.port;
  };
  await run();
  const endpoint = `http://127.0.0.1:${at}`;
  const s: S3Server = {
    port: at,
    endpoint,
    bucket,
    client: new S3Client({ bucket, endpoint, accessKeyId: S3_KEY, secretAccessKey: S3_KEY, region: "us-east-1" }),
    settings: (prefix = "calls/") => ({ bucket, prefix, accessKeyId: S3_KEY, secretAccessKey: S3_KEY, sessionToken: undefined, region: "us-east-1", endpoint }),
    async stop() {
      await server?.close();
      server = undefined;
    },
    restart: run,
    async dispose() {
      await s.stop();
      rmSync(directory, { recursive: true, force: true });
    },
  };
  return s;
}
