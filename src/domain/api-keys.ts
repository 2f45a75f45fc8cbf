// The six operations of RULES.md. Each mutation runs in one transaction that re-reads and locks the
// target and re-applies the rules, so a decision is never taken on state that has since changed.
// The check* functions are the rules themselves; the GraphQL layer calls them from scope-auth (a plain
// read of the target), the mutations inside their transaction (a locking read). What a mutation returns
// is built from what it checked and wrote, never read back.
import type { Db } from '../db/client.ts';
import type { ReadValue } from '../db/raw-read.ts';
import { Prisma } from '../generated/sqlite/client.ts';
import { type Access, adminOnlyPlaces, type Grants } from './access.ts';
import { auditEventWrites } from './audit.ts';
import { apiKeyNotFound, badInput, forbidden } from './errors.ts';
import { newId } from './ids.ts';
import { type GrantsInput, parseGracePeriod, parseGrants, parseId, parseName } from './input.ts';
import type { ReadCache } from './read-cache.ts';
import {
  type ApiKeyRecord,
  type ApiKeyRow,
  findTeams,
  grantDeletes,
  grantInserts,
  type KeyReading,
  lockApiKey,
  readApiKey,
  readCommittedApiKey,
  rowInsert,
  type Tx,
  type WriteAll,
} from './store.ts';
import { generateToken, hashToken } from './tokens.ts';

export type ApiKeyChange = { kind: 'created' | 'updated' | 'rotated' | 'deleted'; apiKeyId: string };

export interface Domain extends KeyReading {
  db: Db;
  now: () => Date;
  /** Called after a change has committed (cache invalidation in this process). */
  onChange?: (change: ApiKeyChange) => void;
  /**
   * Runs the writes of a change in its transaction; an update, rotation or deletion names the key,
   * for other processes to drop its cached tokens (see WriteAll).
   */
  write: WriteAll;
  /**
   * Where `apiKey` and `apiKeys` keep what they read, served again while the database is unchanged
   * (mutations always read afresh). Cached values are shared between requests: never modify them.
   */
  reads: ReadCache;
  /** Plain reads of committed data outside any transaction, straight on the driver (src/db/raw-read.ts). */
  readValue: ReadValue;
}

/** The authenticated key of a request and what it may do. */
export interface Caller {
  key: ApiKeyRecord;
  access: Access;
}

export interface KeyInput extends GrantsInput {
  name: string;
}

/** Who creates a key: an API caller, or a named user acting through the administration CLI. */
export type Creator = { kind: 'key'; caller: Caller } | { kind: 'user'; organizationId: string; userId: string };

/** How a check reads its target: plainly, or with the row locked inside a mutation's transaction. */
export type ReadTarget = (organizationId: string, id: string) => Promise<ApiKeyRecord | null>;

const plainRead =
  (domain: Domain, tx: Tx): ReadTarget =>
  (organizationId, id) =>
    readApiKey(tx, domain, organizationId, id);

/** A plain read of the committed state, served from domain.reads while nothing has changed. */
const cachedRead =
  (domain: Domain): ReadTarget =>
  (organizationId, id) =>
    domain.reads.read(`key\0${organizationId}\0${id}`, () => readCommittedApiKey(domain, organizationId, id));

/** Locks and reads the target; `seen` is the target as the change's authorization check read it. */
const lockingRead =
  (domain: Domain, tx: Tx, seen?: ApiKeyRecord): ReadTarget =>
  (organizationId, id) =>
    lockApiKey(tx, domain, organizationId, id, seen);

export function requireManager(caller: Caller): void {
  if (!caller.access.isManager) {
    throw forbidden(
      'This API key cannot manage API keys: it needs the api_keys_manage role, at account level or as a team role.',
    );
  }
}

