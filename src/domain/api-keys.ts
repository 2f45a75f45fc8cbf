// The six operations of RULES.md. Each mutation runs in one transaction that re-reads and locks the
// target and the caller's own key and re-applies the rules, so a decision is never taken on state that
// has since changed: a caller deleted, or whose grants changed, while its request was in flight is
// judged as it is now (docs/rules.md, Authentication).
// The check* functions are the rules themselves; the GraphQL layer calls them from scope-auth (a plain
// read of the target), the mutations inside their transaction (a locking read). What a mutation returns
// is built from what it checked and wrote, never read back.
import type { Db } from '../db/client.ts';
import { Prisma } from '../generated/sqlite/client.ts';
import { Access, adminOnlyPlaces, type Grants } from './access.ts';
import { auditEventWrites } from './audit.ts';
import { apiKeyNotFound, badInput, forbidden, unauthenticated } from './errors.ts';
import { newId } from './ids.ts';
import {
  decodeCursor,
  type GrantsInput,
  parseGracePeriod,
  parseGrants,
  parseId,
  parseName,
  parsePageSize,
} from './input.ts';
import type { UserRecord } from './organizations.ts';
import type { ReadCache } from './read-cache.ts';
import {
  type ApiKeyRecord,
  type ApiKeyRow,
  EXTRA_VALUES,
  findTeams,
  grantDeletes,
  grantInserts,
  KEY_COLUMNS,
  type KeyReading,
  keyFromValues,
  keysOfResult,
  keyValues,
  lockAndCountKeys,
  lockApiKey,
  lockCaller,
  readApiKey,
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
  /**
   * Keys an organization may hold; a creation past it is refused (FORBIDDEN). 0: no limit. Unset:
   * DEFAULT_MAX_KEYS_PER_ORGANIZATION.
   */
  maxKeysPerOrganization?: number;
}

export const DEFAULT_MAX_KEYS_PER_ORGANIZATION = 10_000;

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
    domain.reads.read(`key\0${organizationId}\0${id}`, () => readApiKey(domain.db, domain, organizationId, id));

const sameGrants = (a: Grants, b: Grants) =>
  a.roleNames.join(',') === b.roleNames.join(',') &&
  a.teamIds.join(',') === b.teamIds.join(',') &&
  a.teamRoleNames.join(',') === b.teamRoleNames.join(',');

/**
 * The caller as its key is now (`key`, read in the mutation's transaction): a key that is gone no
 * longer authenticates anything; one whose grants changed is judged by its new grants.
 */
function currentCaller(domain: Domain, caller: Caller, key: ApiKeyRecord | null): Caller {
  if (!key) throw unauthenticated();
  return {
    key,
    access: sameGrants(key.grants, caller.key.grants) ? caller.access : new Access(domain.catalogue, key.grants),
  };
}

/** The caller re-read (and on PostgreSQL locked against deletion) inside a mutation's transaction. */
async function recheckCaller(domain: Domain, tx: Tx, caller: Caller): Promise<Caller> {
  return currentCaller(domain, caller, await lockCaller(tx, domain, caller.key.organizationId, caller.key.id));
}

/**
 * Locks a change's target (lockApiKey) and re-reads the caller (recheckCaller), in the order of their
 * ids, so that two changes whose callers target each other's keys cannot wait for each other. A key
 * that changes itself is read once, by the target's lock.
 */
async function lockCallerAndTarget(
  domain: Domain,
  tx: Tx,
  caller: Caller,
  id: string,
  seen: ApiKeyRecord | undefined,
  changesGrants = false,
): Promise<{ caller: Caller; target: ApiKeyRecord | null }> {
  const lockTarget = () => lockApiKey(tx, domain, caller.key.organizationId, id, seen, changesGrants);
  if (id === caller.key.id) {
    const target = await lockTarget();
    return { caller: currentCaller(domain, caller, target), target };
  }
  if (caller.key.id < id) {
    const current = await recheckCaller(domain, tx, caller);
    return { caller: current, target: await lockTarget() };
  }
  const target = await lockTarget();
  return { caller: await recheckCaller(domain, tx, caller), target };
}

