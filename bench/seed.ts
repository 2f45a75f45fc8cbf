// Loads many API keys straight into a Keygate database, bypassing Prisma and the API: one ApiKey row,
// one ApiKeyRole row ('viewer') and one ApiKeyToken row per key, in the first organization, created by
// its first user. Token hashes are SHA-256 of random strings: the rows are realistic for the indexes and
// the planner, but no seeded key can authenticate. Tops up to a total, so it can be called repeatedly.
//
//   npx tsx bench/seed.ts 1000000                    # embedded database in KEYGATE_DATA_DIR (./data)
//   DATABASE_URL=postgresql://… npx tsx bench/seed.ts 1000000
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import Sqlite from 'better-sqlite3';
import pg from 'pg';
import { monotonicFactory } from 'ulidx';
import { hashToken } from '../src/domain/tokens.ts';

export type SeedTarget = { provider: 'sqlite'; file: string } | { provider: 'postgresql'; url: string };

export interface SeedResult {
  /** Keys inserted by this call. */
  inserted: number;
  /** ApiKey rows in the database afterwards. */
  total: number;
  /** An inserted key (near the middle of this call's batch), or null when nothing was inserted. */
  sampleKeyId: string | null;
  seconds: number;
}

const ROLE = 'viewer';
const SQLITE_BATCH = 50_000;
const PG_BATCH = 25_000;

interface Batch {
  keyIds: string[];
  names: string[];
  tokenIds: string[];
  hashes: string[];
}

function makeBatch(newId: () => string, start: number, size: number): Batch {
  const random = randomBytes(size * 24);
  const batch: Batch = { keyIds: [], names: [], tokenIds: [], hashes: [] };
  for (let i = 0; i < size; i++) {
    batch.keyIds.push(newId());
    batch.tokenIds.push(newId());
    batch.names.push(`bench key ${start + i + 1}`);
    const token = `seed_${random.toString('base64url', i * 24, (i + 1) * 24)}`;
    batch.hashes.push(hashToken(token));
  }
  return batch;
}

/** Prisma's text form of a DateTime in SQLite. */
const sqliteDate = (date: Date) => date.toISOString().replace('Z', '+00:00');

async function seedSqlite(file: string, total: number): Promise<Omit<SeedResult, 'seconds'>> {
  const db = new Sqlite(file, { timeout: 30_000 });
  try {
    db.pragma('journal_mode = WAL');
    // Only this connection's durability: a crash mid-seed loses the seed, not earlier data.
    db.pragma('synchronous = OFF');
    db.pragma('cache_size = -262144');
    const owner = db
      .prepare(
        'SELECT o.id AS organizationId, (SELECT u.id FROM "User" u WHERE u.organizationId = o.id ORDER BY u.id LIMIT 1) AS userId FROM "Organization" o ORDER BY o.id LIMIT 1',
      )
      .get() as { organizationId: string; userId: string | null } | undefined;
    if (!owner) throw new Error(`${file} has no organization: start Keygate once to bootstrap it`);
    const existing = (db.prepare('SELECT count(*) AS n FROM "ApiKey"').get() as { n: number }).n;
    const missing = Math.max(0, total - existing);

    const insertKey = db.prepare(
      'INSERT INTO "ApiKey" (id, organizationId, name, createdAt, tokenLastIssuedAt, creatorUserId) VALUES (?, ?, ?, ?, ?, ?)',
    );
    const insertRole = db.prepare('INSERT INTO "ApiKeyRole" (apiKeyId, roleName) VALUES (?, ?)');
    const insertToken = db.prepare(
      'INSERT INTO "ApiKeyToken" (id, apiKeyId, hash, createdAt, expiresAt) VALUES (?, ?, unhex(?), ?, NULL)',
    );
    const insertBatch = db.transaction((batch: Batch, createdAt: string) => {
      for (let i = 0; i < batch.keyIds.length; i++) {
        const keyId = batch.keyIds[i] as string;
        insertKey.run(keyId, owner.organizationId, batch.names[i], createdAt, createdAt, owner.userId);
        insertRole.run(keyId, ROLE);
        insertToken.run(batch.tokenIds[i], keyId, batch.hashes[i], createdAt);
      }
    });

    const newId = monotonicFactory();
    let sampleKeyId: string | null = null;
    for (let done = 0; done < missing; ) {
      const size = Math.min(SQLITE_BATCH, missing - done);
      const batch = makeBatch(newId, existing + done, size);
      const middle = Math.floor(missing / 2) - done;
      if (middle >= 0 && middle < size) sampleKeyId = batch.keyIds[middle] ?? null;
      insertBatch(batch, sqliteDate(new Date()));
      done += size;
    }
    db.pragma('wal_checkpoint(TRUNCATE)');
    return { inserted: missing, total: existing + missing, sampleKeyId };
  } finally {
    db.close();
  }
}

