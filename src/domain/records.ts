// A key as the domain reads it: its row and its grants. Types only, for the store (src/domain/store.ts)
// and the row decoders (src/store/rows.ts) to share without importing each other.
import type { Grants } from './access.ts';

export interface ApiKeyRecord {
  id: string;
  organizationId: string;
  name: string;
  createdAt: Date;
  tokenLastIssuedAt: Date;
  lastUsedAt: Date | null;
  creatorKeyId: string | null;
  creatorKeyName: string | null;
  creatorUserId: string | null;
  /** null: never expires (docs/rules.md, Expiry). */
  expiresAt: Date | null;
  /**
   * The row's change counter (see prisma/schema.prisma) when the record was read with it; lockApiKey
   * uses it to tell whether the key changed since.
   */
  version?: number;
  grants: Grants;
  /** The teams of grants.teamIds, same order. */
  teams: Array<{ id: string; name: string }>;
}

export type ApiKeyRow = Omit<ApiKeyRecord, 'grants' | 'teams'>;
