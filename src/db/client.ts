// The one place that opens a database. Both providers get a Prisma client generated from the same
// models (prisma/schema.prisma); the rest of the code sees one type, Db, which both clients satisfy.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlDriverAdapter, SqlDriverAdapterFactory, Transaction } from '@prisma/driver-adapter-utils';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { PrismaClient as PostgresClient } from '../generated/postgresql/client.ts';
import { PrismaClient as SqliteClient } from '../generated/sqlite/client.ts';
import type { DatabaseConfig } from './database-config.ts';
import { DeadlineExceededError } from './deadline.ts';
import { pipelineTransactions, type StatementListener } from './pg-round-trips.ts';
import { privateFile, restrict } from './private-files.ts';
import { inQuerySpan } from './query-spans.ts';
import { cacheStatements, statementNames } from './statement-cache.ts';
import { type TransactionTracker, type TransactionWrite, transactionWrites } from './transaction-writes.ts';
import { openWalIndex, type WalIndex } from './wal-index.ts';

/** The models Keygate queries through Prisma's query API (the rest of the SQL is raw). */
type Models =
  | 'organization'
  | 'team'
  | 'user'
  | 'role'
  | 'apiKey'
  | 'apiKeyRole'
  | 'apiKeyTeam'
  | 'apiKeyTeamRole'
  | 'apiKeyToken'
  | 'auditEvent'
  | 'auditEventTeam'
  | 'verifier';

/** The queries of a model Keygate may use: not aggregate or groupBy, whose result types differ per client. */
type Queries =
  | 'findMany'
  | 'findFirst'
  | 'findFirstOrThrow'
  | 'findUnique'
  | 'findUniqueOrThrow'
  | 'create'
  | 'createMany'
  | 'update'
  | 'updateMany'
  | 'upsert'
  | 'delete'
  | 'deleteMany'
  | 'count';

/**
 * A client or one of its interactive transactions, as Keygate uses them: raw statements and the models'
 * queries. Spelled with the SQLite client's types, which describe the PostgreSQL client's just as well:
 * both clients, and their transactions, are assigned to it without a cast (openDatabase), so the
 * compiler holds that true for each.
 */
export type Tx = Pick<SqliteClient, '$queryRaw' | '$executeRaw' | '$queryRawUnsafe' | '$executeRawUnsafe'> & {
  [Model in Models]: Pick<SqliteClient[Model], Queries>;
};

/** A client: a Tx that also starts transactions and closes. */
export type Db = Tx & {
  $transaction<R>(run: (tx: Tx) => Promise<R>, options?: { maxWait?: number; timeout?: number }): Promise<R>;
  $disconnect(): Promise<void>;
};
/** Rows of the tables as Prisma generates them from prisma/schema.prisma (the same for both providers). */
export type { ApiKey, ApiKeyToken, AuditEvent } from '../generated/sqlite/client.ts';
export type Provider = DatabaseConfig['provider'];

/**
 * The driver under Prisma, for the one hot path that needs raw prepared statements (token lookup):
 * a read-only better-sqlite3 connection to the same file, or the very pool Prisma's adapter uses.
 */
export type RawDriver =
  | {
      provider: 'sqlite';
      connection: BetterSqlite3.Database;
      /** The database's WAL index, by which readings of PRAGMA data_version are skipped (src/db/wal-index.ts). */
      walIndex: WalIndex;
      /**
       * The connection Prisma's adapter writes with, on which every transaction of this process runs
       * (one at a time: isolateSqliteTransactions), with its own statements (not the adapter's cached
       * ones, see cacheStatements). Read on directly only inside such a transaction
       * (Domain.transactionRows): a statement there is one of that transaction's.
       */
      writer: Pick<BetterSqlite3.Database, 'prepare'>;
      /**
       * Runs a write of a transaction of this process straight on `writer`'s connection while that
       * transaction is open, through Prisma otherwise (src/db/transaction-writes.ts).
       */
      writeInTransaction: TransactionWrite;
    }
  | { provider: 'postgresql'; pool: pg.Pool };

