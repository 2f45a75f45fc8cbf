// Prisma's schema engine, compiled to WebAssembly, for authoring migrations and proving there is no
// drift. Used by scripts/migration.ts and tests only: loading it costs ~25 ms and every engine opens
// its own connections. The runtime applies migrations with src/db/migrate.ts instead.
//
// Loaded by hand (see docs/database.md): the package's entry imports a .wasm file, which Node's ESM
// loader refuses. No shadow database is ever used: authoring diffs from a scratch database the history
// was applied to, which sidesteps the adapters' shadow-database bugs (pg replaying into the main
// database, SQLite replaying multi-statement scripts through a one-statement call).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import {
  bindMigrationAwareSqlAdapterFactory,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
} from '@prisma/driver-adapter-utils';
import type { SchemaEngine } from '@prisma/schema-engine-wasm';
import * as glue from '@prisma/schema-engine-wasm/schema_engine_bg';
import { type Provider, sqliteUrl } from './client.ts';
import type { DatabaseConfig } from './database-config.ts';

let loaded: Promise<typeof glue.SchemaEngine> | undefined;

function loadEngine(): Promise<typeof glue.SchemaEngine> {
  loaded ??= (async () => {
    const gluePath = createRequire(import.meta.url).resolve('@prisma/schema-engine-wasm/schema_engine_bg');
    const module = await WebAssembly.compile(readFileSync(join(dirname(gluePath), 'schema_engine_bg.wasm')));
    const instance = await WebAssembly.instantiate(module, {
      './schema_engine_bg.js': glue as unknown as WebAssembly.ModuleImports,
    });
    glue.__wbg_set_wasm(instance.exports);
    (instance.exports as { __wbindgen_start(): void }).__wbindgen_start();
    return glue.SchemaEngine;
  })();
  return loaded;
}

const noFilters = { externalTables: [], externalEnums: [] };

/** The engine answers "-- This is an empty migration." when there is nothing to do. */
function emptyToBlank(sql: string | null): string {
  const meaningful = (sql ?? '').split('\n').some((line) => line.trim() !== '' && !line.trim().startsWith('--'));
  return meaningful ? (sql ?? '') : '';
}

function datamodelProvider(datamodel: string): string | undefined {
  return /datasource\s+\w+\s*\{[^}]*?provider\s*=\s*"(\w+)"/.exec(datamodel)?.[1];
}

function assertProvider(datamodel: string, provider: Provider): void {
  const declared = datamodelProvider(datamodel);
  if (declared !== provider) {
    throw new Error(`expected a datamodel with provider "${provider}", got "${declared ?? 'none'}"`);
  }
}

/**
 * Wraps an adapter factory so every connection the engine opens is known and can be disposed:
 * `engine.free()` closes none of them, and the SQLite one holds `locking_mode=EXCLUSIVE`.
 * adapter-pg 7.10 cannot describe Postgres' `"char"` (OID 18), which the engine's introspection
 * selects (e.g. pg_constraint.contype); it is reported as text.
 */
function trackingFactory(inner: SqlMigrationAwareDriverAdapterFactory) {
  const opened: SqlDriverAdapter[] = [];
  const factory: SqlMigrationAwareDriverAdapterFactory = {
    provider: inner.provider,
    adapterName: inner.adapterName,
    async connect() {
      const adapter = await inner.connect();
      opened.push(adapter);
      if (inner.provider === 'postgres') reportCharAsText(adapter);
      return adapter;
    },
    connectToShadowDb() {
      return Promise.reject(new Error('schema-engine.ts never uses a shadow database'));
    },
  };
  return {
    factory,
    async disposeAll() {
      const results = await Promise.allSettled(opened.splice(0).map((adapter) => adapter.dispose()));
      const failed = results.find((result) => result.status === 'rejected');
      if (failed) throw failed.reason;
    },
  };
}

const PG_CHAR_OID = 18;
const PG_TEXT_OID = 25;

interface PgResultLike {
  fields: Array<{ dataTypeID: number }>;
}

function reportCharAsText(adapter: SqlDriverAdapter): void {
  // Relies on adapter-pg's PgQueryable.performIO (called by queryRaw); checked by test/db/migrations.test.ts.
  const target = adapter as unknown as { performIO(query: unknown): Promise<PgResultLike> };
  const performIO = target.performIO.bind(adapter);
  target.performIO = async (query) => {
    const result = await performIO(query);
    for (const field of result.fields) {
      if (field.dataTypeID === PG_CHAR_OID) field.dataTypeID = PG_TEXT_OID;
    }
    return result;
  };
}

