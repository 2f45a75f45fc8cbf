// Prisma's better-sqlite3 adapter prepares every statement anew (`prepare(sql).bind(args)`), and for the
// short statements Keygate sends, SQLite's prepare costs as much as running them. This gives the
// adapter's connection a prepare() that keeps compiled statements by SQL text (least recently used
// dropped first) and binds each call's arguments at execution instead of to the shared statement.
// Statements run synchronously to completion, so a cached one is never in use twice at once; SQLite
// recompiles a cached statement by itself if the schema changes under it.
import type BetterSqlite3 from 'better-sqlite3';

type Statement = BetterSqlite3.Statement<unknown[]>;

/** What the adapter does with a prepared statement, with the arguments bound per call. */
class BoundStatement {
  readonly #statement: Statement;
  readonly #args: unknown[];

  constructor(statement: Statement, args: unknown[]) {
    this.#statement = statement;
    this.#args = args;
  }

  get reader(): boolean {
    return this.#statement.reader;
  }

  bind(...args: unknown[]): BoundStatement {
    // The adapter passes one array; better-sqlite3 also takes the values one by one.
    return new BoundStatement(this.#statement, args.length === 1 && Array.isArray(args[0]) ? args[0] : args);
  }

  columns() {
    return this.#statement.columns();
  }

  run() {
    return this.#statement.run(...this.#args);
  }

  get() {
    return this.#statement.raw(false).get(...this.#args);
  }

  all() {
    return this.#statement.raw(false).all(...this.#args);
  }

  raw(toggle = true) {
    const statement = this.#statement;
    const args = this.#args;
    return {
      all: () => statement.raw(toggle).all(...args),
      get: () => statement.raw(toggle).get(...args),
    };
  }
}

export const STATEMENT_CACHE_SIZE = 256;

/** Replaces `connection.prepare` with a caching one; returns the connection. */
export function cacheStatements<T extends BetterSqlite3.Database>(connection: T, size = STATEMENT_CACHE_SIZE): T {
  const prepare = connection.prepare.bind(connection) as (sql: string) => Statement;
  const cache = new Map<string, Statement>();
  const cached = (sql: string): BoundStatement => {
    let statement = cache.get(sql);
    if (statement) {
      cache.delete(sql); // refresh its place in the LRU order
    } else {
      statement = prepare(sql);
      if (cache.size >= size) {
        const oldest = cache.keys().next().value;
        if (oldest !== undefined) cache.delete(oldest);
      }
    }
    cache.set(sql, statement);
    return new BoundStatement(statement, []);
  };
  (connection as unknown as { prepare: typeof cached }).prepare = cached;
  return connection;
}

/**
 * PostgreSQL: names for Prisma's statements, so that the pg driver prepares each SQL text once per
 * connection and afterwards only binds and executes it (PostgreSQL parses and plans an unnamed
 * statement on every call: for a page of keys that cost more than running it). The first `size`
 * distinct texts get a name; later ones stay unnamed, which bounds what each connection keeps on the
 * server (Keygate sends a few dozen texts; IN lists of many lengths are what could make more).
 */
export function statementNames(size = STATEMENT_CACHE_SIZE): (query: { sql: string }) => string | undefined {
  const names = new Map<string, string>();
  return ({ sql }) => {
    let name = names.get(sql);
    if (name === undefined && names.size < size) {
      name = `keygate_${names.size}`;
      names.set(sql, name);
    }
    return name;
  };
}