/** Name and grants of the input, and the teams of its teamIds (with their names, for the result). */
async function parseKeyInput(domain: Domain, tx: Tx, organizationId: string, input: KeyInput) {
  const name = parseName(input.name);
  const grants = parseGrants(domain.catalogue, input);
  const { teams, missing } = await findTeams(tx, organizationId, grants.teamIds);
  if (missing !== undefined) throw badInput(`teamIds: unknown team ${JSON.stringify(missing)}.`);
  return { name, grants, teams };
}

async function findVisible(caller: Caller, id: string, read: ReadTarget): Promise<ApiKeyRecord> {
  const target = await read(caller.key.organizationId, id);
  if (!target || !caller.access.canSee(target.grants)) throw apiKeyNotFound(id);
  return target;
}

function describeGrant(grant: { roleName: string; teamId?: string }): string {
  return grant.teamId ? `role "${grant.roleName}" in team ${grant.teamId}` : `account-level role "${grant.roleName}"`;
}

function requireCovers(caller: Caller, grants: Grants, verb: string): void {
  const uncovered = caller.access.firstUncovered(grants);
  if (uncovered) {
    throw forbidden(`You cannot ${verb} ${describeGrant(uncovered)}: it has scopes this API key does not hold there.`);
  }
}

function requireNoNewAdminOnlyGrants(domain: Domain, grants: Grants, existing: Grants | null): void {
  const before = existing ? adminOnlyPlaces(domain.catalogue, existing) : new Set<string>();
  for (const place of adminOnlyPlaces(domain.catalogue, grants)) {
    if (!before.has(place)) {
      const [role, where] = place.split('@') as [string, string];
      const at = where === 'account' ? 'at account level' : `in team ${where.slice('team:'.length)}`;
      throw forbidden(
        `Role "${role}" cannot be granted ${at} through the API; it can only be granted from the administration CLI (the dashboard path).`,
      );
    }
  }
}

function requireVisibleResult(caller: Caller, grants: Grants, what: string): void {
  if (!caller.access.canSee(grants)) {
    throw forbidden(
      `${what} would not be visible to you: as a team manager you may only manage keys with no account-level roles whose teams are all teams you manage.`,
    );
  }
}

// ---- show & list -------------------------------------------------------------------------------

export async function checkShow(domain: Domain, caller: Caller, id: string) {
  parseId(id);
  requireManager(caller);
  return findVisible(caller, id, cachedRead(domain));
}

// ---- create ------------------------------------------------------------------------------------

/** The INSERT of a key's new current token (no expiry), issued at `now`; only its hash is stored. */
const currentTokenInsert = (apiKeyId: string, token: string, now: Date) =>
  rowInsert('ApiKeyToken', {
    id: newId(now.getTime()),
    apiKeyId,
    hash: hashToken(token),
    createdAt: now,
    expiresAt: null,
  });

export async function checkCreate(domain: Domain, caller: Caller, input: KeyInput, tx: Tx = domain.db) {
  const parsed = await parseKeyInput(domain, tx, caller.key.organizationId, input);
  requireManager(caller);
  requireNoNewAdminOnlyGrants(domain, parsed.grants, null);
  requireVisibleResult(caller, parsed.grants, 'The new key');
  requireCovers(caller, parsed.grants, 'grant');
  return parsed;
}

