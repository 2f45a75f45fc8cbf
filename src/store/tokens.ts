// The hot lookup: token hash → key and grants, as raw prepared statements on the driver under
// Prisma (a Prisma query costs ~0.3–0.6 ms here, a prepared statement ~0.01–0.09 ms). Everything
// else stays on Prisma. One index lookup: the token (unique hash) with its key, whose row holds its
// grants (the "grants" column, src/store/key-columns.ts). On PostgreSQL the hashes asked for together
// share the statement (batchedFinder). Hashes are asked for as the hexadecimal text the caches key
// by; the column holds their 32 bytes, which the statements decode the text to (`unhex`, `decode`).
import type { RawDriver } from '../db/client.ts';
import type { ApiKeyRow } from '../domain/records.ts';
import { timestampText, toDate } from './dialect.ts';
import { KEY_COLUMN_NAMES, TIMESTAMP_COLUMNS } from './key-columns.ts';
import type { GrantsValue } from './rows.ts';

export interface TokenMatch {
  key: ApiKeyRow;
  /** The token's row id (src/domain/types.ts, CallerToken). */
  tokenId: string;
  /** The token's own expiry (end of a rotation grace period); the key's is key.expiresAt. */
  expiresAt: Date | null;
  /** The key's grants, its "grants" column parsed. */
  grants: GrantsValue;
}

/** Finds the token of a hash, with its key and grants; null when no token has it. */
export type FindToken = (hash: string) => Promise<TokenMatch | null>;

// `@param` placeholders are rewritten per driver ($1 for pg; better-sqlite3 takes them as they are).
/** The token whose hash matches `condition` (on `t`), with its key; `extra`: more columns, after a comma. */
function tokenSql(provider: RawDriver['provider'], condition = 't."hash" = unhex(@hash)', extra = ''): string {
  const castDate = (column: string) => timestampText(provider, column);
  const columns = KEY_COLUMN_NAMES.map((c) =>
    TIMESTAMP_COLUMNS.has(c) ? `${castDate(`k."${c}"`)} AS "${c}"` : `k."${c}"`,
  );
  return `SELECT ${columns.join(', ')}, k."grants", t."id" AS "tokenId", ${castDate('t."expiresAt"')} AS "tokenExpiresAt"${extra}
    FROM "ApiKeyToken" t JOIN "ApiKey" k ON k."id" = t."apiKeyId" WHERE ${condition}`;
}

type RawRow = Record<string, string | null>;

function toMatch(row: RawRow, provider: RawDriver['provider']): TokenMatch {
  return {
    key: {
      id: row.id as string,
      organizationId: row.organizationId as string,
      name: row.name as string,
      createdAt: toDate(row.createdAt ?? null, provider) as Date,
      tokenLastIssuedAt: toDate(row.tokenLastIssuedAt ?? null, provider) as Date,
      lastUsedAt: toDate(row.lastUsedAt ?? null, provider),
      creatorKeyId: row.creatorKeyId ?? null,
      creatorKeyName: row.creatorKeyName ?? null,
      creatorUserId: row.creatorUserId ?? null,
      expiresAt: toDate(row.expiresAt ?? null, provider),
    },
    tokenId: row.tokenId as string,
    expiresAt: toDate(row.tokenExpiresAt ?? null, provider),
    grants: JSON.parse(row.grants as string) as GrantsValue,
  };
}

/** The token of one hash (SQLite; `@hash` the hexadecimal text). */
export const TOKEN_OF_HASH_SQL = tokenSql('sqlite');

/** The lookup of token hashes on a driver: its statements are prepared once, here. */
export function tokenFinder(raw: RawDriver): FindToken {
  if (raw.provider === 'sqlite') {
    const token = raw.connection.prepare<{ hash: string }, RawRow>(TOKEN_OF_HASH_SQL);
    return async (hash) => {
      const row = token.get({ hash });
      return row ? toMatch(row, 'sqlite') : null;
    };
  }
  return batchedFinder(raw.pool);
}

