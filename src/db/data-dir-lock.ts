// One server per embedded data directory. Two would each keep caches (verified tokens, rate-limit
// counters) that the other's writes do not reach; so `keygate serve` holds an exclusive lock on a
// small lock database in the data directory for as long as it runs. SQLite's lock is a POSIX advisory
// lock, released by the operating system when the process ends in any way (a crash, SIGKILL): no stale
// lock file to clean up. The CLI does not take it; it writes the database while the server runs, and
// the server notices its commits (src/auth/verifier.ts, externalChanges).
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { ConfigError } from '../config.ts';
import { privateFile } from './private-files.ts';

export const LOCK_FILE = 'keygate.lock';

/** A ConfigError: the CLI prints its message and exits 1. */
export class DataDirInUseError extends ConfigError {}

export interface DataDirLock {
  release(): void;
}

export function lockDataDir(dataDir: string): DataDirLock {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  // 0600 like the database beside it (src/db/private-files.ts); its journal takes the same mode.
  privateFile(join(dir, LOCK_FILE), ['-journal']);
  const lock = new BetterSqlite3(join(dir, LOCK_FILE), { timeout: 0 });
  try {
    // EXCLUSIVE locking mode keeps the lock after the first transaction takes it, until the
    // connection closes; BEGIN EXCLUSIVE takes it now (or fails at once with SQLITE_BUSY).
    lock.pragma('locking_mode = EXCLUSIVE');
    lock.exec('BEGIN EXCLUSIVE');
  } catch (error) {
    lock.close();
    if (/^SQLITE_BUSY/.test((error as { code?: string }).code ?? '')) {
      throw new DataDirInUseError(
        `another "keygate serve" is already using the data directory ${dir}; stop it first, or give this one its own KEYGATE_DATA_DIR (or use PostgreSQL to run several servers)`,
      );
    }
    throw error;
  }
  return {
    release() {
      if (lock.open) lock.close();
    },
  };
}
