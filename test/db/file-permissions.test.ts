// The embedded database holds token hashes and every key's grants: its data directory is created
// 0700 and its files (the database and SQLite's -wal and -shm) are 0600, whatever the umask; files
// an earlier version left readable to others are tightened on open (issue 12, item 9).
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, SQLITE_FILE } from '../../src/db/client.ts';
import { migrate } from '../../src/db/migrate.ts';

const mode = (path: string) => statSync(path).mode & 0o777;

describe('file permissions of the embedded database', () => {
  let root: string;
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('creates the data directory 0700 and the database, -wal and -shm files 0600', async () => {
    root = mkdtempSync(join(tmpdir(), 'keygate-perms-'));
    const dataDir = join(root, 'nested', 'data');
    const database = await openDatabase({ provider: 'sqlite', dataDir });
    try {
      await migrate(database);
      await database.prisma.organization.create({ data: { id: '01HV0000000000000000000ORG', name: 'o' } });
      expect(mode(dataDir).toString(8)).toBe('700');
      for (const suffix of ['', '-wal', '-shm']) {
        const file = join(dataDir, `${SQLITE_FILE}${suffix}`);
        expect(existsSync(file), file).toBe(true);
        expect({ file: suffix || 'db', mode: mode(file).toString(8) }).toEqual({ file: suffix || 'db', mode: '600' });
      }
    } finally {
      await database.close();
    }
  });

  it('tightens files and a directory that an earlier start left readable to others', async () => {
    root = mkdtempSync(join(tmpdir(), 'keygate-perms-'));
    const dataDir = join(root, 'data');
    mkdirSync(dataDir, { mode: 0o755 });
    chmodSync(dataDir, 0o755);
    for (const suffix of ['', '-wal', '-shm']) {
      const file = join(dataDir, `${SQLITE_FILE}${suffix}`);
      writeFileSync(file, '');
      chmodSync(file, 0o644);
    }
    const database = await openDatabase({ provider: 'sqlite', dataDir });
    try {
      await migrate(database);
      expect(mode(dataDir).toString(8)).toBe('700');
      for (const suffix of ['', '-wal', '-shm']) {
        expect(mode(join(dataDir, `${SQLITE_FILE}${suffix}`)).toString(8)).toBe('600');
      }
    } finally {
      await database.close();
    }
  });
});
