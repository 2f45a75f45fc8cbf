// The one place that opens a database. Both providers get a Prisma client generated from the same
// models (prisma/schema.prisma), so their APIs are identical; the rest of the code sees one type.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlDriverAdapter, SqlDriverAdapterFactory, Transaction } from '@prisma/driver-adapter-utils';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import type { DatabaseConfig } from '../config.ts';
import { PrismaClient as PostgresClient } from '../generated/postgresql/client.ts';
import { PrismaClient as SqliteClient } from '../generated/sqlite/client.ts';
import { cacheStatements, statementNames } from './statement-cache.ts';

export type Db = SqliteClient;
export type Provider = DatabaseConfig['provider'];

/**
 * The driver under Prisma, for the one hot path that needs raw prepared statements (token lookup):
 * a read-only better-sqlite3 connection to the same file, or the very pool Prisma's adapter uses.
 */
export type RawDriver =
  | { provider: 'sqlite'; connection: BetterSqlite3.Database }
  | { provider: 'postgresql'; pool: pg.Pool };

export interface Database {
  provider: Provider;
  prisma: Db;
  raw: RawDriver;
  /** The listener given to openDatabase: statements run on `raw` outside Prisma report to it too. */
  onQuery?: QueryListener;
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export const SQLITE_FILE = 'keygate.db';

export function sqliteUrl(dataDir: string): string {
  return `file:${join(resolve(dataDir), SQLITE_FILE)}`;
}

/** A FIFO lock: acquire() resolves, in call order, with the function that releases it. */
function createLock(): () => Promise<() => void> {
  let last: Promise<void> = Promise.resolve();
  return async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const previous = last;
    last = previous.then(() => held);
    await previous;
    return release;
  };
}

/**
 * Prisma's SQLite adapter runs everything on one connection. It queues interactive transactions
 * behind each other, but a query made outside a transaction runs at once on that connection, that is
 * inside whichever transaction is open there: it reads that transaction's uncommitted, half-made
 * changes (a key between "grants deleted" and "grants inserted", visible to a team manager it is not
 * visible to), and a write joins that transaction's fate. Here such queries wait until no transaction
 * is open, and transactions wait for them, so every statement sees committed data only.
 */
export function isolateSqliteTransactions(factory: SqlDriverAdapterFactory): SqlDriverAdapterFactory {
  const acquire = createLock();
  const exclusive = async <T>(run: () => Promise<T>): Promise<T> => {
    const release = await acquire();
    try {
      return await run();
    } finally {
      release();
    }
  };
  const wrap = (inner: SqlDriverAdapter): SqlDriverAdapter => ({
    provider: inner.provider,
    adapterName: inner.adapterName,
    queryRaw: (query) => exclusive(() => inner.queryRaw(query)),
    executeRaw: (query) => exclusive(() => inner.executeRaw(query)),
    executeScript: (script) => exclusive(() => inner.executeScript(script)),
    ...(inner.getConnectionInfo ? { getConnectionInfo: inner.getConnectionInfo.bind(inner) } : {}),
    dispose: () => inner.dispose(),
    async startTransaction(isolationLevel) {
      const release = await acquire();
      let transaction: Transaction;
      try {
        transaction = await inner.startTransaction(isolationLevel);
      } catch (error) {
        release();
        throw error;
      }
      // Prisma sends COMMIT or ROLLBACK through executeRaw, then calls commit() or rollback().
      const end = (finish: () => Promise<void>) => async () => {
        try {
          await finish();
        } finally {
          release();
        }
      };
      return Object.assign(Object.create(transaction) as Transaction, {
        commit: end(() => transaction.commit()),
        rollback: end(() => transaction.rollback()),
      });
    },
  });
  return {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: async () => wrap(await factory.connect()),
  };
}

/** The adapter's connection keeps its compiled statements (src/db/statement-cache.ts). */
function withStatementCache(factory: SqlDriverAdapterFactory): SqlDriverAdapterFactory {
  return {
    provider: factory.provider,
    adapterName: factory.adapterName,
    async connect() {
      const adapter = await factory.connect();
      // The adapter keeps its better-sqlite3 connection in `client` (@prisma/adapter-better-sqlite3).
      const connection = (adapter as unknown as { client?: BetterSqlite3.Database }).client;
      if (!connection || typeof connection.prepare !== 'function') {
        throw new Error('@prisma/adapter-better-sqlite3 no longer exposes its connection as `client`');
      }
      cacheStatements(connection);
      return adapter;
    },
  };
}