// The batched statements look up each value of their array on its own (a LATERAL subquery per value,
// kept apart by OFFSET 0), not with `= ANY($1)`: they are prepared, and PostgreSQL's plan for a
// prepared statement is made once for any array. With `= ANY` that plan, made while the tables were
// small, scanned them whole and hash-joined them, and was kept as they grew: at 1k keys after the
// benchmark's writes, a fresh unknown token cost 0.4 ms of CPU against 0.17 ms at 1M keys, whose plan
// used the indexes. One index lookup per value is the best plan at every size
// (test/db/token-lookup.test.ts holds the plans).
//
// The array is unnested from a subquery, `unnest((SELECT $1::text[]))`, so that the planner cannot see
// how many values it holds, in a plan for the values given or in the generic one. Given `$1` itself, it
// counted the values of each execution (one or a few) and found every plan for them cheaper than the
// generic plan (made for unnest's default of 100 values), so it planned the statement again on every
// execution, forever: about 0.15 ms of PostgreSQL's CPU per lookup, three times the lookup itself
// (0.2 ms against 0.05 ms a lookup of an unknown token, at 11k and at 1M keys). Now both plans are
// costed alike and PostgreSQL keeps the generic one after its first five executions.
/** unnest of the array `$1`, its length hidden from the planner (see above). */
const UNNEST_PARAMETER = 'unnest((SELECT $1::text[]))';
/** The tokens of many hashes at once (PostgreSQL), each row with its hash. */
export const TOKENS_OF_HASHES_SQL = `SELECT x.* FROM ${UNNEST_PARAMETER} AS h("hash") CROSS JOIN LATERAL (
  ${tokenSql('postgresql', `t."hash" = decode(h."hash", 'hex')`, ', h."hash" AS "tokenHash"')} OFFSET 0) x`;

/** The most hashes one statement looks up. */
const MAX_BATCH = 500;

interface Pending {
  hash: string;
  resolve: (match: TokenMatch | null) => void;
  reject: (error: unknown) => void;
}

/**
 * PostgreSQL: the hashes asked for during one turn of the event loop are looked up together, in one
 * round trip, instead of one connection and one round trip each. Requests that come together (many
 * connections, or a flood of made-up tokens) share the statement; a hash asked for alone waits for
 * nothing more than the rest of its turn. A failed statement fails every lookup of its batch.
 */
function batchedFinder(pool: Extract<RawDriver, { provider: 'postgresql' }>['pool']): FindToken {
  let batch: Pending[] = [];
  const run = async (pending: Pending[]) => {
    const hashes = [...new Set(pending.map((p) => p.hash))];
    const matches = new Map<string, TokenMatch>();
    const client = await pool.connect();
    try {
      const { rows } = await client.query<RawRow>({
        name: 'keygate_tokens_lookup',
        text: TOKENS_OF_HASHES_SQL,
        values: [hashes],
      });
      for (const row of rows) matches.set(row.tokenHash as string, toMatch(row, 'postgresql'));
    } finally {
      client.release();
    }
    for (const p of pending) p.resolve(matches.get(p.hash) ?? null);
  };
  const send = (pending: Pending[]) => {
    run(pending).catch((error: unknown) => {
      for (const p of pending) p.reject(error);
    });
  };
  const flush = () => {
    if (batch.length === 0) return;
    const pending = batch;
    batch = [];
    send(pending);
  };
  return (hash) =>
    new Promise<TokenMatch | null>((resolve, reject) => {
      if (batch.length === 0) setImmediate(flush);
      // A flood of made-up tokens in one turn goes out in statements of at most MAX_BATCH hashes.
      // (The turn's flush, already scheduled, takes the rest.)
      else if (batch.length >= MAX_BATCH) {
        send(batch);
        batch = [];
      }
      batch.push({ hash, resolve, reject });
    });
}
