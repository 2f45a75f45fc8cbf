// Applies the provider's migration history at start-up, as `prisma migrate deploy` would, without the
// schema engine (the CLI cannot run offline and the wasm engine is slow to load and leaks connections).
// `_prisma_migrations` is created and filled exactly as Prisma does, so the Prisma CLI and this runner
// read each other's history. Differences from Prisma, on purpose: each migration runs in a transaction
// (a failure leaves no trace and no half-applied script), and an applied migration whose file changed
// is refused instead of ignored.
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database, Db, Provider } from './client.ts';
import { splitSqlStatements } from './sql-statements.ts';

export function migrationsDir(provider: Provider): string {
  const path = provider === 'sqlite' ? '../../prisma/migrations' : '../../prisma/postgresql/migrations';
  return fileURLToPath(new URL(path, import.meta.url));
}

export class MigrationError extends Error {
  override name = 'MigrationError';
}

// Verbatim from Prisma's schema engine (sql-schema-connector), so the tables are indistinguishable.
const CREATE_MIGRATIONS_TABLE: Record<Provider, string> = {
  sqlite: `CREATE TABLE "_prisma_migrations" (
    "id"                    TEXT PRIMARY KEY NOT NULL,
    "checksum"              TEXT NOT NULL,
    "finished_at"           DATETIME,
    "migration_name"        TEXT NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        DATETIME,
    "started_at"            DATETIME NOT NULL DEFAULT current_timestamp,
    "applied_steps_count"   INTEGER UNSIGNED NOT NULL DEFAULT 0
)`,
  postgresql: `CREATE TABLE _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
)`,
};

// The key Prisma's own engine locks on, so `prisma migrate deploy` and this runner exclude each other.
const PG_ADVISORY_LOCK_KEY = 72707369;

export interface Migration {
  name: string;
  sql: string;
  /** sha256 of the file, hex: what Prisma stores in `_prisma_migrations.checksum`. */
  checksum: string;
}

export function readMigrations(provider: Provider, dir = migrationsDir(provider)): Migration[] {
  if (!existsSync(dir)) throw new MigrationError(`no migrations folder at ${dir}`);
  const lockPath = join(dir, 'migration_lock.toml');
  if (existsSync(lockPath)) {
    const locked = /^\s*provider\s*=\s*"([^"]+)"/m.exec(readFileSync(lockPath, 'utf8'))?.[1];
    if (locked !== provider) {
      throw new MigrationError(`${lockPath} is for provider "${locked}", not "${provider}"`);
    }
  }
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const file = join(dir, name, 'migration.sql');
      if (!existsSync(file)) throw new MigrationError(`migration ${name} has no migration.sql`);
      const content = readFileSync(file);
      return { name, sql: content.toString('utf8'), checksum: createHash('sha256').update(content).digest('hex') };
    });
}

interface MigrationRow {
  migration_name: string;
  checksum: string;
  finished_at: unknown;
  rolled_back_at: unknown;
  started_at: unknown;
}

/** The first migration still to apply, after refusing a history this build cannot continue. */
function nextPending(migrations: Migration[], rows: MigrationRow[]): Migration | undefined {
  const live = rows.filter((row) => row.rolled_back_at === null);
  const failed = live.find((row) => row.finished_at === null);
  if (failed) {
    throw new MigrationError(
      `migration ${failed.migration_name} (started ${String(failed.started_at)}) is recorded as failed in ` +
        '_prisma_migrations; repair the database, then mark it rolled back or applied ' +
        '(`prisma migrate resolve`) before starting again',
    );
  }
  const applied = new Map(live.map((row) => [row.migration_name, row.checksum]));
  for (const migration of migrations) {
    const checksum = applied.get(migration.name);
    if (checksum !== undefined && checksum !== migration.checksum) {
      throw new MigrationError(
        `migration ${migration.name} was changed after it was applied (checksum ${checksum} in the ` +
          `database, ${migration.checksum} on disk); restore the file and add a new migration instead`,
      );
    }
  }
  // Like Prisma: rows for migrations this build does not know (a newer build ran) are tolerated.
  return migrations.find((migration) => !applied.has(migration.name));
}

type Queryable = Pick<Db, '$executeRawUnsafe' | '$queryRawUnsafe'>;

const INSERT_ROW: Record<Provider, string> = {
  sqlite:
    'INSERT INTO "_prisma_migrations" ("id", "checksum", "finished_at", "migration_name", "logs", ' +
    '"rolled_back_at", "started_at", "applied_steps_count") VALUES (?, ?, ?, ?, NULL, NULL, ?, 1)',
  postgresql:
    'INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, logs, ' +
    'rolled_back_at, started_at, applied_steps_count) VALUES ($1, $2, $3, $4, NULL, NULL, $5, 1)',
};

