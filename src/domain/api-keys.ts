// The six operations of docs/rules.md. Each mutation runs in one transaction that reads and locks the
// target and re-reads the caller's own key, and evaluates its rules there, once, on what it locked: a
// decision is never taken on state that has since changed, and a caller deleted, or whose grants
// changed, while its request was in flight is judged as it is now (docs/rules.md, Authentication).
// Before that, the GraphQL layer's scope-auth gate (the may* functions) judges what the caller alone
// decides: whether it is a manager at all. What a mutation returns is built from what it checked and
// wrote, never read back. The SQL is the store's (src/store/api-keys.ts).

import type { Tx } from '../db/client.ts';
import {
  callerTokenExpiry,
  grantDeletes,
  grantInserts,
  keyDelete,
  keyInserts,
  keyRename,
  lockAndCountKeys,
  lockApiKey,
  lockCaller,
  readCommittedApiKey,
  readGrantedTeams,
  rotationWrites,
  type ShownKey,
  tokenInsert,
} from '../store/api-keys.ts';
import { Access, adminOnlyPlaces, type Grants, outlivesCaller, tokenDeadline } from './access.ts';
import { auditEventWrites } from './audit.ts';
import { apiKeyNotFound, badInput, forbidden, unauthenticated } from './errors.ts';
import { newId } from './ids.ts';
import { type GrantsInput, parseExpiresAt, parseGracePeriod, parseGrantsInput, parseId, parseName } from './input.ts';
import { managerGate, requireManager } from './manager-gate.ts';
import { DEFAULT_MAX_KEYS_PER_ORGANIZATION } from './quotas.ts';
import type { ApiKeyRecord, ApiKeyRow } from './records.ts';
import { generateToken, tokenHashBytes } from './tokens.ts';
import type { Caller, Creator, Domain } from './types.ts';

export interface KeyInput extends GrantsInput {
  name: string;
  /** Absent: never (create) or unchanged (update); null: never expires. */
  expiresAt?: Date | null;
}

/**
 * A user of the administration CLI acting on a key of their organization: the operator's path. No
 * covering or visibility check applies (the operator holds the database); the change is audited with
 * that user as its actor.
 */
export type Operator = { kind: 'user'; organizationId: string; userId: string };

const isOperator = (actor: Caller | Operator): actor is Operator => 'kind' in actor && actor.kind === 'user';

/** The target of an operator's change, locked: any key of the operator's organization. */
async function lockForOperator(domain: Domain, tx: Tx, operator: Operator, id: string): Promise<ApiKeyRecord> {
  const target = await lockApiKey(tx, domain, operator.organizationId, id);
  if (!target) throw apiKeyNotFound(id);
  return target;
}

const sameGrants = (a: Grants, b: Grants) =>
  a.roleNames.join(',') === b.roleNames.join(',') &&
  a.teamIds.join(',') === b.teamIds.join(',') &&
  a.teamRoleNames.join(',') === b.teamRoleNames.join(',');

/**
 * The caller as it is now, read in the mutation's transaction: its key (`key`) and the token the request
 * was sent with (when it stops working by its own expiry: `tokenExpiresAt`). A key that is gone, or a
 * token that is gone or has stopped working since the request was authenticated (a rotation with grace
 * 0, the end of its grace period, the key's expiry), no longer authenticates anything; a key whose
 * grants changed is judged by its new grants.
 */
function currentCaller(
  domain: Domain,
  caller: Caller,
  found: { key: ApiKeyRecord; tokenExpiresAt: Date | null | undefined } | null,
): Caller {
  if (!found || found.tokenExpiresAt === undefined) throw unauthenticated();
  const { key, tokenExpiresAt } = found;
  const deadline = tokenDeadline(tokenExpiresAt, key.expiresAt);
  if (deadline !== null && deadline <= domain.now().getTime()) throw unauthenticated();
  return {
    key,
    access: sameGrants(key.grants, caller.key.grants) ? caller.access : new Access(domain.catalogue, key.grants),
    token: { id: caller.token.id, expiresAt: tokenExpiresAt },
  };
}

/** The caller re-read with its token, in one statement (and on PostgreSQL locked), inside a mutation's transaction. */
async function recheckCaller(domain: Domain, tx: Tx, caller: Caller): Promise<Caller> {
  const { organizationId, id } = caller.key;
  return currentCaller(domain, caller, await lockCaller(tx, domain, organizationId, id, caller.token.id));
}

