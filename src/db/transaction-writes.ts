// Writes inside a transaction on the embedded database, straight on the connection it runs on, without
// Prisma's cost per statement: a creation of a key sends four or five INSERTs, and in a profile of the
// benchmark's createApiKey Prisma's runtime was a third of the server's CPU. Going straight cut the CPU
// of a creation by about 40% and of a rotation by about half (bench/README.md, alternating builds).
// Prisma still opens, commits and rolls back the transaction, and runs its other statements; a write
// made here is one of that transaction's, as a read of Domain.transactionRows is.
//
// The one danger is a write that runs when its transaction is no longer open: Prisma ends a transaction
// that outlives its timeout with a ROLLBACK while the callback may still be running, and the connection
// then runs the callback's next statement on its own (committed at once) or inside the next
// transaction. So each transaction Prisma starts is bound to the record isolateSqliteTransactions
// keeps of it (src/db/client.ts), and a write goes straight to the connection only while that record
// is open and the connection is inside a transaction; otherwise it goes through Prisma, which refuses
// a statement of a closed transaction (P2028, SERVICE_UNAVAILABLE).
import type { Sql } from './sql.ts';

/** A transaction on SQLite's write connection, as isolateSqliteTransactions records it. */
export interface OpenTransaction {
  /** True from its BEGIN until Prisma ends it (commit or rollback). */
  live: boolean;
}

/** The transaction open on the write connection (at most one: isolateSqliteTransactions), if any. */
export interface TransactionTracker {
  open: OpenTransaction | null;
}

/** A Prisma transaction client (Tx) as far as a write needs one: its own way to run the statement. */
interface PrismaTransaction {
  $executeRaw(statement: Sql): Promise<number>;
}

/** Runs one write statement of the transaction `tx`; resolves with the number of rows it changed. */
export type TransactionWrite = (tx: PrismaTransaction, statement: Sql) => Promise<number>;

/** The write connection: its (cached, src/db/statement-cache.ts) prepare, and whether a transaction is open. */
export interface WriteConnection {
  prepare(sql: string): { bind(...values: unknown[]): { run(): { changes: number } } };
  readonly inTransaction: boolean;
}

/**
 * A value as Prisma's SQLite adapter binds it (@prisma/adapter-better-sqlite3, mapArg), so that a row
 * written here is stored exactly as one written through Prisma: a time as ISO-8601 text with +00:00, a
 * boolean as 1 or 0.
 */
export function bindable(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString().replace('Z', '+00:00');
  if (typeof value === 'boolean') return value ? 1 : 0;
  return value;
}

/**
 * The writes of transactions on `connection`. `bind(tx)` is called by openDatabase at the start of each
 * transaction's callback, when the transaction open on the connection is that callback's, and
 * `unbind(tx)` when the callback has ended (a write after that goes through Prisma, which refuses it).
 * `retry` waits out another process's write lock (retryWhileBusy); `onQuery` hears each statement run.
 */
export function transactionWrites(
  connection: WriteConnection,
  tracker: TransactionTracker,
  retry: <T>(run: () => Promise<T>) => Promise<T>,
  inSpan: <T>(sql: string, run: () => Promise<T>) => Promise<T>,
  onQuery?: (sql: string) => void,
): { bind(tx: object): void; unbind(tx: object): void; write: TransactionWrite } {
  // Emptied as each callback ends (unbind): a long-lived WeakMap's entries outlive young-generation
  // collections (docs/operations.md, Garbage collection), so it holds no finished transaction's client.
  const transactionOf = new WeakMap<object, OpenTransaction>();
  return {
    bind(tx) {
      if (tracker.open) transactionOf.set(tx, tracker.open);
    },
    unbind(tx) {
      transactionOf.delete(tx);
    },
    async write(tx, statement) {
      const open = transactionOf.get(tx);
      const text = statement.sql;
      const direct = (): Promise<number | null> => {
        // Checked before every attempt: a wait for another process's lock may outlast the transaction.
        if (!(open?.live && connection.inTransaction)) return Promise.resolve(null);
        onQuery?.(text);
        return Promise.resolve(connection.prepare(text).bind(statement.values.map(bindable)).run().changes);
      };
      const changes = open ? await retry(() => inSpan(text, direct)) : null;
      return changes ?? tx.$executeRaw(statement);
    },
  };
}
