// Organizations, teams and users: created by the administration CLI, read by the API and the CLI.
// Names are unique: an organization's regardless of case (a unique index on lower("name")), a team's
// within its organization regardless of case (a unique index on ("organizationId", lower("name"))), a
// user's email (kept in lower case) within its organization.
import { join, sql } from '@prisma/client-runtime-utils';
import type { Db } from '../db/client.ts';
import { prismaReader, type Reader } from '../db/reader.ts';
import { badInput } from './errors.ts';
import { newId } from './ids.ts';
import { isUlid, parseName } from './input.ts';

export interface OrganizationRecord {
  id: string;
  name: string;
}
export interface TeamRecord {
  id: string;
  name: string;
}
export interface UserRecord {
  id: string;
  organizationId: string;
  email: string;
  name: string;
  role: string;
  slackUserId: string | null;
}

const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+$/;
export const DEFAULT_USER_ROLE = 'member';

/** A unique constraint refused the row (Prisma's code for it, whichever the driver). */
const isUniqueViolation = (error: unknown) => (error as { code?: unknown } | null)?.code === 'P2002';

export async function createOrganization(db: Db, input: { name: string }): Promise<OrganizationRecord> {
  const name = parseName(input.name);
  const taken = `an organization named ${JSON.stringify(name)} already exists (names are unique regardless of case).`;
  const [clash] = await findOrganizationsNamed(prismaReader(db), name);
  if (clash) throw badInput(taken);
  try {
    return await db.organization.create({ data: { id: newId(), name }, select: { id: true, name: true } });
  } catch (error) {
    // Another process created the same name between the check and the insert.
    if (isUniqueViolation(error)) throw badInput(taken);
    throw error;
  }
}

const findOrganizationsNamed = (read: Reader, name: string) =>
  read<OrganizationRecord>(sql`SELECT "id", "name" FROM "Organization" WHERE lower("name") = lower(${name})`);

/** Finds an organization by id or by name (case-insensitive). */
export async function findOrganization(read: Reader, idOrName: string): Promise<OrganizationRecord> {
  if (isUlid(idOrName)) {
    const [byId] = await read<OrganizationRecord>(
      sql`SELECT "id", "name" FROM "Organization" WHERE "id" = ${idOrName}`,
    );
    if (byId) return byId;
  }
  const [found] = await findOrganizationsNamed(read, idOrName);
  if (!found) {
    throw badInput(`unknown organization ${JSON.stringify(idOrName)}; \`keygate org list\` shows them all.`);
  }
  return found;
}

/** Every organization, by name. */
export function listOrganizations(read: Reader): Promise<OrganizationRecord[]> {
  return read<OrganizationRecord>(sql`SELECT "id", "name" FROM "Organization" ORDER BY lower("name"), "id"`);
}

export async function createTeam(db: Db, organizationId: string, input: { name: string }): Promise<TeamRecord> {
  const name = parseName(input.name);
  const taken = `a team named ${JSON.stringify(name)} already exists in this organization (names are unique regardless of case).`;
  const [clash] = await findTeamsNamed(prismaReader(db), organizationId, name);
  if (clash) throw badInput(taken);
  try {
    return await db.team.create({ data: { id: newId(), organizationId, name }, select: { id: true, name: true } });
  } catch (error) {
    // Another process created the same name between the check and the insert.
    if (isUniqueViolation(error)) throw badInput(taken);
    throw error;
  }
}

const findTeamsNamed = (read: Reader, organizationId: string, name: string) =>
  read<TeamRecord>(
    sql`SELECT "id", "name" FROM "Team" WHERE "organizationId" = ${organizationId} AND lower("name") = lower(${name})`,
  );

export async function listTeams(db: Db, organizationId: string): Promise<TeamRecord[]> {
  return db.team.findMany({ where: { organizationId }, select: { id: true, name: true }, orderBy: { name: 'asc' } });
}

/** The teams of an organization, by name (the CLI's read; listTeams is the API's). */
export function readTeams(read: Reader, organizationId: string): Promise<TeamRecord[]> {
  return read<TeamRecord>(
    sql`SELECT "id", "name" FROM "Team" WHERE "organizationId" = ${organizationId} ORDER BY "name", "id"`,
  );
}

/** Resolves team ids or names (case-insensitive, as they are unique) of one organization, in the order given. */
export async function resolveTeamsByIdOrName(
  read: Reader,
  organizationId: string,
  idsOrNames: readonly string[],
): Promise<TeamRecord[]> {
  if (idsOrNames.length === 0) return [];
  const teams = await readTeams(read, organizationId);
  const found: TeamRecord[] = [];
  for (const wanted of idsOrNames) {
    // lower() in SQL, as the unique index compares names (JavaScript folds case differently beyond ASCII).
    const team = teams.find((t) => t.id === wanted) ?? (await findTeamsNamed(read, organizationId, wanted))[0];
    if (!team) throw badInput(`unknown team ${JSON.stringify(wanted)} in this organization.`);
    found.push(team);
  }
  return found;
}

export async function createUser(
  db: Db,
  organizationId: string,
  input: { email: string; name: string; role?: string | undefined; slackUserId?: string | undefined },
): Promise<UserRecord> {
  const email = input.email.trim().toLowerCase();
  if (!EMAIL_PATTERN.test(email) || email.length > 320)
    throw badInput(`email: ${JSON.stringify(input.email)} is not an email address.`);
  const name = parseName(input.name);
  const role = parseName(input.role ?? DEFAULT_USER_ROLE, 'role');
  const slackUserId = input.slackUserId?.trim() || null;
  const clash = await db.user.findFirst({ where: { organizationId, email } });
  if (clash) throw badInput(`a user with email ${JSON.stringify(email)} already exists in this organization.`);
  return db.user.create({
    data: { id: newId(), organizationId, email, name, role, slackUserId },
    select: { id: true, organizationId: true, email: true, name: true, role: true, slackUserId: true },
  });
}

const USER_COLUMNS = sql`"id", "organizationId", "email", "name", "role", "slackUserId"`;

/**
 * The users of an organization with these ids (any order; ids of other organizations find nothing).
 * A tagged-template query rather than findMany: Prisma compiles a new plan for each `in` list it is
 * given, which costs more than the statement (measured: 0.44 ms against 0.17 ms on SQLite).
 */
export async function findUsers(db: Db, organizationId: string, ids: readonly string[]): Promise<UserRecord[]> {
  if (ids.length === 0) return [];
  return db.$queryRaw<UserRecord[]>(
    sql`SELECT ${USER_COLUMNS} FROM "User" WHERE "organizationId" = ${organizationId} AND "id" IN (${join([...ids])})` as never,
  );
}

/** Every user of an organization, by email. */
export function listUsers(read: Reader, organizationId: string): Promise<UserRecord[]> {
  return read<UserRecord>(
    sql`SELECT ${USER_COLUMNS} FROM "User" WHERE "organizationId" = ${organizationId} ORDER BY "email", "id"`,
  );
}

export async function findUserByEmail(read: Reader, organizationId: string, email: string): Promise<UserRecord> {
  const wanted = email.trim().toLowerCase();
  const [user] = await read<UserRecord>(
    sql`SELECT ${USER_COLUMNS} FROM "User" WHERE "organizationId" = ${organizationId} AND "email" = ${wanted}`,
  );
  if (!user) throw badInput(`unknown user ${JSON.stringify(email)} in this organization.`);
  return user;
}