/** A creation that must start over with the organization locked exclusively (see lockAndCountKeys). */
class NearKeyLimit extends Error {}

/**
 * Refuses a creation that would take the organization past its number of keys. Inside the creation's
 * transaction, under a lock of the organization's row: concurrent creations cannot both take the last
 * place.
 */
async function requireRoomForKey(
  domain: Domain,
  tx: Tx,
  organizationId: string,
  mode: 'shared' | 'exclusive',
): Promise<void> {
  const max = domain.maxKeysPerOrganization ?? DEFAULT_MAX_KEYS_PER_ORGANIZATION;
  if (max === 0) return;
  const { keys, inFlight } = await lockAndCountKeys(tx, domain.dialect, organizationId, max, mode);
  if (keys + inFlight <= max) return;
  if (inFlight > 1) throw new NearKeyLimit();
  throw forbidden(
    `This organization has reached its limit of ${max} API keys (KEYGATE_MAX_KEYS_PER_ORG): delete keys it no longer needs before creating more.`,
  );
}

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

/**
 * The keys a caller can see (RULES.md "Visibility"), as a condition on `k`, a row of "ApiKey" of the
 * caller's organization: every key for an account manager; for a team manager, a key with no account
 * role, at least one team, and no team outside the caller's.
 */
function visibleKeysSql(caller: Caller): Prisma.Sql {
  if (caller.access.isAccountManager) return Prisma.empty;
  const managed = caller.access.managedTeamIds;
  if (managed.length === 0) return Prisma.sql`AND 1 = 0`;
  return Prisma.sql`
    AND NOT EXISTS (SELECT 1 FROM "ApiKeyRole" r WHERE r."apiKeyId" = k."id")
    AND EXISTS (SELECT 1 FROM "ApiKeyTeam" t WHERE t."apiKeyId" = k."id")
    AND NOT EXISTS (SELECT 1 FROM "ApiKeyTeam" t WHERE t."apiKeyId" = k."id" AND t."teamId" NOT IN (${Prisma.join(managed)}))`;
}

/** The row limits of a page's statement: the first one above the page size (1 to 250) is used. */
const ROW_LIMITS = [2, 11, 26, 51, 101, 251];

/**
 * A page of the keys visible to the caller, newest first, with their grants and the users who created
 * them: one statement whatever the page size.
 */
export async function listApiKeys(
  domain: Domain,
  caller: Caller,
  args: { first?: number | null; after?: string | null },
): Promise<Page> {
  const first = parsePageSize(args.first);
  const afterId = args.after == null ? null : decodeCursor(args.after);
  requireManager(caller);
  // Callers who see the same keys share the page (RULES.md "Visibility").
  const visibility = caller.access.isAccountManager ? '*' : caller.access.managedTeamIds.join(',');
  const key = `page\0${caller.key.organizationId}\0${visibility}\0${afterId ?? ''}\0${first}`;
  return domain.reads.read(
    key,
    () => readPage(domain, caller, first, afterId),
    (page) => page.keys.length + 1,
  );
}

export interface Page {
  keys: ApiKeyRecord[];
  hasNextPage: boolean;
  creatorUsers: UserRecord[];
}