export type QueryListener = (sql: string) => void;

/**
 * How long a request waits for a PostgreSQL connection, and any request for its turn to start a
 * transaction, before it gives up with SERVICE_UNAVAILABLE.
 */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

/** How long SQLite waits for another process's write lock before SQLITE_BUSY (SERVICE_UNAVAILABLE). */
export const DEFAULT_BUSY_TIMEOUT_MS = 10_000;

export async function openDatabase(
  config: DatabaseConfig,
  options: { onQuery?: QueryListener; connectTimeoutMs?: number; busyTimeoutMs?: number } = {},
): Promise<Database> {
  const log = options.onQuery ? [{ emit: 'event' as const, level: 'query' as const }] : [];
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  // Changes to one key queue up on its row lock (or SQLite's one writer), each holding a pooled
  // connection meanwhile; a burst on one key may wait longer for its turn than Prisma's default 2 s.
  // A transaction gets as long to start as a query gets to connect; then 503.
  const transactionOptions = { maxWait: connectTimeoutMs };
  let prisma: Db;
  let raw: RawDriver;
  if (config.provider === 'sqlite') {
    mkdirSync(resolve(config.dataDir), { recursive: true });
    // better-sqlite3 waits up to `timeout` ms for another process's write lock (the CLI's) instead of
    // failing with SQLITE_BUSY at once; it waits synchronously, so this also bounds a stall.
    const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
    const adapter = isolateSqliteTransactions(
      withStatementCache(new PrismaBetterSqlite3({ url: sqliteUrl(config.dataDir), timeout: busyTimeoutMs })),
    );
    prisma = new SqliteClient({ adapter, log, transactionOptions }) as Db;
    await prisma.$queryRawUnsafe('PRAGMA journal_mode = WAL');
    await prisma.$queryRawUnsafe('PRAGMA foreign_keys = ON');
    // In WAL mode NORMAL survives any process crash; only a power loss may drop the last commits.
    await prisma.$queryRawUnsafe('PRAGMA synchronous = NORMAL');
    const connection = new BetterSqlite3(join(resolve(config.dataDir), SQLITE_FILE), { timeout: busyTimeoutMs });
    connection.pragma('query_only = ON');
    raw = { provider: 'sqlite', connection };
  } else {
    const pool = new pg.Pool({
      connectionString: config.url,
      max: 10,
      // A request waits at most this long for a connection (a new one, or a free one of the pool)
      // before it fails with SERVICE_UNAVAILABLE; without it, a database that accepts TCP but never
      // answers would hang every request.
      connectionTimeoutMillis: connectTimeoutMs,
      // Notices a peer that vanished without closing the connection (network partition, host down).
      keepAlive: true,
    });
    // Idle clients can be terminated by the server; the pool replaces them, so this is not fatal.
    pool.on('error', () => {});
    // A connection that dies while checked out (terminated backend, server restart) emits 'error';
    // without a listener that would crash the process. The query in flight fails on its own and the
    // pool discards the dead connection on release, so there is nothing else to do here.
    pool.on('connect', (client) => client.on('error', () => {}));
    // Unnamed statements stay unnamed past the bound (the adapter's type says string, pg takes undefined).
    const statementNameGenerator = statementNames() as (query: { sql: string }) => string;
    prisma = new PostgresClient({
      adapter: new PrismaPg(pool, { statementNameGenerator }),
      log,
      transactionOptions,
    }) as unknown as Db;
    raw = { provider: 'postgresql', pool };
  }
  if (options.onQuery) {
    const listener = options.onQuery;
    (prisma as unknown as { $on(event: 'query', cb: (e: { query: string }) => void): void }).$on('query', (event) =>
      listener(event.query),
    );
  }
  return {
    provider: config.provider,
    prisma,
    raw,
    ...(options.onQuery ? { onQuery: options.onQuery } : {}),
    async ping() {
      await prisma.$queryRawUnsafe('SELECT 1');
    },
    async close() {
      await prisma.$disconnect();
      if (raw.provider === 'sqlite') raw.connection.close();
      else await raw.pool.end();
    },
  };
}
