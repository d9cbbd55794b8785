// A throwaway SQLite database for a relay a test starts: call ids must not meet records of an earlier run.
import { tmpdir } from "node:os";

export function scratchDatabaseUrl(): string {
  return `sqlite://${tmpdir()}/sauti-test-${process.pid}-${crypto.randomUUID()}.db`;
}