const PG_WRITERS = 2;

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('SET synchronous_commit = off');
  try {
    // Skips the foreign-key triggers, as pg_restore --disable-triggers does: the rows are consistent by
    // construction. Needs a superuser; without one the load is slower, not wrong.
    await client.query('SET session_replication_role = replica');
  } catch {}
  return client;
}

async function seedPostgres(url: string, total: number): Promise<Omit<SeedResult, 'seconds'>> {
  const writers = await Promise.all(Array.from({ length: PG_WRITERS }, () => connect(url)));
  const [client] = writers as [pg.Client];
  try {
    const owner = await client.query<{ organizationId: string; userId: string | null }>(
      'SELECT o.id AS "organizationId", (SELECT u.id FROM "User" u WHERE u."organizationId" = o.id ORDER BY u.id LIMIT 1) AS "userId" FROM "Organization" o ORDER BY o.id LIMIT 1',
    );
    const { organizationId, userId } = owner.rows[0] ?? {};
    if (!organizationId) throw new Error('the database has no organization: start Keygate once to bootstrap it');
    const existing = Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM "ApiKey"')).rows[0]?.n ?? 0);
    const missing = Math.max(0, total - existing);

    // One statement per table and batch: arrays travel as single parameters and unnest() turns them into rows.
    const insert = async (writer: pg.Client, batch: Batch, createdAt: Date) => {
      await writer.query('BEGIN');
      await writer.query(
        `INSERT INTO "ApiKey" (id, "organizationId", name, "createdAt", "tokenLastIssuedAt", "creatorUserId")
         SELECT k.id, $3, k.name, $4, $4, $5 FROM unnest($1::text[], $2::text[]) AS k(id, name)`,
        [batch.keyIds, batch.names, organizationId, createdAt, userId],
      );
      await writer.query(
        'INSERT INTO "ApiKeyRole" ("apiKeyId", "roleName") SELECT k.id, $2 FROM unnest($1::text[]) AS k(id)',
        [batch.keyIds, ROLE],
      );
      await writer.query(
        `INSERT INTO "ApiKeyToken" (id, "apiKeyId", hash, "createdAt")
         SELECT t.id, t.key, decode(t.hash, 'hex'), $4 FROM unnest($1::text[], $2::text[], $3::text[]) AS t(id, key, hash)`,
        [batch.tokenIds, batch.keyIds, batch.hashes, createdAt],
      );
      await writer.query('COMMIT');
    };

    const newId = monotonicFactory();
    let sampleKeyId: string | null = null;
    let next = 0;
    // Each writer builds its next batch while PostgreSQL stores the other writer's.
    const work = async (writer: pg.Client) => {
      while (next < missing) {
        const done = next;
        const size = Math.min(PG_BATCH, missing - done);
        next += size;
        const batch = makeBatch(newId, existing + done, size);
        const middle = Math.floor(missing / 2) - done;
        if (middle >= 0 && middle < size) sampleKeyId = batch.keyIds[middle] ?? null;
        await insert(writer, batch, new Date());
      }
    };
    await Promise.all(writers.map(work));
    if (missing > 0) {
      // Statistics and the visibility map, as autovacuum would eventually leave them.
      await client.query('VACUUM (ANALYZE) "ApiKey", "ApiKeyRole", "ApiKeyToken"');
      // The seeding's dirty pages written out now, not by a checkpoint during the measured runs (the
      // server is pinned to one core, PostgreSQL is not: its checkpointer would compete with it).
      await client.query('CHECKPOINT');
    }
    return { inserted: missing, total: existing + missing, sampleKeyId };
  } finally {
    await Promise.all(writers.map((writer) => writer.end()));
  }
}

/** Inserts keys until the database holds `total` of them (none when it already does). */
export async function seedKeys(target: SeedTarget, total: number): Promise<SeedResult> {
  const started = performance.now();
  const result =
    target.provider === 'sqlite' ? await seedSqlite(target.file, total) : await seedPostgres(target.url, total);
  return { ...result, seconds: (performance.now() - started) / 1000 };
}

async function main() {
  const total = Number(process.argv[2]);
  if (!Number.isInteger(total) || total < 0) {
    console.error('usage: tsx bench/seed.ts <total number of keys>');
    process.exit(2);
  }
  const url = process.env.DATABASE_URL;
  const target: SeedTarget = url
    ? { provider: 'postgresql', url }
    : { provider: 'sqlite', file: join(resolve(process.env.KEYGATE_DATA_DIR || './data'), 'keygate.db') };
  const result = await seedKeys(target, total);
  console.log(JSON.stringify(result));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