async function applyOne(db: Queryable, provider: Provider, migration: Migration): Promise<void> {
  const startedAt = new Date();
  for (const statement of splitSqlStatements(migration.sql)) {
    try {
      await db.$executeRawUnsafe(statement);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new MigrationError(`migration ${migration.name} failed: ${reason}\nin: ${statement}`, { cause: error });
    }
  }
  await db.$executeRawUnsafe(
    INSERT_ROW[provider],
    randomUUID(),
    migration.checksum,
    new Date(),
    migration.name,
    startedAt,
  );
}

/** Applies at most one pending migration under the lock; returns its name, or undefined when none was left. */
type Step = (migrations: Migration[]) => Promise<string | undefined>;

function postgresStep(prisma: Db): Step {
  return (migrations) =>
    prisma.$transaction(
      async (tx) => {
        // Each statement must see what committed before it: a second process waits for the lock,
        // then reads what the first applied (a snapshot taken before the wait would not show it).
        await tx.$executeRawUnsafe('SET TRANSACTION ISOLATION LEVEL READ COMMITTED');
        await tx.$executeRawUnsafe(`SELECT pg_advisory_xact_lock(${PG_ADVISORY_LOCK_KEY})`);
        await tx.$executeRawUnsafe(
          CREATE_MIGRATIONS_TABLE.postgresql.replace('CREATE TABLE', 'CREATE TABLE IF NOT EXISTS'),
        );
        const rows = await tx.$queryRawUnsafe<MigrationRow[]>('SELECT * FROM _prisma_migrations ORDER BY started_at');
        const next = nextPending(migrations, rows);
        if (next) await applyOne(tx, 'postgresql', next);
        return next?.name;
      },
      { maxWait: 60_000, timeout: 15 * 60_000 },
    );
}

function sqliteStep(prisma: Db): Step {
  return async (migrations) => {
    // Prisma's table redefinitions turn foreign keys off around DROP TABLE (else its implicit DELETE
    // would cascade); that pragma is a no-op inside a transaction, so it is set here, outside.
    const [pragma] = await prisma.$queryRawUnsafe<Array<{ foreign_keys: number | bigint }>>('PRAGMA foreign_keys');
    const foreignKeysWereOn = Number(pragma?.foreign_keys) === 1;
    await prisma.$executeRawUnsafe('PRAGMA foreign_keys = OFF');
    try {
      // IMMEDIATE takes the write lock now (waiting out the busy timeout), so a second process cannot
      // read the history, then fail to write; the adapter has one connection, so these raw statements
      // all run on it.
      await prisma.$executeRawUnsafe('BEGIN IMMEDIATE');
      try {
        await prisma.$executeRawUnsafe(
          CREATE_MIGRATIONS_TABLE.sqlite.replace('CREATE TABLE', 'CREATE TABLE IF NOT EXISTS'),
        );
        const rows = await prisma.$queryRawUnsafe<MigrationRow[]>(
          'SELECT * FROM "_prisma_migrations" ORDER BY "started_at"',
        );
        const next = nextPending(migrations, rows);
        if (next) {
          await applyOne(prisma, 'sqlite', next);
          const violations = await prisma.$queryRawUnsafe<unknown[]>('PRAGMA foreign_key_check');
          if (violations.length > 0) {
            const sample = JSON.stringify(violations.slice(0, 5), (_, v) => (typeof v === 'bigint' ? Number(v) : v));
            throw new MigrationError(`migration ${next.name} leaves rows violating foreign keys: ${sample}`);
          }
        }
        await prisma.$executeRawUnsafe('COMMIT');
        return next?.name;
      } catch (error) {
        await prisma.$executeRawUnsafe('ROLLBACK').catch(() => {});
        throw error;
      }
    } finally {
      if (foreignKeysWereOn) await prisma.$executeRawUnsafe('PRAGMA foreign_keys = ON');
    }
  };
}

// Raw BEGIN/COMMIT on SQLite share the client's single connection: calls in one process take turns.
const sqliteQueue = new WeakMap<object, Promise<unknown>>();

/**
 * Applies every pending migration of `db.provider` in name order, each in its own transaction, and
 * records it in `_prisma_migrations`. Safe when several processes start at once on one database.
 * `dir` is for tests; the default is the provider's folder under prisma/.
 */
export async function migrate(db: Database, options: { dir?: string } = {}): Promise<{ applied: string[] }> {
  const migrations = readMigrations(db.provider, options.dir);
  const step = db.provider === 'postgresql' ? postgresStep(db.prisma) : sqliteStep(db.prisma);
  const run = async () => {
    const applied: string[] = [];
    for (let name = await step(migrations); name !== undefined; name = await step(migrations)) {
      applied.push(name);
    }
    return { applied };
  };
  if (db.provider !== 'sqlite') return run();
  const previous = sqliteQueue.get(db.prisma) ?? Promise.resolve();
  const result = previous.catch(() => {}).then(run);
  sqliteQueue.set(db.prisma, result);
  return result;
}
