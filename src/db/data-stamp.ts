// A stamp of everything committed to the database: two readings are equal only if nothing was committed
// in between, by this process or any other. Reads that may be served again (src/domain/read-cache.ts)
// take a stamp before they read, and are reused only while the stamp is the same.
//
// It is read on the raw driver, like the token lookup: it runs before every cached read, and a Prisma
// query would cost more than the reads it saves.
import type { QueryListener, RawDriver } from './client.ts';

export type DataStamp = () => Promise<string>;

/**
 * SQLite: `PRAGMA data_version` of the raw connection, which changes whenever another connection
 * commits (Prisma's own connection included; the raw one is read-only and commits nothing), asked
 * only when the WAL index says something may have been committed (src/db/wal-index.ts).
 *
 * PostgreSQL: the current snapshot, `xmin:xmax:in-progress xids`. A commit or abort anywhere in the
 * cluster removes a transaction from the in-progress list or moves xmax, so equal snapshots see the
 * same committed transactions, that is the same data. A transaction that is committing (its commit
 * record written, the WAL flush awaited) is still in progress in the snapshot, so it cannot slip in
 * between a stamp and a read the way a WAL position would let it. One round trip, shared by the reads
 * that ask meanwhile (see `shared`).
 */
export function createDataStamp(raw: RawDriver, onQuery?: QueryListener): DataStamp {
  if (raw.provider === 'sqlite') {
    const text = 'PRAGMA data_version';
    const version = raw.connection.prepare<[], number>(text).pluck();
    const read = raw.walIndex.gate(() => {
      onQuery?.(text);
      return version.get() as number;
    });
    return async () => String(read());
  }
  const pool = raw.pool;
  const query = { name: 'keygate_data_stamp', text: 'SELECT pg_current_snapshot()::text AS "stamp"' };
  return shared(async () => {
    onQuery?.(query.text);
    const { rows } = await pool.query<{ stamp: string }>(query);
    return (rows[0] as { stamp: string }).stamp;
  });
}

const ignore = () => {};

/**
 * Lets concurrent callers share round trips: while one reading is on its way, callers wait for the
 * next one, sent as soon as that one is answered, and share it. Not the one on its way: it may have
 * been taken before they were called, and so miss a change committed just before. Every caller gets a
 * reading taken after it called; under load there is one round trip at a time instead of one per read.
 */
export function shared(read: () => Promise<string>): () => Promise<string> {
  let sent: Promise<string> | null = null;
  let queued: Promise<string> | null = null;
  const send = () => {
    const reading = read();
    sent = reading;
    const done = () => {
      if (sent === reading) sent = null;
    };
    reading.then(done, done);
    return reading;
  };
  return () => {
    if (!sent) return send();
    queued ??= sent.then(ignore, ignore).then(() => {
      queued = null;
      return send();
    });
    return queued;
  };
}
