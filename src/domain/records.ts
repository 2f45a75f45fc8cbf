// What the store (src/store/) gives the domain: a key with its grants, a page of keys, an audit event.
// Types only, so that the store and the domain share them without importing each other.
import type { Grants } from './access.ts';
import type { UserRecord } from './organizations.ts';

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
  grants: Grants;
  /** The teams of grants.teamIds, same order. */
  teams: Array<{ id: string; name: string }>;
}

export type ApiKeyRow = Omit<ApiKeyRecord, 'grants' | 'teams'>;

/** A page of keys of `apiKeys` (src/domain/key-list.ts), as the store reads it. */
export interface Page {
  keys: ApiKeyRecord[];
  hasNextPage: boolean;
  creatorUsers: UserRecord[];
  /** The key of the filter it was read under, for its cursors. */
  filterKey: string;
}

export type AuditAction = 'api_key.created' | 'api_key.updated' | 'api_key.rotated' | 'api_key.deleted';

/** Facts only some actions have; null where they do not apply. */
export interface AuditDetails {
  /** Updates: the name the key had before. */
  previousName: string | null;
  /** Rotations: how long the token that was current keeps working, and until when. */
  gracePeriodMinutes: number | null;
  previousTokenExpiresAt: Date | null;
  /**
   * Creations and updates: the key's expiresAt after the change, and (updates) before it; null is
   * "never expires" where `expiryRecorded` is true, else not recorded (events before expiry existed).
   */
  expiresAt: Date | null;
  previousExpiresAt: Date | null;
  expiryRecorded: boolean;
}

export interface AuditEventRecord {
  id: string;
  action: AuditAction;
  createdAt: Date;
  /** Exactly one is set: the calling key as it was then, or the user of the administration CLI. */
  actor: {
    apiKey: { id: string; name: string } | null;
    user: { id: string; email: string; name: string } | null;
  };
  /** The key changed, with its name after the change (at deletion, for a deletion). */
  target: { id: string; name: string };
  /** null for a creation. */
  grantsBefore: Grants | null;
  /** null for a deletion. */
  grantsAfter: Grants | null;
  /** null for creations and deletions. */
  details: AuditDetails | null;
}
