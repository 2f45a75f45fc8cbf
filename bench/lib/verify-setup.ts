// What the verification scenarios need, written straight into the database while the server runs
// (like bench/seed.ts): a verifier token, and VERIFY_KEYS keys ('viewer') whose tokens are known, in the
// first organization. Inserted once per database; the sizes seeded afterwards count them.
import Sqlite from 'better-sqlite3';
import pg from 'pg';
import { monotonicFactory } from 'ulidx';
import { generateToken, generateVerifierToken, hashToken } from '../../src/domain/tokens.ts';
import type { SeedTarget } from '../seed.ts';

export const VERIFY_KEYS = 10_000;

export interface VerifySetup {
  verifierToken: string;
  /** VERIFY_KEYS valid tokens, one per key. */
  tokens: string[];
}

export async function setUpVerification(target: SeedTarget): Promise<VerifySetup> {
  const newId = monotonicFactory();
  const verifierToken = generateVerifierToken();
  const tokens = Array.from({ length: VERIFY_KEYS }, () => generateToken());
  const keyIds = tokens.map(() => newId());
  const tokenIds = tokens.map(() => newId());
  const now = new Date();
  if (target.provider === 'sqlite') {
    const db = new Sqlite(target.file, { timeout: 30_000 });
    try {
      const org = (db.prepare('SELECT id FROM "Organization" ORDER BY id LIMIT 1').get() as { id: string }).id;
      const at = now.toISOString().replace('Z', '+00:00');
      db.transaction(() => {
        db.prepare('INSERT INTO "Verifier" (id, name, organizationId, hash, createdAt) VALUES (?, ?, NULL, ?, ?)').run(
          newId(),
          'bench verifier',
          hashToken(verifierToken),
          at,
        );
        const key = db.prepare(
          'INSERT INTO "ApiKey" (id, organizationId, name, createdAt, tokenLastIssuedAt) VALUES (?, ?, ?, ?, ?)',
        );
        const role = db.prepare('INSERT INTO "ApiKeyRole" (apiKeyId, roleName) VALUES (?, ?)');
        const token = db.prepare(
          'INSERT INTO "ApiKeyToken" (id, apiKeyId, hash, createdAt) VALUES (?, ?, unhex(?), ?)',
        );
        tokens.forEach((plain, i) => {
          key.run(keyIds[i], org, `bench verified key ${i + 1}`, at, at);
          role.run(keyIds[i], 'viewer');
          token.run(tokenIds[i], keyIds[i], hashToken(plain), at);
        });
      })();
    } finally {
      db.close();
    }
    return { verifierToken, tokens };
  }
  const client = new pg.Client({ connectionString: target.url });
  await client.connect();
  try {
    const org = (await client.query<{ id: string }>('SELECT id FROM "Organization" ORDER BY id LIMIT 1')).rows[0]?.id;
    await client.query('BEGIN');
    await client.query(
      'INSERT INTO "Verifier" (id, name, "organizationId", hash, "createdAt") VALUES ($1, $2, NULL, $3, $4)',
      [newId(), 'bench verifier', hashToken(verifierToken), now],
    );
    await client.query(
      `INSERT INTO "ApiKey" (id, "organizationId", name, "createdAt", "tokenLastIssuedAt")
       SELECT k.id, $2, 'bench verified key', $3, $3 FROM unnest($1::text[]) AS k(id)`,
      [keyIds, org, now],
    );
    await client.query(
      `INSERT INTO "ApiKeyRole" ("apiKeyId", "roleName") SELECT k.id, 'viewer' FROM unnest($1::text[]) AS k(id)`,
      [keyIds],
    );
    await client.query(
      `INSERT INTO "ApiKeyToken" (id, "apiKeyId", hash, "createdAt")
       SELECT t.id, t.key, decode(t.hash, 'hex'), $4 FROM unnest($1::text[], $2::text[], $3::text[]) AS t(id, key, hash)`,
      [tokenIds, keyIds, tokens.map(hashToken), now],
    );
    await client.query('COMMIT');
  } finally {
    await client.end();
  }
  return { verifierToken, tokens };
}
