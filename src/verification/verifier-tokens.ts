// Verifier tokens (docs/rules.md, Verification): the operator's credentials for verification only,
// made by the administration CLI, optionally bound to one organization, shown once and stored only as
// a hash. Authentication with one is cached for a second: a deletion (by the CLI, in another process)
// takes effect everywhere within that second, and a busy service costs one lookup a second.
import { LRUCache } from 'lru-cache';
import type { Db } from '../db/client.ts';
import { notFound } from '../domain/errors.ts';
import { newId } from '../domain/ids.ts';
import { parseId, parseName } from '../domain/input.ts';
import { generateVerifierToken, hashToken } from '../domain/tokens.ts';

export interface VerifierRecord {
  id: string;
  name: string;
  /** null: verifies keys of every organization. */
  organizationId: string | null;
  createdAt: Date;
}

/** A request authenticated with a verifier token: it may call verification and nothing else. */
export interface VerifierCaller {
  kind: 'verifier';
  verifier: VerifierRecord;
}

const SELECT = { id: true, name: true, organizationId: true, createdAt: true } as const;

export async function createVerifier(
  db: Db,
  input: { name: string; organizationId: string | null },
  now: Date,
): Promise<{ verifier: VerifierRecord; token: string }> {
  const name = parseName(input.name);
  const token = generateVerifierToken();
  const verifier = await db.verifier.create({
    data: {
      id: newId(now.getTime()),
      name,
      organizationId: input.organizationId,
      hash: hashToken(token),
      createdAt: now,
    },
    select: SELECT,
  });
  return { verifier, token };
}

export function listVerifiers(db: Db): Promise<VerifierRecord[]> {
  return db.verifier.findMany({ select: SELECT, orderBy: { id: 'desc' } });
}

export async function deleteVerifier(db: Db, id: string): Promise<string> {
  parseId(id, 'id', 'a verifier');
  const { count } = await db.verifier.deleteMany({ where: { id } });
  if (count === 0) throw notFound(`Verifier "${id}" was not found.`);
  return id;
}

const CACHE_MS = 1_000;
const MAX_ENTRIES = 10_000;

/**
 * Verifier token → the verifier, with a short cache (see the top of the file). The authentication
 * pipeline (src/auth/authenticate.ts) asks by hash: `cached`, then `lookUpCaller`.
 */
export class VerifierTokens {
  readonly #db: Db;
  readonly #now: () => Date;
  readonly #entries = new LRUCache<string, { caller: VerifierCaller | null; cachedAt: number }>({ max: MAX_ENTRIES });

  constructor(db: Db, now: () => Date = () => new Date()) {
    this.#db = db;
    this.#now = now;
  }

  /**
   * What the cache knows of a well-formed verifier token's hash (the pipeline of
   * src/auth/authenticate.ts checks the format and hashes): the caller, null when known bad, undefined
   * when only a lookup (`lookUpCaller`) can tell.
   */
  cached(hash: string): VerifierCaller | null | undefined {
    const entry = this.#entries.get(hash);
    return entry && this.#now().getTime() - entry.cachedAt < CACHE_MS ? entry.caller : undefined;
  }

  /** The database's answer for a hash the cache did not know, kept for CACHE_MS. */
  async lookUpCaller(hash: string): Promise<VerifierCaller | null> {
    const row = await this.#db.verifier.findUnique({ where: { hash }, select: SELECT });
    const caller: VerifierCaller | null = row ? { kind: 'verifier', verifier: row } : null;
    this.#entries.set(hash, { caller, cachedAt: this.#now().getTime() });
    return caller;
  }
}
