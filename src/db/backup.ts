// `keygate backup --to FILE`: a consistent copy of the embedded database, taken while the server runs,
// with SQLite's online backup API (better-sqlite3's db.backup()). PostgreSQL has its own tools.
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { DatabaseConfig } from './database-config.ts';
import { privateFile } from './private-files.ts';
import { requireEmbeddedDatabase, sqliteFile } from './reader.ts';

export class BackupError extends Error {
  override name = 'BackupError';
}

/**
 * Copies the database to `to` (which must not exist), then checks the copy. The copy is made in one
 * step of the backup API from one read snapshot: in WAL mode a reader neither waits for the server's
 * writes nor holds them up, and a step-by-step copy would start over at every write the server makes.
 * It is written beside `to` and renamed into place once checked, so `to` is never half written.
 */
export async function backupEmbeddedDatabase(
  config: DatabaseConfig,
  to: string,
): Promise<{ backup: string; bytes: number }> {
  if (config.provider !== 'sqlite') {
    throw new BackupError(
      'keygate backup copies the embedded database; this one is PostgreSQL (DATABASE_URL). Use pg_dump, e.g. ' +
        '`pg_dump --format=custom --file keygate.dump "$DATABASE_URL"` (docs/operations.md, Backups).',
    );
  }
  requireEmbeddedDatabase(config.dataDir);
  const target = resolve(to);
  if (existsSync(target)) throw new BackupError(`${target} already exists; choose a new file name.`);
  if (!existsSync(dirname(target))) throw new BackupError(`the folder ${dirname(target)} does not exist.`);
  const partial = `${target}.partial`;
  rmSync(partial, { force: true });
  // The copy holds token hashes like the database: 0600 before SQLite writes into it (private-files.ts).
  privateFile(partial);
  const { default: BetterSqlite3 } = await import('better-sqlite3');
  const source = new BetterSqlite3(sqliteFile(config.dataDir), { fileMustExist: true, timeout: 10_000 });
  try {
    source.pragma('query_only = ON');
    await source.backup(partial, { progress: () => 0x7fffffff });
    const copy = new BetterSqlite3(partial, { fileMustExist: true });
    try {
      const [check] = copy.pragma('quick_check') as Array<{ quick_check: string }>;
      if (check?.quick_check !== 'ok') throw new BackupError(`the copy failed its check: ${check?.quick_check}`);
      // One self-contained file: a copy in WAL mode would need its -wal beside it to be read elsewhere.
      copy.pragma('journal_mode = DELETE');
    } finally {
      copy.close();
    }
    renameSync(partial, target);
  } catch (error) {
    rmSync(partial, { force: true });
    throw error;
  } finally {
    source.close();
  }
  return { backup: target, bytes: statSync(target).size };
}
