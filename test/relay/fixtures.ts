// Helpers for tests that run agents: agents files in a temp directory, and a fake Sautikit REST API on loopback
// that records every hang-up with the time it arrived (performance.now(), comparable with Caller.frameAt).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const dirs: string[] = [];

/** Writes `text` to a fresh temp file named `name`; removed by cleanupAgentFiles(). */
export function agentsFile(text: string, name = "agents.yaml"): string {
  const dir = mkdtempSync(join(tmpdir(), "sauti-agents-"));
  dirs.push(dir);
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

export function cleanupAgentFiles(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

