// Opening everything a process needs: database (migrated, roles seeded) and the domain.

import { CHANNEL } from './auth/pg-invalidation.ts';
import type { Config, Limits } from './config.ts';
import { type Database, openDatabase } from './db/client.ts';
import { describePostgresError, describeSqliteError } from './db/connection-errors.ts';
import { createDataStamp } from './db/data-stamp.ts';
import { migrate } from './db/migrate.ts';
import { createRowReader, sqliteRowReader } from './db/raw-read.ts';
import { sqliteFile } from './db/reader.ts';
import { ReadCache } from './domain/read-cache.ts';
import { loadRoleCatalogue, seedRoles } from './domain/role-seed.ts';
import type { RoleCatalogue } from './domain/roles.ts';
import type { Domain } from './domain/types.ts';
import { dialectOf } from './store/dialect.ts';

/**
 * The domain on a database; on PostgreSQL, a change's writes go as one statement that also tells other
 * Keygate processes. Shown and listed keys are served again while the database is unchanged.
 */
export function createDomain(
  database: Database,
  catalogue: RoleCatalogue,
  now: () => Date = () => new Date(),
  limits: Partial<Pick<Limits, 'maxKeysPerOrganization'>> = {},
): Domain {
  return {
    ...(limits.maxKeysPerOrganization === undefined ? {} : { maxKeysPerOrganization: limits.maxKeysPerOrganization }),
    db: database.prisma,
    catalogue,
    dialect: dialectOf(
      database.provider,
      CHANNEL,
      database.raw.provider === 'sqlite' ? database.raw.writeInTransaction : undefined,
    ),
    now,
    reads: new ReadCache(createDataStamp(database.raw, database.onQuery)),
    readRows: createRowReader(database.raw, database.onQuery),
    ...(database.raw.provider === 'sqlite'
      ? { transactionRows: sqliteRowReader(database.raw.writer, database.onQuery) }
      : {}),
  };
}

export async function openRuntime(
  config: Pick<Config, 'database'> &
    Partial<Pick<Config, 'requestTimeoutMs'>> & { limits?: Pick<Limits, 'maxKeysPerOrganization'> },
): Promise<{
  database: Database;
  domain: Domain;
  applied: string[];
}> {
  const database = await openDatabase(
    config.database,
    config.requestTimeoutMs ? { requestTimeoutMs: config.requestTimeoutMs } : {},
  ).catch((error: unknown) => {
    throw describeOpeningError(error, config.database) ?? error;
  });
  try {
    const { applied } = await withStartupLock(database, async () => {
      const result = await migrate(database);
      await seedRoles(database.prisma);
      return result;
    });
    const catalogue = await loadRoleCatalogue(database.prisma);
    return { database, applied, domain: createDomain(database, catalogue, undefined, config.limits) };
  } catch (error) {
    await database.close();
    throw describeOpeningError(error, config.database) ?? error;
  }
}

/** What is wrong with the database, when the first statements on it failed for a reason a person can fix. */
function describeOpeningError(error: unknown, config: Config['database']) {
  return config.provider === 'postgresql'
    ? describePostgresError(error, config.url)
    : describeSqliteError(error, sqliteFile(config.dataDir));
}

/**
 * Runs `fn` while holding a lock that other Keygate processes on the same database take for the same
 * purpose (a PostgreSQL advisory lock on a connection of its own), so that two processes starting on
 * an empty database bootstrap it once. The embedded database serves one process; no lock is needed.
 */
export async function withStartupLock<T>(database: Database, fn: () => Promise<T>): Promise<T> {
  if (database.raw.provider !== 'postgresql') return fn();
  const client = await database.raw.pool.connect();
  try {
    // Another process may hold it for a whole migration: no statement or lock timeout while waiting.
    await client.query("SELECT set_config('statement_timeout', '0', false), set_config('lock_timeout', '0', false)");
    await client.query('SELECT pg_advisory_lock(72707370)');
    try {
      return await fn();
    } finally {
      await client.query('SELECT pg_advisory_unlock(72707370)');
      await client.query('RESET statement_timeout; RESET lock_timeout');
    }
  } finally {
    client.release();
  }
}
