// Files of the embedded database hold token hashes and every key's grants: the database, SQLite's
// -wal and -shm beside it, the data directory's lock (src/db/data-dir-lock.ts) and a backup
// (src/db/backup.ts) are the owner's alone, 0600, whatever the umask. SQLite creates a file with the
// process's default mode, and gives the files it adds beside a database (-wal, -shm, -journal) that
// database's mode: so each file is made 0600 before SQLite opens it.
import { chmodSync, closeSync, openSync, statSync } from 'node:fs';

/** Sets a path's permission bits when they differ; a missing path, or one owned by someone else, is left. */
export function restrict(path: string, mode: number): void {
  try {
    if ((statSync(path).mode & 0o777) !== mode) chmodSync(path, mode);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code !== 'ENOENT' && code !== 'EPERM') throw error;
  }
}

/**
 * Makes `file` (empty if new; left as it is otherwise) with mode 0600, and tightens it and its SQLite
 * companions `suffixes` (e.g. "-wal") if an earlier run left them readable to others.
 */
export function privateFile(file: string, suffixes: readonly string[] = []): void {
  closeSync(openSync(file, 'a', 0o600));
  for (const path of [file, ...suffixes.map((suffix) => `${file}${suffix}`)]) restrict(path, 0o600);
}
