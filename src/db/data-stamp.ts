// A stamp of everything committed to the database: two readings are equal only if nothing was committed
// in between, by this process or any other. Reads that may be served again (src/domain/read-cache.ts)
// take a stamp before they read, and are reused only while the stamp is the same.
//
// It is read on the raw driver, like the token lookup: it runs before every cached read, and a Prisma
// query would cost more than the reads it saves.
import type { RawDriver } from './client.ts';

export type DataStamp = () => Promise<string>;

/**
 * SQLite: `PRAGMA data_version` of the raw connection, which changes whenever another connection
 * commits (Prisma's own connection included; the raw one is read-only and commits nothing), ~1 µs.
 *
 * PostgreSQL: the current snapshot, `xmin:xmax:in-progress xids`. A commit or abort anywhere in the
 * cluster removes a transaction from the in-progress list or moves xmax, so equal snapshots see the
 * same committed transactions, that is the same data. A transaction that is committing (its commit
 * record written, the WAL flush awaited) is still in progress in the snapshot, so it cannot slip in
 * between a stamp and a read the way a WAL position would let it. One round trip, ~0.1 ms.
 */
export function createDataStamp(raw: RawDriver): DataStamp {
  if (raw.provider === 'sqlite') {
    const version = raw.connection.prepare<[], number>('PRAGMA data_version').pluck();
    return async () => String(version.get());
  }
  const pool = raw.pool;
  const query = { name: 'keygate_data_stamp', text: 'SELECT pg_current_snapshot()::text AS "stamp"' };
  return async () => {
    const { rows } = await pool.query<{ stamp: string }>(query);
    return (rows[0] as { stamp: string }).stamp;
  };
}