/** The caller whose key is the change's target, locked and read as the target: its token read after. */
async function callerAsTarget(domain: Domain, tx: Tx, caller: Caller, key: ApiKeyRecord | null): Promise<Caller> {
  if (!key) throw unauthenticated();
  return currentCaller(domain, caller, {
    key,
    tokenExpiresAt: await callerTokenExpiry(tx, domain, key.id, caller.token.id),
  });
}

/**
 * Locks a change's target (lockApiKey, which reads it once the lock is held) and re-reads the caller
 * (recheckCaller), in the order of their ids, so that two changes whose callers target each other's keys
 * cannot wait for each other. A key that changes itself is read once, by the target's lock.
 */
async function lockCallerAndTarget(
  domain: Domain,
  tx: Tx,
  caller: Caller,
  id: string,
): Promise<{ caller: Caller; target: ApiKeyRecord | null }> {
  const lockTarget = () => lockApiKey(tx, domain, caller.key.organizationId, id);
  if (id === caller.key.id) {
    const target = await lockTarget();
    return { caller: await callerAsTarget(domain, tx, caller, target), target };
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
  const { keys, inFlight } = await lockAndCountKeys(tx, domain, organizationId, max, mode);
  if (keys + inFlight <= max) return;
  if (inFlight > 1) throw new NearKeyLimit();
  throw forbidden(
    `This organization has reached its limit of ${max} API keys (KEYGATE_MAX_KEYS_PER_ORG): delete keys it no longer needs before creating more.`,
  );
}

/**
 * Name and grants of the input, and the teams of its teamIds (with their names, for the result), read
 * in the change's transaction `tx`, or of committed data when it is null (a gate, before it).
 */
async function parseKeyInput(domain: Domain, tx: Tx | null, organizationId: string, input: KeyInput) {
  const name = parseName(input.name);
  const grants = parseGrantsInput(domain.catalogue, input);
  const { teams, missing } = await readGrantedTeams(domain, tx, organizationId, grants.teamIds);
  if (missing !== undefined) throw badInput(`teamIds: unknown team ${JSON.stringify(missing)}.`);
  return { name, grants, teams, expiresAt: parseExpiresAt(input.expiresAt, domain.now()) };
}

/** The target when the caller can see it; NOT_FOUND, word for word like a missing key, otherwise. */
function requireVisible(caller: Caller, id: string, target: ApiKeyRecord | null): ApiKeyRecord {
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

/**
 * The lifetime rule (docs/rules.md, Expiry); outlivesCaller is the rule itself. The caller's life is its
 * credential's: the earlier of its key's expiresAt and, for a token in a rotation's grace period, the
 * grace period's end. Otherwise whoever held a rotated-away token could, before its grace ended, rotate
 * the key again and keep a token of its own, cutting off the one the rotation issued.
 */
function requireWithinLifetime(caller: Caller, expiresAt: Date | null): void {
  const key = caller.key.expiresAt;
  const token = caller.token.expiresAt;
  const graceEnds = token !== null && (key === null || token.getTime() < key.getTime());
  const own = graceEnds ? token : key;
  if (own !== null && outlivesCaller(own, expiresAt)) {
    const whose = graceEnds
      ? `The token this request was sent with stops working at ${own.toISOString()}, when its rotation grace period ends`
      : `This API key expires at ${own.toISOString()}`;
    throw forbidden(
      `${whose}: a key it creates, updates or rotates must expire no later than that (${expiresAt === null ? 'this one would never expire' : `this one would expire at ${expiresAt.toISOString()}`}).`,
    );
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

// ---- show --------------------------------------------------------------------------------------

/** The gate of apiKey(id): the id, then whether the caller is a manager. */
export function mayShowApiKey(caller: Caller, id: string): true {
  parseId(id);
  requireManager(caller);
  return true;
}

/**
 * One key, when the caller can see it (after mayShowApiKey), with the user who created it: a plain read
 * of the committed state, served from domain.reads while nothing has changed.
 */
export async function showApiKey(domain: Domain, caller: Caller, id: string): Promise<ShownKey> {
  const organizationId = caller.key.organizationId;
  const shown = await domain.reads.read(`key\0${organizationId}\0${id}`, () =>
    readCommittedApiKey(domain, organizationId, id),
  );
  requireVisible(caller, id, shown?.key ?? null);
  return shown as ShownKey; // requireVisible threw if there was none
}

// ---- create ------------------------------------------------------------------------------------

/** The INSERT of a key's new current token (no expiry), issued at `now`; only its hash is stored. */
const currentTokenInsert = (apiKeyId: string, token: string, now: Date) =>
  tokenInsert({ id: newId(now.getTime()), apiKeyId, hash: tokenHashBytes(token), createdAt: now, expiresAt: null });

/** The gate of createApiKey (see managerGate); anyone but a manager gets its input checked, then FORBIDDEN. */
export const mayCreateApiKey = (domain: Domain, caller: Caller, input: KeyInput): true | Promise<true> =>
  managerGate(caller, () => parseKeyInput(domain, null, caller.key.organizationId, input));

/** The rules of a creation by a caller, on its parsed input (docs/rules.md, The operations). */
function judgeCreate(domain: Domain, caller: Caller, parsed: { grants: Grants; expiresAt?: Date | null }): void {
  requireManager(caller);
  requireNoNewAdminOnlyGrants(domain, parsed.grants, null);
  requireVisibleResult(caller, parsed.grants, 'The new key');
  requireCovers(caller, parsed.grants, 'grant');
  requireWithinLifetime(caller, parsed.expiresAt ?? null);
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
      const { name, grants, teams, expiresAt } = await parseKeyInput(domain, tx, organizationId, input);
      if (caller) judgeCreate(domain, caller, { grants, expiresAt });
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
        expiresAt: expiresAt ?? null,
      };
      const event = await auditEventWrites(tx, {
        action: 'api_key.created',
        organizationId,
        actor,
        target: row,
        grantsBefore: null,
        grantsAfter: grants,
        details: row.expiresAt === null ? undefined : { expiresAt: row.expiresAt, expiryRecorded: true },
        at: now,
      });
      // The grants and the token refer to the key: foreign keys between the writes are fine (WriteAll).
      await domain.dialect.write(tx, [...keyInserts(row, grants), currentTokenInsert(row.id, token, now), ...event]);
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

/** The gate of updateApiKey (see managerGate). */
export const mayUpdateApiKey = (domain: Domain, caller: Caller, input: UpdateInput): true | Promise<true> =>
  managerGate(caller, () => {
    parseId(input.id);
    return parseKeyInput(domain, null, caller.key.organizationId, input);
  });

/**
 * The rules of an update, in the order of docs/rules.md, on the target as the transaction locked it:
 * the input (its teams read here, after the lock), the caller a manager, the target visible and not the
 * caller, then the result. Returns the parsed input, the expiry the key will have.
 */
async function judgeUpdate(domain: Domain, tx: Tx, caller: Caller, input: UpdateInput, locked: ApiKeyRecord | null) {
  const parsed = await parseKeyInput(domain, tx, caller.key.organizationId, input);
  requireManager(caller);
  const target = requireVisible(caller, input.id, locked);
  if (target.id === caller.key.id) throw forbidden('An API key cannot update itself; use another manager key.');
  requireVisibleResult(caller, parsed.grants, 'The updated key');
  requireNoNewAdminOnlyGrants(domain, parsed.grants, target.grants);
  requireCovers(caller, parsed.grants, 'grant');
  // Absent keeps the key's expiry; the rule judges the result either way.
  const expiresAt = parsed.expiresAt === undefined ? target.expiresAt : parsed.expiresAt;
  requireWithinLifetime(caller, expiresAt);
  return { target, ...parsed, expiresAt };
}

export async function updateApiKey(domain: Domain, caller: Caller, input: UpdateInput): Promise<ApiKeyRecord> {
  parseId(input.id);
  const apiKey = await domain.db.$transaction(async (tx) => {
    // Locked before the teams of the input are read (see lockApiKey), judged in the order of the rules.
    const locked = await lockCallerAndTarget(domain, tx, caller, input.id);
    const current = locked.caller;
    const { target, name, grants, teams, expiresAt } = await judgeUpdate(domain, tx, current, input, locked.target);
    const event = await auditEventWrites(tx, {
      action: 'api_key.updated',
      organizationId: target.organizationId,
      actor: { kind: 'key', caller: current },
      target: { id: target.id, name },
      grantsBefore: target.grants,
      grantsAfter: grants,
      details: {
        previousName: target.name,
        expiresAt,
        previousExpiresAt: target.expiresAt,
        expiryRecorded: true,
      },
      at: domain.now(),
    });
    // The new grants may repeat old ones: they are inserted after the old ones are gone, not with them.
    await domain.dialect.write(tx, [keyRename(target.id, name, expiresAt), ...grantDeletes(target.id)]);
    await domain.dialect.write(tx, [...grantInserts(target.id, grants), ...event], target.id);
    return { ...target, name, grants, teams, expiresAt };
  });
  domain.onChange?.({ kind: 'updated', apiKeyId: apiKey.id });
  return apiKey;
}

// ---- rotate ------------------------------------------------------------------------------------

export interface RotateInput {
  id: string;
  gracePeriodMinutes?: number | null;
}

/** The gate of rotateApiKey (see managerGate). */
export const mayRotateApiKey = (caller: Caller, input: RotateInput): true | Promise<true> =>
  managerGate(caller, () => {
    parseId(input.id);
    parseGracePeriod(input.gracePeriodMinutes);
  });

/** The rules of a rotation by a caller, on the target as the transaction locked it. */
function judgeRotate(caller: Caller, id: string, locked: ApiKeyRecord | null): ApiKeyRecord {
  requireManager(caller);
  const target = requireVisible(caller, id, locked);
  // A rotation that replaced this token left it working until its grace period ends, for the key's
  // holder to move to the new token; it cannot rotate the key in turn and cut that token off.
  if (target.id === caller.key.id && caller.token.expiresAt !== null) {
    throw forbidden(
      `The token this request was sent with was replaced by a rotation of its key and stops working at ${caller.token.expiresAt.toISOString()}: it cannot rotate the key again; the key's current token can.`,
    );
  }
  requireCovers(caller, target.grants, 'rotate a key that holds');
  // Covering extends to time (docs/rules.md, Expiry), and a rotation hands out a token of the target:
  // a caller that expires cannot get one that outlives it.
  requireWithinLifetime(caller, target.expiresAt);
  return target;
}

/** The target of a change and who acts on it, locked and judged inside the change's transaction. */
async function lockAndJudge(
  domain: Domain,
  tx: Tx,
  actor: Caller | Operator,
  id: string,
  judge: (caller: Caller, id: string, locked: ApiKeyRecord | null) => ApiKeyRecord,
): Promise<{ target: ApiKeyRecord; actor: Creator }> {
  if (isOperator(actor)) return { target: await lockForOperator(domain, tx, actor, id), actor };
  const locked = await lockCallerAndTarget(domain, tx, actor, id);
  return { target: judge(locked.caller, id, locked.target), actor: { kind: 'key', caller: locked.caller } };
}

export async function rotateApiKey(
  domain: Domain,
  caller: Caller | Operator,
  input: RotateInput,
): Promise<{ apiKey: ApiKeyRecord; token: string; previousTokenExpiresAt: Date }> {
  parseId(input.id);
  const gracePeriodMinutes = parseGracePeriod(input.gracePeriodMinutes);
  const result = await domain.db.$transaction(async (tx) => {
    const { target, actor } = await lockAndJudge(domain, tx, caller, input.id, judgeRotate);
    // The time of the rotation is when it holds the lock, after any rotation it waited for.
    const now = domain.now();
    const graceEnd = new Date(now.getTime() + gracePeriodMinutes * 60_000);
    // The row keeps the grace end; the token stops at the earlier of it and the key's expiresAt
    // (docs/rules.md, Expiry), which is what the payload reports.
    const previousTokenExpiresAt = new Date(tokenDeadline(graceEnd, target.expiresAt) ?? graceEnd.getTime());
    const token = generateToken();
    const event = await auditEventWrites(tx, {
      action: 'api_key.rotated',
      organizationId: target.organizationId,
      actor,
      target,
      grantsBefore: target.grants,
      grantsAfter: target.grants,
      details: { gracePeriodMinutes, previousTokenExpiresAt },
      at: now,
    });
    await domain.dialect.write(
      tx,
      [
        ...rotationWrites(target.id, now, gracePeriodMinutes === 0 ? null : graceEnd),
        currentTokenInsert(target.id, token, now),
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

/** The gate of deleteApiKey (see managerGate). */
export const mayDeleteApiKey = (caller: Caller, id: string): true | Promise<true> =>
  managerGate(caller, () => parseId(id));

/** The rules of a deletion by a caller: a manager, and the target visible (no scope check). */
function judgeDelete(caller: Caller, id: string, locked: ApiKeyRecord | null): ApiKeyRecord {
  requireManager(caller);
  return requireVisible(caller, id, locked);
}

export async function deleteApiKey(domain: Domain, caller: Caller | Operator, id: string): Promise<string> {
  parseId(id);
  await domain.db.$transaction(async (tx) => {
    const { target, actor } = await lockAndJudge(domain, tx, caller, id, judgeDelete);
    // Tokens and grants go with the key (ON DELETE CASCADE): every token stops working at once.
    const event = await auditEventWrites(tx, {
      action: 'api_key.deleted',
      organizationId: target.organizationId,
      actor,
      target,
      grantsBefore: target.grants,
      grantsAfter: null,
      at: domain.now(),
    });
    await domain.dialect.write(tx, [keyDelete(target.id), ...event], target.id);
  });
  domain.onChange?.({ kind: 'deleted', apiKeyId: id });
  return id;
}
