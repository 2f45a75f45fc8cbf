// The gate on PRAGMA data_version (src/db/wal-index.ts): SQLite is asked again after every commit,
// whichever connection or process made it, also after a checkpoint emptied the WAL, and not while
// nothing was committed, reads included.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openWalIndex, type WalIndex } from '../../src/db/wal-index.ts';
import { createOrganization } from '../../src/domain/organizations.ts';
import { createTestDatabase } from '../helpers/databases.ts';

describe('the WAL index gate', () => {
  let dir: string;
  let file: string;
  let writer: BetterSqlite3.Database;
  let reader: BetterSqlite3.Database;
  let index: WalIndex;
  /** How often the gated reading asked SQLite. */
  let asked: number;
  let gated: () => number;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'keygate-wal-index-'));
    file = join(dir, 'test.db');
    writer = new BetterSqlite3(file);
    writer.pragma('journal_mode = WAL');
    writer.exec('CREATE TABLE t (n INTEGER)');
    reader = new BetterSqlite3(file, { readonly: true });
    const version = reader.prepare<[], number>('PRAGMA data_version').pluck();
    index = openWalIndex(file);
    asked = 0;
    gated = index.gate(() => {
      asked++;
      return version.get() as number;
    });
  });

  afterEach(() => {
    index.close();
    reader.close();
    writer.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('asks once while nothing is committed, reads included', () => {
    const first = gated();
    writer.prepare('SELECT COUNT(*) FROM t').get();
    reader.prepare('SELECT COUNT(*) FROM t').get();
    expect(gated()).toBe(first);
    expect(gated()).toBe(first);
    expect(asked).toBe(1);
  });

  it('asks again after a commit of another connection, and gives the new reading', () => {
    const first = gated();
    writer.prepare('INSERT INTO t VALUES (1)').run();
    const second = gated();
    expect(second).not.toBe(first);
    expect(asked).toBe(2);
    expect(gated()).toBe(second);
    expect(asked).toBe(2);
  });

  it('asks again after a commit of another process', () => {
    const first = gated();
    const script = `const D = require('better-sqlite3'); const d = new D(${JSON.stringify(file)}); d.prepare('INSERT INTO t VALUES (2)').run(); d.close();`;
    execFileSync(process.execPath, ['-e', script], { cwd: process.cwd() });
    expect(gated()).not.toBe(first);
  });

  it('asks again after a commit that restarted the WAL after a checkpoint', () => {
    writer.prepare('INSERT INTO t VALUES (3)').run();
    const before = gated();
    writer.pragma('wal_checkpoint(TRUNCATE)');
    writer.prepare('INSERT INTO t VALUES (4)').run();
    expect(gated()).not.toBe(before);
    expect(asked).toBe(2);
  });

  it('asks every time when the database has no WAL index', () => {
    const plain = join(dir, 'plain.db');
    const db = new BetterSqlite3(plain);
    const noIndex = openWalIndex(plain);
    try {
      let times = 0;
      const reading = noIndex.gate(() => ++times);
      reading();
      reading();
      expect(times).toBe(2);
    } finally {
      noIndex.close();
      db.close();
    }
  });
});

describe('the embedded database as the server opens it', () => {
  it('has its WAL index open: its readings are gated from the start', async () => {
    const db = await createTestDatabase('sqlite');
    try {
      const raw = db.database.raw;
      if (raw.provider !== 'sqlite') throw new Error('expected the embedded database');
      let asked = 0;
      const reading = raw.walIndex.gate(() => ++asked);
      reading();
      reading();
      expect(asked).toBe(1);
      await createOrganization(db.database.prisma, { name: 'a commit' });
      reading();
      expect(asked).toBe(2);
    } finally {
      await db.drop();
    }
  });
});