export async function createApiKey(
  domain: Domain,
  creator: Creator,
  input: KeyInput,
): Promise<{ apiKey: ApiKeyRecord; token: string }> {
  const organizationId = creator.kind === 'key' ? creator.caller.key.organizationId : creator.organizationId;
  const result = await domain.db.$transaction(async (tx) => {
    const { name, grants, teams } =
      creator.kind === 'key'
        ? await checkCreate(domain, creator.caller, input, tx)
        : await parseKeyInput(domain, tx, organizationId, input);
    const now = domain.now();
    const token = generateToken();
    const row: ApiKeyRow = {
      id: newId(now.getTime()),
      organizationId,
      name,
      createdAt: now,
      tokenLastIssuedAt: now,
      lastUsedAt: null,
      creatorKeyId: creator.kind === 'key' ? creator.caller.key.id : null,
      creatorKeyName: creator.kind === 'key' ? creator.caller.key.name : null,
      creatorUserId: creator.kind === 'user' ? creator.userId : null,
    };
    const event = await auditEventWrites(tx, {
      action: 'api_key.created',
      organizationId,
      actor: creator,
      target: row,
      grantsBefore: null,
      grantsAfter: grants,
      at: now,
    });
    // The grants and the token refer to the key: foreign keys between the writes are fine (WriteAll).
    await domain.write(tx, [
      rowInsert('ApiKey', { ...row, version: 0 }),
      ...grantInserts(row.id, grants),
      currentTokenInsert(row.id, token, now),
      ...event,
    ]);
    return { apiKey: { ...row, grants, teams }, token };
  });
  domain.onChange?.({ kind: 'created', apiKeyId: result.apiKey.id });
  return result;
}

// ---- update ------------------------------------------------------------------------------------

export interface UpdateInput extends KeyInput {
  id: string;
}

export async function checkUpdate(
  domain: Domain,
  caller: Caller,
  input: UpdateInput,
  tx: Tx = domain.db,
  read: ReadTarget = plainRead(domain, tx),
) {
  parseId(input.id);
  const parsed = await parseKeyInput(domain, tx, caller.key.organizationId, input);
  requireManager(caller);
  const target = await findVisible(caller, input.id, read);
  if (target.id === caller.key.id) throw forbidden('An API key cannot update itself; use another manager key.');
  requireVisibleResult(caller, parsed.grants, 'The updated key');
  requireNoNewAdminOnlyGrants(domain, parsed.grants, target.grants);
  requireCovers(caller, parsed.grants, 'grant');
  return { target, ...parsed };
}

/** `seen`: the target as the authorization check read it, if it did (see lockApiKey). */
export async function updateApiKey(
  domain: Domain,
  caller: Caller,
  input: UpdateInput,
  seen?: ApiKeyRecord,
): Promise<ApiKeyRecord> {
  const apiKey = await domain.db.$transaction(async (tx) => {
    parseId(input.id);
    // Locked before the teams of the input are read (see lockApiKey), checked in the order of the rules.
    const locked = await lockApiKey(tx, domain, caller.key.organizationId, input.id, seen, true);
    const { target, name, grants, teams } = await checkUpdate(domain, caller, input, tx, async () => locked);
    const event = await auditEventWrites(tx, {
      action: 'api_key.updated',
      organizationId: target.organizationId,
      actor: { kind: 'key', caller },
      target: { id: target.id, name },
      grantsBefore: target.grants,
      grantsAfter: grants,
      details: { previousName: target.name },
      at: domain.now(),
    });
    // The new grants may repeat old ones: they are inserted after the old ones are gone, not with them.
    await domain.write(tx, [
      Prisma.sql`UPDATE "ApiKey" SET "name" = ${name} WHERE "id" = ${target.id}`,
      ...grantDeletes(target.id),
    ]);
    await domain.write(tx, [...grantInserts(target.id, grants), ...event], target.id);
    return { ...target, name, grants, teams };
  });
  domain.onChange?.({ kind: 'updated', apiKeyId: apiKey.id });
  return apiKey;
}

// ---- rotate ------------------------------------------------------------------------------------

export interface RotateInput {
  id: string;
  gracePeriodMinutes?: number | null;
}

export async function checkRotate(
  domain: Domain,
  caller: Caller,
  input: RotateInput,
  read: ReadTarget = plainRead(domain, domain.db),
) {
  parseId(input.id);
  const gracePeriodMinutes = parseGracePeriod(input.gracePeriodMinutes);
  requireManager(caller);
  const target = await findVisible(caller, input.id, read);
  requireCovers(caller, target.grants, 'rotate a key that holds');
  return { target, gracePeriodMinutes };
}

