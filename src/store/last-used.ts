// The lastUsedAt flush's one statement (src/auth/last-used.ts batches the uses): many keys at once, its
// one parameter a JSON array of [id, time] pairs, and only ever forward, so several processes flushing
// in any order converge on the latest use.
import type { Db, Provider } from '../db/client.ts';

/**
 * Timestamps as Prisma stores them: ISO-8601 text ending in +00:00 on SQLite, UTC without a zone on
 * PostgreSQL (where a zone in the input of a `timestamp` is ignored: the text is UTC).
 */
const FLUSH_SQL: Record<Provider, string> = {
  sqlite: `UPDATE "ApiKey" SET "lastUsedAt" = v."at"
    FROM (SELECT json_extract(j.value, '$[0]') AS "id", json_extract(j.value, '$[1]') AS "at" FROM json_each(?) j) v
    WHERE "ApiKey"."id" = v."id"
      AND ("ApiKey"."lastUsedAt" IS NULL OR unixepoch("ApiKey"."lastUsedAt", 'subsec') < unixepoch(v."at", 'subsec'))`,
  postgresql: `UPDATE "ApiKey" k SET "lastUsedAt" = v."at"
    FROM (SELECT j->>0 AS "id", (j->>1)::timestamp(3) AS "at" FROM json_array_elements($1::json) j) v
    WHERE k."id" = v."id" AND (k."lastUsedAt" IS NULL OR k."lastUsedAt" < v."at")`,
};

const timeText: Record<Provider, (at: Date) => string> = {
  sqlite: (at) => at.toISOString().replace('Z', '+00:00'),
  postgresql: (at) => at.toISOString(),
};

/** Moves each key's lastUsedAt forward to its time (never back), in one statement. */
export function writeLastUsed(
  db: Db,
  provider: Provider,
  uses: ReadonlyArray<readonly [string, Date]>,
): Promise<number> {
  const toText = timeText[provider];
  return db.$executeRawUnsafe(FLUSH_SQL[provider], JSON.stringify(uses.map(([id, at]) => [id, toText(at)])));
}
