// keygate key …: the administration path for API keys. `key create` is the only way to grant
// api_keys_manage; `key rotate` and `key delete` are the operator's: no covering check, audited with
// the user named by --as as the actor.
import { sql } from '@prisma/client-runtime-utils';
import { prismaReader, type Reader } from '../db/reader.ts';
import { notFound } from '../domain/errors.ts';
import { findOrganization, findUserByEmail, resolveTeamsByIdOrName } from '../domain/organizations.ts';
import { type Command, list, text, wholeNumber } from './command.ts';
import { cliDatabase, withReader, withRuntime } from './database.ts';
import { expiresAtOption } from './expires-at.ts';
import { presentApiKeys } from './present.ts';

const org = { type: 'string', value: 'ORG', required: true, help: 'organization id or name' } as const;
const as = {
  type: 'string',
  value: 'EMAIL',
  required: true,
  help: 'email of the user acting (audited as the actor)',
} as const;
const id = { type: 'string', value: 'ID', required: true, help: 'the key id' } as const;

/** The organization of a key, found by the key's id alone. */
async function organizationOfKey(read: Reader, keyId: string): Promise<string> {
  const [row] = await read<{ organizationId: string }>(
    sql`SELECT "organizationId" FROM "ApiKey" WHERE "id" = ${keyId}`,
  );
  if (!row) throw notFound(`no API key with id ${JSON.stringify(keyId)}.`);
  return row.organizationId;
}

const rotate: Command = {
  name: 'key rotate',
  summary:
    'Issue a new token for a key, as the operator; the current token keeps working for the grace period. ' +
    'Prints {"apiKey", "token", "previousTokenExpiresAt"}, as rotateApiKey does.',
  options: {
    id,
    as,
    'grace-period-minutes': {
      type: 'string',
      value: 'N',
      help: 'minutes the current token keeps working, 0 to 60 (default 30)',
    },
  },
  run: (values) => {
    const gracePeriodMinutes = wholeNumber(rotate, values, 'grace-period-minutes');
    return withRuntime(async ({ domain }) => {
      const { rotateApiKey } = await import('../domain/api-keys.ts');
      const read = prismaReader(domain.db);
      const organizationId = await organizationOfKey(read, text(values, 'id'));
      const user = await findUserByEmail(read, organizationId, text(values, 'as'));
      const result = await rotateApiKey(
        domain,
        { kind: 'user', organizationId, userId: user.id },
        { id: text(values, 'id'), gracePeriodMinutes },
      );
      const [apiKey] = await presentApiKeys(read, domain.catalogue, organizationId, [result.apiKey]);
      return { apiKey, token: result.token, previousTokenExpiresAt: result.previousTokenExpiresAt.toISOString() };
    });
  },
};

export const keyCommands: Command[] = [
  {
    name: 'key create',
    summary:
      'Create an API key as a user of the organization; the only way to grant api_keys_manage. ' +
      'Prints {"apiKey", "token"}: the token is shown this once.',
    options: {
      org,
      as,
      name: { type: 'string', value: 'NAME', required: true, help: 'key name' },
      roles: { type: 'string', value: 'a,b', help: 'account-level roles, comma-separated' },
      teams: { type: 'string', value: 't1,t2', help: 'team ids or names, comma-separated' },
      'team-roles': { type: 'string', value: 'r1,r2', help: 'roles that apply in every team given, comma-separated' },
      'expires-at': {
        type: 'string',
        value: 'TIME',
        help:
          'when the key expires: RFC 3339, or a duration from now, a whole number and m (minutes), h (hours), ' +
          'd (days) or w (weeks), e.g. 90d (default: never)',
      },
    },
    notes: 'Lost the admin token? Create another admin key this way, e.g. --roles viewer,api_keys_manage.',
    run(values) {
      // A malformed --expires-at is a usage error, found before the database is opened.
      const expiresAt =
        values['expires-at'] === undefined ? undefined : expiresAtOption(this, text(values, 'expires-at'));
      return withRuntime(async ({ domain }) => {
        const { createApiKey } = await import('../domain/api-keys.ts');
        const read = prismaReader(domain.db);
        const organization = await findOrganization(read, text(values, 'org'));
        const user = await findUserByEmail(read, organization.id, text(values, 'as'));
        const teams = await resolveTeamsByIdOrName(read, organization.id, list(values, 'teams'));
        const { apiKey, token } = await createApiKey(
          domain,
          { kind: 'user', organizationId: organization.id, userId: user.id },
          {
            name: text(values, 'name'),
            roleNames: list(values, 'roles'),
            teamIds: teams.map((team) => team.id),
            teamRoleNames: list(values, 'team-roles'),
            expiresAt: expiresAt?.(domain.now()),
          },
        );
        const [presented] = await presentApiKeys(read, domain.catalogue, organization.id, [apiKey]);
        return { apiKey: presented, token };
      });
    },
  },
  {
    name: 'key list',
    summary: 'List every key of an organization, newest first: {"apiKeys": [...]}, each as in GraphQL.',
    options: { org },
    run: (values) =>
      withReader(async (read) => {
        const organization = await findOrganization(read, text(values, 'org'));
        const { readRoleCatalogue } = await import('../domain/role-seed.ts');
        const { readOrganizationApiKeys } = await import('../store/api-keys.ts');
        const { dialectOf } = await import('../store/dialect.ts');
        const dialect = dialectOf(cliDatabase().provider, null);
        const catalogue = await readRoleCatalogue(read);
        const keys = await readOrganizationApiKeys(read, { catalogue, dialect }, organization.id);
        return { apiKeys: await presentApiKeys(read, catalogue, organization.id, keys) };
      }),
  },
  rotate,
  {
    name: 'key delete',
    summary: 'Delete a key, as the operator: every token of it stops working at once. Prints {"deletedApiKeyId"}.',
    options: { id, as },
    run: (values) =>
      withRuntime(async ({ domain }) => {
        const { deleteApiKey } = await import('../domain/api-keys.ts');
        const read = prismaReader(domain.db);
        const organizationId = await organizationOfKey(read, text(values, 'id'));
        const user = await findUserByEmail(read, organizationId, text(values, 'as'));
        const deletedApiKeyId = await deleteApiKey(
          domain,
          { kind: 'user', organizationId, userId: user.id },
          text(values, 'id'),
        );
        return { deletedApiKeyId };
      }),
  },
];