async function withEngine<T>(
  adapterFactory: SqlMigrationAwareDriverAdapterFactory,
  datamodels: Array<[path: string, content: string]>,
  run: (engine: SchemaEngine) => Promise<T>,
): Promise<T> {
  const SchemaEngineClass = await loadEngine();
  const tracked = trackingFactory(adapterFactory);
  const bound = bindMigrationAwareSqlAdapterFactory(tracked.factory);
  const logs: string[] = [];
  let engine: SchemaEngine | undefined;
  try {
    engine = await SchemaEngineClass.new({ datamodels }, (line: string) => logs.push(line), bound);
    return await run(engine);
  } catch (error) {
    throw explain(error, bound.errorRegistry, logs);
  } finally {
    engine?.free();
    await tracked.disposeAll();
  }
}

/** Errors raised by the adapter reach JS as "External error id#N"; the registry holds the real one. */
function explain(
  error: unknown,
  registry: { consumeError(id: number): { error: unknown } | undefined },
  logs: string[],
) {
  const message = error instanceof Error ? error.message : String(error);
  const id = /External error id#(\d+)/.exec(message)?.[1];
  const cause = id === undefined ? undefined : registry.consumeError(Number(id))?.error;
  const detail = cause instanceof Error ? cause.message : cause === undefined ? '' : JSON.stringify(cause);
  const wrapped = new Error(`schema engine: ${detail || message}`, { cause: cause ?? error });
  if (logs.length > 0 && !detail) wrapped.message += `\n${logs.slice(-5).join('\n')}`;
  return wrapped;
}

/** An adapter factory for a database config (no shadow database, so a pg connection string is safe). */
function adapterFactoryFor(config: DatabaseConfig): SqlMigrationAwareDriverAdapterFactory {
  if (config.provider === 'sqlite') return new PrismaBetterSqlite3({ url: sqliteUrl(config.dataDir) });
  return new PrismaPg({ connectionString: config.url, max: 2 });
}

/**
 * The SQL migrating a database from `from` (null: an empty database) to `to`; '' when they are the
 * same. Both are datamodels (schema.prisma text) for `provider`. Needs no database: the engine only
 * insists on a connection at start-up, so it gets a throwaway in-memory SQLite one.
 */
export async function diffSchemas(from: string | null, to: string, provider: Provider): Promise<string> {
  assertProvider(to, provider);
  if (from !== null) assertProvider(from, provider);
  const files = (content: string) => [{ path: 'schema.prisma', content }];
  const sql = await withEngine(
    new PrismaBetterSqlite3({ url: ':memory:' }),
    [['schema.prisma', to]],
    async (engine) => {
      const result = await engine.diff({
        from: from === null ? { tag: 'empty' } : { tag: 'schemaDatamodel', files: files(from) },
        to: { tag: 'schemaDatamodel', files: files(to) },
        script: true,
        exitCode: null,
        filters: noFilters,
      });
      return result.stdout;
    },
  );
  return emptyToBlank(sql);
}

/**
 * The SQL that would bring the live database to `datamodel`; '' means no drift. Reads the database
 * (never writes it); `_prisma_migrations` is ignored, as Prisma does.
 */
export async function diffDatabaseToSchema(config: DatabaseConfig, datamodel: string): Promise<string> {
  assertProvider(datamodel, config.provider);
  const files = [{ path: 'schema.prisma', content: datamodel }];
  const sql = await withEngine(adapterFactoryFor(config), [['schema.prisma', datamodel]], async (engine) => {
    const result = await engine.diff({
      from: { tag: 'schemaDatasource', files, configDir: process.cwd() },
      to: { tag: 'schemaDatamodel', files },
      script: true,
      exitCode: null,
      filters: noFilters,
    });
    return result.stdout;
  });
  return emptyToBlank(sql);
}

function readMigrationsList(dir: string) {
  const lockPath = join(dir, 'migration_lock.toml');
  const migrationDirectories = readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(dir, entry.name, 'migration.sql')))
    .map((entry) => entry.name)
    .sort()
    .map((name) => ({
      path: name,
      migrationFile: {
        path: 'migration.sql',
        content: { tag: 'ok' as const, value: readFileSync(join(dir, name, 'migration.sql'), 'utf8') },
      },
    }));
  return {
    baseDir: dir,
    lockfile: { path: 'migration_lock.toml', content: existsSync(lockPath) ? readFileSync(lockPath, 'utf8') : null },
    migrationDirectories,
    shadowDbInitScript: '',
  };
}

/**
 * `prisma migrate deploy`, done by Prisma's own engine: the reference the runtime runner
 * (src/db/migrate.ts) is compared with in tests. Returns the names it applied.
 */
export async function applyMigrationsWithEngine(
  config: DatabaseConfig,
  dir: string,
  datamodel: string,
): Promise<string[]> {
  assertProvider(datamodel, config.provider);
  return withEngine(adapterFactoryFor(config), [['schema.prisma', datamodel]], async (engine) => {
    const result = await engine.applyMigrations({ migrationsList: readMigrationsList(dir), filters: noFilters });
    return result.appliedMigrationNames;
  });
}