async function readPage(domain: Domain, caller: Caller, first: number, afterId: string | null): Promise<Page> {
  const organizationId = caller.key.organizationId;
  // The limit is written into the SQL: PostgreSQL's generic plan for the prepared statement
  // (src/db/statement-cache.ts) would otherwise assume a tenth of the table and join the grants of that
  // many keys (measured at 1M keys: 0.7 s, against 5 ms with the literal). It is one of a few sizes, so
  // that page sizes do not each make a statement of their own; the rows past first + 1 are dropped.
  const limit = ROW_LIMITS.find((rows) => rows > first) ?? first + 1;
  const page = Prisma.sql`
    SELECT ${KEY_COLUMNS},
           u."email" AS "userEmail", u."name" AS "userName", u."role" AS "userRole", u."slackUserId" AS "userSlackUserId"
      FROM "ApiKey" k LEFT JOIN "User" u ON u."id" = k."creatorUserId" AND u."organizationId" = k."organizationId"
     WHERE k."organizationId" = ${organizationId} ${afterId ? Prisma.sql`AND k."id" < ${afterId}` : Prisma.empty}
       ${visibleKeysSql(caller)}
     ORDER BY k."id" DESC
     LIMIT ${Prisma.raw(String(limit))}`;
  // After the key's values, those of the user who created it, if a user did (a LEFT JOIN: all null otherwise).
  const rows = keysOfResult(
    await domain.db.$queryRaw<Array<{ keys: string }>>(
      domain.dialect.keysAsJson(
        page,
        keyValues(domain.dialect, Prisma.sql`p."userEmail", p."userName", p."userRole", p."userSlackUserId"`),
      ),
    ),
  );
  const creatorUsers = new Map<string, UserRecord>();
  const keys: ApiKeyRecord[] = [];
  for (const values of rows.length > first ? rows.slice(0, first) : rows) {
    const key = keyFromValues(values, domain.catalogue);
    const userEmail = values[EXTRA_VALUES];
    if (key.creatorUserId !== null && userEmail != null && !creatorUsers.has(key.creatorUserId)) {
      creatorUsers.set(key.creatorUserId, {
        id: key.creatorUserId,
        organizationId,
        email: userEmail as string,
        name: values[EXTRA_VALUES + 1] as string,
        role: values[EXTRA_VALUES + 2] as string,
        slackUserId: values[EXTRA_VALUES + 3] as string | null,
      });
    }
    keys.push(key);
  }
  return { keys, hasNextPage: rows.length > first, creatorUsers: [...creatorUsers.values()] };
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
  const create = (mode: 'shared' | 'exclusive') =>
    domain.db.$transaction(async (tx) => {
      // The caller first: a key deleted while this request was in flight creates nothing.
      const caller = creator.kind === 'key' ? await recheckCaller(domain, tx, creator.caller) : null;
      const actor: Creator = caller ? { kind: 'key', caller } : creator;
      const { name, grants, teams } = caller
        ? await checkCreate(domain, caller, input, tx)
        : await parseKeyInput(domain, tx, organizationId, input);
      // Last before the writes: the organization's lock is held for as short a time as possible.
      await requireRoomForKey(domain, tx, organizationId, mode);
      const now = domain.now();
      const token = generateToken();
      const row: ApiKeyRow = {
        id: newId(now.getTime()),
        organizationId,
        name,
        createdAt: now,
        tokenLastIssuedAt: now,
        lastUsedAt: null,
        creatorKeyId: caller ? caller.key.id : null,
        creatorKeyName: caller ? caller.key.name : null,
        creatorUserId: creator.kind === 'user' ? creator.userId : null,
      };
      const event = await auditEventWrites(tx, {
        action: 'api_key.created',
        organizationId,
        actor,
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
  // Close to the organization's limit, the first attempt wrote nothing and gives way to an exact one.
  const result = await create('shared').catch((error: unknown) => {
    if (error instanceof NearKeyLimit) return create('exclusive');
    throw error;
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
    const { caller: current, target: locked } = await lockCallerAndTarget(domain, tx, caller, input.id, seen, true);
    const { target, name, grants, teams } = await checkUpdate(domain, current, input, tx, async () => locked);
    const event = await auditEventWrites(tx, {
      action: 'api_key.updated',
      organizationId: target.organizationId,
      actor: { kind: 'key', caller: current },
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
    parseId(input.id);
    parseGracePeriod(input.gracePeriodMinutes);
    const { caller: current, target: locked } = await lockCallerAndTarget(domain, tx, caller, input.id, seen);
    const { target, gracePeriodMinutes } = await checkRotate(domain, current, input, async () => locked);
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
      actor: { kind: 'key', caller: current },
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
    parseId(id);
    const { caller: current, target: locked } = await lockCallerAndTarget(domain, tx, caller, id, seen);
    const target = await checkDelete(domain, current, id, async () => locked);
    // Tokens and grants go with the key (ON DELETE CASCADE): every token stops working at once.
    const event = await auditEventWrites(tx, {
      action: 'api_key.deleted',
      organizationId: target.organizationId,
      actor: { kind: 'key', caller: current },
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
