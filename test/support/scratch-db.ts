// A throwaway SQLite database for a relay a test starts: call ids must not meet records of an earlier run.
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";

/** A fresh file name under the temp directory (nothing is created). */
export function scratchSqliteFile(tag = "test"): string {
  return `${tmpdir()}/sauti-${tag}-${process.pid}-${crypto.randomUUID()}.db`;
}

export function scratchDatabaseUrl(): string {
  return `sqlite://${scratchSqliteFile()}`;
}

/** Deletes a SQLite database file with its WAL and shared-memory files (missing ones are fine). */
export function removeSqlite(file: string): void {
  for (const f of ["", "-wal", "-shm"]) rmSync(file + f, { force: true });
}

/** `using db = scratchSqlite()`: a file name and its URL, the files removed when the scope ends. */
export function scratchSqlite(tag = "test"): { file: string; url: string } & Disposable {
  const file = scratchSqliteFile(tag);
  return { file, url: `sqlite://${file}`, [Symbol.dispose]: () => removeSqlite(file) };
}
