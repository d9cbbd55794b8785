// A throwaway SQLite database for a relay a test starts: call ids must not meet records of an earlier run.
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";

export function scratchDatabaseUrl(): string {
  return `sqlite://${tmpdir()}/sauti-test-${process.pid}-${crypto.randomUUID()}.db`;
}

/** Deletes a SQLite database file with its WAL and shared-memory files (missing ones are fine). */
export function removeSqlite(file: string): void {
  for (const f of ["", "-wal", "-shm"]) rmSync(file + f, { force: true });
}
