// The statement cache under Prisma's SQLite adapter: the same answers as fresh statements, one compile
// per SQL text, a bounded number kept.
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { cacheStatements, statementNames } from '../../src/db/statement-cache.ts';

function database() {
  const connection = new BetterSqlite3(':memory:');
  connection.defaultSafeIntegers(true);
  connection.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)');
  const prepared: string[] = [];
  const original = connection.prepare.bind(connection);
  (connection as unknown as { prepare: (sql: string) => unknown }).prepare = (sql: string) => {
    prepared.push(sql);
    return original(sql);
  };
  return { connection, prepared };
}

describe('statement cache', () => {
  it('answers as the adapter expects, binding arguments per call, and compiles each SQL text once', () => {
    const { connection, prepared } = database();
    cacheStatements(connection);
    const insert = 'INSERT INTO t (id, name) VALUES (?, ?)';
    expect(connection.prepare(insert).bind([1, 'one']).run().changes).toBe(1);
    expect(connection.prepare(insert).bind([2, 'two']).run().changes).toBe(1);
    const select = 'SELECT id, name FROM t WHERE id >= ? ORDER BY id';
    const statement = connection.prepare(select).bind([1]);
    expect(statement.reader).toBe(true);
    expect(statement.columns().map((column) => column.name)).toEqual(['id', 'name']);
    expect(statement.raw().all()).toEqual([
      [1n, 'one'],
      [2n, 'two'],
    ]);
    expect(connection.prepare(select).bind([2]).raw().all()).toEqual([[2n, 'two']]);
    expect(connection.prepare(insert).bind([3, 'three']).reader).toBe(false);
    connection.prepare('BEGIN').run();
    connection.prepare('COMMIT').run();
    expect(prepared).toEqual([insert, select, 'BEGIN', 'COMMIT']);
  });

  it('keeps at most its size, dropping the least recently used', () => {
    const { connection, prepared } = database();
    cacheStatements(connection, 2);
    const a = 'SELECT 1';
    const b = 'SELECT 2';
    const c = 'SELECT 3';
    for (const sql of [a, b, a, c, a, b]) connection.prepare(sql).raw().all();
    // a, b compiled; a reused; c evicts b; a reused; b compiled again.
    expect(prepared).toEqual([a, b, c, b]);
  });

  it('still reports errors of a bad statement or bad arguments', () => {
    const { connection } = database();
    cacheStatements(connection);
    expect(() => connection.prepare('SELEKT 1')).toThrow(/syntax error/);
    connection.prepare('INSERT INTO t (id, name) VALUES (?, ?)').bind([1, 'one']).run();
    expect(() => connection.prepare('INSERT INTO t (id, name) VALUES (?, ?)').bind([1, 'again']).run()).toThrow(
      /UNIQUE/,
    );
  });
});

describe('statement names (PostgreSQL)', () => {
  it('gives each SQL text one name, the same every time, and no name past its bound', () => {
    const name = statementNames(2);
    const a = name({ sql: 'SELECT 1' });
    const b = name({ sql: 'SELECT 2' });
    expect(a).toMatch(/^keygate_/);
    expect(b).toMatch(/^keygate_/);
    expect(b).not.toBe(a);
    expect(name({ sql: 'SELECT 1' })).toBe(a);
    expect(name({ sql: 'SELECT 3' })).toBeUndefined();
    expect(name({ sql: 'SELECT 2' })).toBe(b);
  });
});