/** `seen`: the target as the authorization check read it, if it did (see lockApiKey). */
export async function rotateApiKey(
  domain: Domain,
  caller: Caller,
  input: RotateInput,
  seen?: ApiKeyRecord,
): Promise<{ apiKey: ApiKeyRecord; token: string; previousTokenExpiresAt: Date }> {
  const result = await domain.db.$transaction(async (tx) => {
    const { target, gracePeriodMinutes } = await checkRotate(domain, caller, input, lockingRead(domain, tx, seen));
    // The time of the rotation is when it holds the lock, after any rotation it waited for.
    const now = domain.now();
    const previousTokenExpiresAt = new Date(now.getTime() + gracePeriodMinutes * 60_000);
    // Afterwards the key holds only tokens that still work: the new one and those in a grace period.
    // Tokens from earlier rotations keep their expiry, or go if it has passed; the one that was current
    // gets its expiry, or goes at once when there is no grace period.
    // (The expired tokens deleted and the current one given an expiry are different rows: WriteAll.)
    const expireTokens =
      gracePeriodMinutes === 0
        ? [
            Prisma.sql`DELETE FROM "ApiKeyToken"
              WHERE "apiKeyId" = ${target.id} AND ("expiresAt" IS NULL OR "expiresAt" <= ${now})`,
          ]
        : [
            Prisma.sql`DELETE FROM "ApiKeyToken" WHERE "apiKeyId" = ${target.id} AND "expiresAt" <= ${now}`,
            Prisma.sql`UPDATE "ApiKeyToken" SET "expiresAt" = ${previousTokenExpiresAt}
              WHERE "apiKeyId" = ${target.id} AND "expiresAt" IS NULL`,
          ];
    const token = generateToken();
    const event = await auditEventWrites(tx, {
      action: 'api_key.rotated',
      organizationId: target.organizationId,
      actor: { kind: 'key', caller },
      target,
      grantsBefore: target.grants,
      grantsAfter: target.grants,
      details: { gracePeriodMinutes, previousTokenExpiresAt },
      at: now,
    });
    await domain.write(
      tx,
      [
        ...expireTokens,
        currentTokenInsert(target.id, token, now),
        Prisma.sql`UPDATE "ApiKey" SET "tokenLastIssuedAt" = ${now} WHERE "id" = ${target.id}`,
        ...event,
      ],
      target.id,
    );
    return { apiKey: { ...target, tokenLastIssuedAt: now }, token, previousTokenExpiresAt };
  });
  domain.onChange?.({ kind: 'rotated', apiKeyId: result.apiKey.id });
  return result;
}

// ---- delete ------------------------------------------------------------------------------------

export async function checkDelete(
  domain: Domain,
  caller: Caller,
  id: string,
  read: ReadTarget = plainRead(domain, domain.db),
) {
  parseId(id);
  requireManager(caller);
  return findVisible(caller, id, read);
}

/** `seen`: the target as the authorization check read it, if it did (see lockApiKey). */
export async function deleteApiKey(domain: Domain, caller: Caller, id: string, seen?: ApiKeyRecord): Promise<string> {
  await domain.db.$transaction(async (tx) => {
    const target = await checkDelete(domain, caller, id, lockingRead(domain, tx, seen));
    // Tokens and grants go with the key (ON DELETE CASCADE): every token stops working at once.
    const event = await auditEventWrites(tx, {
      action: 'api_key.deleted',
      organizationId: target.organizationId,
      actor: { kind: 'key', caller },
      target,
      grantsBefore: target.grants,
      grantsAfter: null,
      at: domain.now(),
    });
    await domain.write(tx, [Prisma.sql`DELETE FROM "ApiKey" WHERE "id" = ${target.id}`, ...event], target.id);
  });
  domain.onChange?.({ kind: 'deleted', apiKeyId: id });
  return id;
}