export interface Database {
  provider: Provider;
  prisma: Db;
  raw: RawDriver;
  /**
   * Embedded database only: a number that changes whenever another process commits to it (PRAGMA
   * data_version on the connection this process writes with, which ignores its own commits).
   */
  foreignCommits?: () => number;
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

/**
 * The data directory (0700) and the database file (0600), made before SQLite opens it: they hold token
 * hashes and every key's grants. SQLite gives the -wal and -shm files it creates the database file's
 * mode; files an earlier start left readable to others are tightened. Returns the file's path.
 */
function privateDatabaseFile(dataDir: string): string {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  restrict(dir, 0o700);
  const file = join(dir, SQLITE_FILE);
  privateFile(file, ['-wal', '-shm']);
  return file;
}

interface Lock {
  /** Resolves, in call order, with the function that releases the lock. */
  acquire(): Promise<() => void>;
  /** Held or waited for: acquire() would not resolve at once. */
  busy(): boolean;
}

/** A FIFO lock. */
function createLock(): Lock {
  let last: Promise<void> = Promise.resolve();
  let holders = 0; // holding or waiting
  return {
    async acquire() {
      holders++;
      let release!: () => void;
      const held = new Promise<void>((resolve) => {
        release = () => {
          holders--;
          resolve();
        };
      });
      const previous = last;
      last = previous.then(() => held);
      await previous;
      return release;
    },
    busy: () => holders > 0,
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * How long better-sqlite3 may wait, synchronously, for another process's write lock before SQLITE_BUSY.
 * Its wait blocks the event loop (every request, /healthz included), so it is kept short and the
 * waiting is done here, asynchronously (`retryWhileBusy`).
 */
export const SQLITE_BUSY_WAIT_MS = 10;

/** SQLITE_BUSY as the adapter reports it (@prisma/adapter-better-sqlite3 maps it to SocketTimeout). */
function isBusy(error: unknown): boolean {
  const cause = (error as { cause?: { kind?: string } } | undefined)?.cause;
  return cause?.kind === 'SocketTimeout' || /^SQLITE_BUSY/.test((error as { code?: string } | undefined)?.code ?? '');
}

/**
 * The one place that waits for another process's write lock: `run` again, with growing pauses, until it
 * is not SQLITE_BUSY or `budgetMs` (the request bound) have passed. Then the busy error goes to the
 * caller (SERVICE_UNAVAILABLE); the request itself has been answered at its deadline already.
 */
async function retryWhileBusy<T>(run: () => Promise<T>, budgetMs: number): Promise<T> {
  const until = performance.now() + budgetMs;
  let pause = 2;
  for (;;) {
    try {
      return await run();
    } catch (error) {
      if (!isBusy(error) || performance.now() + pause >= until) throw error;
    }
    await sleep(pause);
    pause = Math.min(pause * 2, 50);
  }
}

/** Waits for a lock, but no longer than `budgetMs` (no timer when it is free). */
async function acquireWithin(lock: Lock, budgetMs: number): Promise<() => void> {
  if (!lock.busy()) return lock.acquire();
  const pending = lock.acquire();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), budgetMs);
  });
  const release = await Promise.race([pending, late]);
  clearTimeout(timer);
  if (release) return release;
  // Too late: the lock is handed on as soon as it comes.
  void pending.then((r) => r());
  throw new DeadlineExceededError();
}

/** A write that changes nothing: SQLite takes the write lock for it all the same. */
const TAKE_WRITE_LOCK = { sql: 'UPDATE "Organization" SET "id" = "id" WHERE 0', args: [], argTypes: [] };
const ROLLBACK = { sql: 'ROLLBACK', args: [], argTypes: [] };

