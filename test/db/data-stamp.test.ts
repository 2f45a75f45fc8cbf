// The data stamp that cached reads hang on: unchanged by reads, changed by every commit, whichever
// connection or process made it, and on PostgreSQL also by a commit that was under way when it was taken.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/client.ts';
import { createDataStamp, type DataStamp, shared } from '../../src/db/data-stamp.ts';
import { createOrganization } from '../../src/domain/organizations.ts';
import { createTestDatabase, type Provider, providers, type TestDatabase } from '../helpers/databases.ts';

/** A fresh database of `provider` and its stamp, for the tests of one describe. */
function withStamp(provider: Provider) {
  const state = {} as { db: TestDatabase; stamp: DataStamp };
  beforeAll(async () => {
    state.db = await createTestDatabase(provider);
    state.stamp = createDataStamp(state.db.database.raw);
  });
  afterAll(() => state.db.drop());
  return state;
}

describe.each(providers)('data stamp on %s', (provider) => {
  const state = withStamp(provider);

  it('stays the same across reads', async () => {
    // On PostgreSQL a commit anywhere in the cluster (other test files run in parallel) changes it:
    // some of a few tries must see it unchanged; if reads changed it, none would.
    let unchanged = 0;
    for (let round = 0; round < 50 && unchanged === 0; round++) {
      const before = await state.stamp();
      await state.db.database.prisma.organization.findMany();
      await state.db.database.prisma.$queryRaw`SELECT 1`;
      if ((await state.stamp()) === before) unchanged++;
    }
    expect(unchanged).toBe(1);
  });

  it("changes with a commit through this process's Prisma client", async () => {
    const before = await state.stamp();
    await createOrganization(state.db.database.prisma, { name: 'through Prisma' });
    expect(await state.stamp()).not.toBe(before);
  });

  it('changes with a commit through another connection (another process)', async () => {
    const other = await openDatabase(state.db.config);
    try {
      const before = await state.stamp();
      await other.prisma.organization.update({
        where: { id: (await other.prisma.organization.findFirstOrThrow()).id },
        data: { name: 'renamed elsewhere' },
      });
      const after = await state.stamp();
      expect(after).not.toBe(before);
      expect(await state.stamp()).toBe(after);
    } finally {
      await other.close();
    }
  });
});

describe.runIf(providers.includes('sqlite'))('data stamp on sqlite only', () => {
  const state = withStamp('sqlite');

  it('is not changed by a write that was rolled back', async () => {
    const before = await state.stamp();
    await expect(
      state.db.database.prisma.$transaction(async (tx) => {
        await tx.organization.create({ data: { id: '01M8F2524XR56JFD61C6AP0100', name: 'rolled back' } });
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await state.stamp()).toBe(before);
  });
});

describe.runIf(providers.includes('postgresql'))('data stamp on postgresql only', () => {
  const state = withStamp('postgresql');

  it('differs once a transaction that was under way when it was taken has committed', async () => {
    if (state.db.config.provider !== 'postgresql') throw new Error('expected PostgreSQL');
    const client = new pg.Client({ connectionString: state.db.config.url });
    await client.connect();
    try {
      await client.query('BEGIN');
      await client.query(
        `INSERT INTO "Organization" ("id", "name") VALUES ('01M8F2524XR56JFD61C6AP00FZ', 'in flight')`,
      );
      const during = await state.stamp();
      await client.query('COMMIT');
      expect(await state.stamp()).not.toBe(during);
    } finally {
      await client.end();
    }
  });
});

describe('shared readings (PostgreSQL stamps)', () => {
  /** A reading per call of read(), each answered when the test says. */
  function readings() {
    const pending: Array<{ value: string; answer: () => void; fail: (error: Error) => void }> = [];
    let sent = 0;
    const read = () =>
      new Promise<string>((resolve, reject) => {
        const value = `reading ${++sent}`;
        pending.push({ value, answer: () => resolve(value), fail: reject });
      });
    return { read, pending, sent: () => sent };
  }
  const settle = () => new Promise((resolve) => setImmediate(resolve));

  it('a lone caller gets a reading of its own', async () => {
    const r = readings();
    const stamp = shared(r.read);
    const first = stamp();
    r.pending[0]?.answer();
    expect(await first).toBe('reading 1');
    const second = stamp();
    r.pending[1]?.answer();
    expect(await second).toBe('reading 2');
  });

  it('callers that come while a reading is on its way share the next one, sent once that one is answered', async () => {
    const r = readings();
    const stamp = shared(r.read);
    const early = stamp();
    const late = [stamp(), stamp(), stamp()];
    expect(r.sent()).toBe(1); // the late ones do not take the reading sent before they asked
    r.pending[0]?.answer();
    expect(await early).toBe('reading 1');
    await settle();
    expect(r.sent()).toBe(2);
    r.pending[1]?.answer();
    expect(await Promise.all(late)).toEqual(['reading 2', 'reading 2', 'reading 2']);
    expect(r.sent()).toBe(2);
  });

  it('a failed reading fails the callers who waited for it, and the next caller sends a new one', async () => {
    const r = readings();
    const stamp = shared(r.read);
    const first = stamp();
    const second = stamp();
    r.pending[0]?.fail(new Error('database down'));
    await expect(first).rejects.toThrow('database down');
    await settle();
    r.pending[1]?.fail(new Error('still down'));
    await expect(second).rejects.toThrow('still down');
    const third = stamp();
    r.pending[2]?.answer();
    expect(await third).toBe('reading 3');
  });
});
