// The types every domain module shares: what an operation is given (Domain, its dependencies), who asks
// (Caller) and who creates (Creator). Types only, so that the operations and the audit log can both
// import them without importing each other.
import type { Db } from '../db/client.ts';
import type { ReadRows } from '../db/raw-read.ts';
import type { KeyReading } from '../store/api-keys.ts';
import type { Access } from './access.ts';
import type { ReadCache } from './read-cache.ts';
import type { ApiKeyRecord } from './records.ts';

export type ApiKeyChange = { kind: 'created' | 'updated' | 'rotated' | 'deleted'; apiKeyId: string };

/**
 * The dependencies of the domain's operations: the database and its dialect (which also runs a change's
 * writes: Dialect.write), the clock, the caches, the limits.
 */
export interface Domain extends KeyReading {
  db: Db;
  now: () => Date;
  /** Called after a change has committed (cache invalidation in this process). */
  onChange?: (change: ApiKeyChange) => void;
  /**
   * Where `apiKey` and `apiKeys` keep what they read, served again while the database is unchanged
   * (mutations always read afresh). Cached values are shared between requests: never modify them.
   */
  reads: ReadCache;
  /**
   * Keys an organization may hold; a creation past it is refused (FORBIDDEN). 0: no limit. Unset:
   * DEFAULT_MAX_KEYS_PER_ORGANIZATION.
   */
  maxKeysPerOrganization?: number;
  /**
   * Plain reads of committed data outside any transaction, straight on the driver, every row of a
   * statement by column name (src/db/raw-read.ts).
   */
  readRows: ReadRows;
  /**
   * Embedded database only: reads inside the transaction this process has open, on the connection it
   * runs on (src/db/client.ts, RawDriver's writer), straight rather than through Prisma. Only inside
   * `db.$transaction` (which holds that connection for itself): there a statement read so is one of
   * the transaction's, with the same snapshot. A mutation re-reads its caller so (lockCaller).
   */
  transactionRows?: ReadRows;
}

/** The authenticated key of a request and what it may do. */
export interface Caller {
  /** Tells it from a verifier token's caller (src/verification/principal.ts). */
  kind?: 'apiKey';
  key: ApiKeyRecord;
  access: Access;
  /**
   * The token the request was sent with: its row's id (not a secret: never shown, unlike its hash) and
   * its own expiry, the end of a rotation's grace period (null for the key's current token). A token in
   * its grace period is a credential that ends then: the lifetime rule (docs/rules.md, Expiry) holds it
   * to that end, and a mutation re-reads it in its transaction like the key (src/domain/api-keys.ts).
   */
  token: CallerToken;
}

export interface CallerToken {
  id: string;
  expiresAt: Date | null;
}

/** Who creates a key: an API caller, or a named user acting through the administration CLI. */
export type Creator = { kind: 'key'; caller: Caller } | { kind: 'user'; organizationId: string; userId: string };