/**
 * Prisma's SQLite adapter runs everything on one connection. It queues interactive transactions
 * behind each other, but a query made outside a transaction runs at once on that connection, that is
 * inside whichever transaction is open there: it reads that transaction's uncommitted, half-made
 * changes (a key between "grants deleted" and "grants inserted", visible to a team manager it is not
 * visible to), and a write joins that transaction's fate. Here such queries wait until no transaction
 * is open, and transactions wait for them, so every statement sees committed data only.
 *
 * Also here: waiting for another process's write lock without blocking the event loop
 * (`retryWhileBusy`), and for this lock, both within `busyBudgetMs`.
 *
 * Every transaction takes the database's write lock first (TAKE_WRITE_LOCK), before it reads: its first
 * read would otherwise fix its snapshot, and when another process (the CLI, say) committed after that
 * read and before this transaction's first write, that write would fail with SQLITE_BUSY_SNAPSHOT
 * however long it waited. Taken first, the lock waits for the other process's transaction to end, and
 * everything read after it is as that transaction left it (a token it revoked is gone). This is BEGIN
 * IMMEDIATE, in a form whose SQLITE_BUSY can be retried: the adapter's BEGIN failing would leave its
 * own lock held.
 */
export function isolateSqliteTransactions(
  factory: SqlDriverAdapterFactory,
  busyBudgetMs = DEFAULT_BUSY_TIMEOUT_MS,
  tracker: TransactionTracker = { open: null },
): SqlDriverAdapterFactory {
  const lock = createLock();
  const exclusive = async <T>(run: () => Promise<T>): Promise<T> => {
    const release = await acquireWithin(lock, busyBudgetMs);
    try {
      return await retryWhileBusy(run, busyBudgetMs);
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
      const release = await acquireWithin(lock, busyBudgetMs);
      let transaction: Transaction;
      try {
        transaction = await retryWhileBusy(() => inner.startTransaction(isolationLevel), busyBudgetMs);
      } catch (error) {
        release();
        throw error;
      }
      try {
        await retryWhileBusy(() => transaction.executeRaw(TAKE_WRITE_LOCK), busyBudgetMs);
      } catch (error) {
        await transaction.executeRaw(ROLLBACK).catch(() => {});
        await transaction.rollback().finally(release);
        throw error;
      }
      // The transaction open on the connection, for the writes of src/db/transaction-writes.ts.
      const open = { live: true };
      tracker.open = open;
      // Prisma sends COMMIT or ROLLBACK through executeRaw, then calls commit() or rollback().
      const end = (finish: () => Promise<void>) => async () => {
        open.live = false;
        if (tracker.open === open) tracker.open = null;
        try {
          await finish();
        } finally {
          release();
        }
      };
      return Object.assign(Object.create(transaction) as Transaction, {
        queryRaw: (query: Parameters<Transaction['queryRaw']>[0]) =>
          retryWhileBusy(() => transaction.queryRaw(query), busyBudgetMs),
        executeRaw: (query: Parameters<Transaction['executeRaw']>[0]) =>
          retryWhileBusy(() => transaction.executeRaw(query), busyBudgetMs),
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

/** A query that got no answer within pg's query_timeout leaves its connection unusable: close it. */
function dropConnectionsThatTimeOut(client: pg.PoolClient): void {
  const drop = (error: unknown) => {
    if ((error as Error | undefined)?.message === 'Query read timeout') {
      (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
    }
  };
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    const callback = args.at(-1);
    if (typeof callback === 'function') {
      args[args.length - 1] = (error: unknown, result: unknown) => {
        if (error) drop(error);
        callback(error, result);
      };
      return query(...args);
    }
    const result = query(...args);
    if (result instanceof Promise) result.then(undefined, drop);
    return result;
  };
}

/** The adapter's connection keeps its compiled statements (src/db/statement-cache.ts). */
function withStatementCache(
  factory: SqlDriverAdapterFactory,
  onConnection: (connection: BetterSqlite3.Database) => void = () => {},
): SqlDriverAdapterFactory {
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
      onConnection(connection);
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

/**
 * How long SQLite waits for another process's write lock before SQLITE_BUSY (SERVICE_UNAVAILABLE),
 * outside a request (a request waits until its deadline at most).
 */
export const DEFAULT_BUSY_TIMEOUT_MS = 10_000;

/** The bound of a request (KEYGATE_REQUEST_TIMEOUT_MS); PostgreSQL's server-side timeouts derive from it. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 5_000;

/** How long /readyz waits for the database. */
export const PING_TIMEOUT_MS = 1_000;

/**
 * SQLite's page cache of each connection the server opens, in KiB (`PRAGMA cache_size = -N`): SQLite's
 * own default. better-sqlite3 builds SQLite with 16 MB, which random reads at 1M keys (tokens verified
 * for the first time, the pages of keys) fill on both connections: 32 MB of the server's memory. Pages
 * that miss it come from the operating system's file cache, a copy of a few microseconds each; the
 * reads the server repeats are answered from its own caches (tokens, kept pages) before SQLite's.
 */
export const SQLITE_CACHE_KIB = 2_000;

export async function openDatabase(
  config: DatabaseConfig,
  options: {
    onQuery?: QueryListener;
    /**
     * PostgreSQL: hears every statement a pooled connection sends, and whether its answer is waited for
     * before the next is sent (src/db/pg-round-trips.ts): the round trips are the awaited ones.
     */
    onStatement?: StatementListener;
    connectTimeoutMs?: number;
    busyTimeoutMs?: number;
    requestTimeoutMs?: number;
  } = {},
): Promise<Database> {
  const log = options.onQuery ? [{ emit: 'event' as const, level: 'query' as const }] : [];
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const connectTimeoutMs = Math.min(options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, requestTimeoutMs);
  // Changes to one key queue up on its row lock (or SQLite's one writer), each holding a pooled
  // connection meanwhile; a burst on one key may wait longer for its turn than Prisma's default 2 s.
  // A transaction gets as long to start as a query gets to connect; then 503.
  const transactionOptions = { maxWait: connectTimeoutMs };
  let prisma: Db;
  let raw: RawDriver;
  let foreignCommits: (() => number) | undefined;
  if (config.provider === 'sqlite') {
    const file = privateDatabaseFile(config.dataDir);
    // Another process's write lock (the CLI's) is waited for in isolateSqliteTransactions, without
    // blocking the event loop; better-sqlite3's own (synchronous) wait is a short slice of it.
    const busyTimeoutMs = options.busyTimeoutMs ?? Math.min(DEFAULT_BUSY_TIMEOUT_MS, requestTimeoutMs);
    // PRAGMA data_version on the connection this process writes with moves only when another process commits.
    let dataVersion: BetterSqlite3.Statement<[], number> | null = null;
    let writer: Pick<BetterSqlite3.Database, 'prepare'> | null = null;
    let writeConnection: BetterSqlite3.Database | null = null;
    const tracker: TransactionTracker = { open: null };
    const adapter = isolateSqliteTransactions(
      withStatementCache(
        new PrismaBetterSqlite3({ url: sqliteUrl(config.dataDir), timeout: SQLITE_BUSY_WAIT_MS }),
        (c) => {
          c.pragma(`cache_size = -${SQLITE_CACHE_KIB}`);
          dataVersion = c.prepare<[], number>('PRAGMA data_version').pluck();
          // Its own prepare, before cacheStatements gives the adapter a cached one.
          writer = { prepare: c.prepare.bind(c) as BetterSqlite3.Database['prepare'] };
          // Its prepare becomes the cached one the adapter uses (the same SQL texts as Prisma's writes).
          writeConnection = c;
        },
      ),
      busyTimeoutMs,
      tracker,
    );
    const client = new SqliteClient({ adapter, log, transactionOptions });
    prisma = client;
    await prisma.$queryRawUnsafe('PRAGMA journal_mode = WAL');
    await prisma.$queryRawUnsafe('PRAGMA foreign_keys = ON');
    // In WAL mode NORMAL survives any process crash; only a power loss may drop the last commits.
    await prisma.$queryRawUnsafe('PRAGMA synchronous = NORMAL');
    // Reads in WAL mode do not wait for writers; the short wait covers a checkpoint's brief lock.
    const connection = new BetterSqlite3(file, { timeout: SQLITE_BUSY_WAIT_MS * 5 });
    connection.pragma('query_only = ON');
    connection.pragma(`cache_size = -${SQLITE_CACHE_KIB}`);
    // The WAL index exists now: Prisma's connection is open in WAL mode (the pragmas above ran on it).
    const walIndex = openWalIndex(file);
    if (!writer || !writeConnection) throw new Error("Prisma's SQLite adapter opened no connection");
    const writes = transactionWrites(
      writeConnection,
      tracker,
      (run) => retryWhileBusy(run, busyTimeoutMs),
      inQuerySpan,
      options.onQuery,
    );
    // Each transaction's callback starts with its transaction open on the connection (the lock of
    // isolateSqliteTransactions is held from its BEGIN to its end): bound to it there.
    const transaction = client.$transaction.bind(client) as Db['$transaction'];
    prisma.$transaction = (run, transactionOptions) =>
      transaction(async (tx) => {
        writes.bind(tx);
        try {
          return await run(tx);
        } finally {
          writes.unbind(tx);
        }
      }, transactionOptions);
    raw = { provider: 'sqlite', connection, walIndex, writer, writeInTransaction: writes.write };
    const version = dataVersion as BetterSqlite3.Statement<[], number> | null;
    if (version) foreignCommits = walIndex.gate(() => version.get() as number);
  } else {
    const pool = new pg.Pool({
      connectionString: config.url,
      max: 10,
      // A request waits at most this long for a connection (a new one, or a free one of the pool)
      // before it fails with SERVICE_UNAVAILABLE; without it, a database that accepts TCP but never
      // answers would hang every request.
      connectionTimeoutMillis: connectTimeoutMs,
      idleTimeoutMillis: 10_000,
      // Notices a peer that vanished without closing the connection (network partition, host down).
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      // A query with no answer at all (a silent connection) fails on this side after this long; the
      // request was answered 503 at its deadline already (src/http/server.ts).
      query_timeout: requestTimeoutMs + 2_000,
      // Server-side bounds, so that a statement or lock wait of a request answered 503 at its deadline
      // does not go on holding a connection and locks: cancelled a second after the deadline.
      options: `-c statement_timeout=${requestTimeoutMs + 1_000} -c lock_timeout=${requestTimeoutMs + 1_000}`,
      application_name: 'keygate',
      // A statement may be sent before the answers to those before it (src/db/pg-round-trips.ts).
      pipeline: true,
    });
    // Idle clients can be terminated by the server; the pool replaces them, so this is not fatal.
    pool.on('error', () => {});
    // A connection that dies while checked out (terminated backend, server restart) emits 'error';
    // without a listener that would crash the process. The query in flight fails on its own and the
    // pool discards the dead connection on release, so there is nothing else to do here.
    const pipelines = new WeakMap<object, { released(): void }>();
    pool.on('connect', (client) => {
      client.on('error', () => {});
      dropConnectionsThatTimeOut(client);
      // A transaction's BEGIN and writes are not waited for (src/db/pg-round-trips.ts).
      pipelines.set(client, pipelineTransactions(client, options.onStatement));
    });
    pool.on('release', (_error, client) => pipelines.get(client)?.released());
    // Unnamed statements stay unnamed past the bound (the adapter's type says string, pg takes undefined).
    const statementNameGenerator = statementNames() as (query: { sql: string }) => string;
    prisma = new PostgresClient({ adapter: new PrismaPg(pool, { statementNameGenerator }), log, transactionOptions });
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
    ...(foreignCommits ? { foreignCommits } : {}),
    ...(options.onQuery ? { onQuery: options.onQuery } : {}),
    async ping() {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new DeadlineExceededError()), PING_TIMEOUT_MS);
      });
      try {
        await Promise.race([prisma.$queryRawUnsafe('SELECT 1'), late]);
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      await prisma.$disconnect();
      if (raw.provider === 'sqlite') {
        raw.connection.close();
        raw.walIndex.close();
      } else await raw.pool.end();
    },
  };
}
