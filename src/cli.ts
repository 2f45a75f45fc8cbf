// The keygate command: the administration path. Same domain functions as the API; one JSON document
// on stdout on success; a message on stderr and a non-zero exit on failure, with nothing written.
import { parseArgs } from 'node:util';
import { parseExpiresAtOption } from './cli/expires-at.ts';
import { VERIFIER_COMMANDS, VERIFIER_HELP } from './cli/verifier.ts';
import { ConfigError, loadConfig } from './config.ts';
import { MigrationError } from './db/migrate.ts';
import { createApiKey, type Domain } from './domain/api-keys.ts';
import { encodeAuditCursor, listOrganizationAuditEvents } from './domain/audit.ts';
import { KeygateError } from './domain/errors.ts';
import {
  createOrganization,
  createTeam,
  createUser,
  findOrganization,
  findTeams,
  findUserByEmail,
} from './domain/organizations.ts';
import type { ApiKeyRecord } from './domain/store.ts';
import { isDatabaseUnavailable } from './errors.ts';
import { openRuntime } from './runtime.ts';

class UsageError extends Error {}

const HELP = `keygate: API-key lifecycle service

Usage: keygate <command> [options]

Commands:
  serve                                   start the server (PORT, HOST, DATABASE_URL, KEYGATE_DATA_DIR, CORS_ORIGINS)
  migrate                                 apply pending migrations; prints {"applied": [names]}
  org create --name N                     create an organization
  team create --org ORG --name N          create a team (ORG: organization id or name)
  user create --org ORG --email E --name N [--role R] [--slack-user-id S]
                                          create a user (role defaults to "member")
  key create --org ORG --as EMAIL --name N [--roles a,b] [--teams t1,t2] [--team-roles r1,r2]
             [--expires-at TIME]          create an API key as that user; the only way to grant
                                          api_keys_manage. Teams by id or name. Prints the token once.
                                          TIME: RFC 3339, or a duration from now like 90d, 12h.
  audit list --org ORG [--first N] [--after CURSOR]
                                          the organization's audit events, newest first
${VERIFIER_HELP}
  print-schema                            print the GraphQL schema (SDL)

Every command honours DATABASE_URL (PostgreSQL) or KEYGATE_DATA_DIR (embedded database, default ./data).
Add --help to any command for its options.`;

type Spec = Record<string, { type: 'string'; required?: boolean; help: string }>;

function parse(argv: string[], spec: Spec, usage: string): Record<string, string> | null {
  const options = Object.fromEntries(Object.entries(spec).map(([name, o]) => [name, { type: o.type }]));
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\nusage: ${usage}`);
  }
  if (values.help) {
    const lines = Object.entries(spec).map(
      ([name, o]) => `  --${name.padEnd(16)} ${o.help}${o.required ? ' (required)' : ''}`,
    );
    process.stdout.write(`usage: ${usage}\n${lines.join('\n')}\n`);
    return null;
  }
  const missing = Object.entries(spec)
    .filter(([name, o]) => o.required && !values[name])
    .map(([name]) => `--${name}`);
  if (missing.length > 0) throw new UsageError(`missing ${missing.join(', ')}\nusage: ${usage}`);
  return values as Record<string, string>;
}

const list = (value: string | undefined) =>
  (value ?? '')
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);

/** The same shape a GraphQL query selecting every field of ApiKey returns. */
export async function presentApiKey(domain: Domain, key: ApiKeyRecord) {
  const role = (name: string) => {
    const r = domain.catalogue.get(name);
    return { name, description: r?.description ?? '', scopes: [...(r?.scopes ?? [])] };
  };
  const user = key.creatorUserId
    ? await domain.db.user.findUnique({
        where: { id: key.creatorUserId },
        select: { id: true, email: true, name: true, role: true, slackUserId: true },
      })
    : null;
  return {
    id: key.id,
    name: key.name,
    createdAt: key.createdAt.toISOString(),
    creator: {
      apiKey: key.creatorKeyId ? { id: key.creatorKeyId, name: key.creatorKeyName ?? '' } : null,
      user,
    },
    roles: key.grants.roleNames.map(role),
    teamIds: [...key.grants.teamIds],
    teams: key.teams,
    teamRoles: key.grants.teamRoleNames.map(role),
    tokenLastIssuedAt: key.tokenLastIssuedAt.toISOString(),
    lastUsedAt: key.lastUsedAt?.toISOString() ?? null,
    expiresAt: key.expiresAt?.toISOString() ?? null,
  };
}

async function withRuntime<T>(run: (domain: Domain, applied: string[]) => Promise<T>): Promise<T> {
  const { database, domain, applied } = await openRuntime(loadConfig());
  try {
    return await run(domain, applied);
  } finally {
    await database.close();
  }
}

async function main(argv: string[]): Promise<unknown> {
  const [command, sub, ...rest] = argv;
  const key = sub && !sub.startsWith('-') ? `${command} ${sub}` : command;
  const args = key === command ? argv.slice(1) : rest;
  switch (key) {
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${HELP}\n`);
      return undefined;
    case 'serve': {
      if (!parse(args, {}, 'keygate serve')) return undefined;
      const { serve } = await import('./main.ts');
      await serve(loadConfig());
      return undefined;
    }
    case 'migrate': {
      if (!parse(args, {}, 'keygate migrate')) return undefined;
      return withRuntime(async (_domain, applied) => ({ applied }));
    }
    case 'print-schema': {
      if (!parse(args, {}, 'keygate print-schema')) return undefined;
      const { printSchemaSdl } = await import('./schema/index.ts');
      process.stdout.write(printSchemaSdl());
      return undefined;
    }
    case 'org create': {
      const v = parse(
        args,
        { name: { type: 'string', required: true, help: 'organization name' } },
        'keygate org create --name N',
      );
      if (!v) return undefined;
      return withRuntime((domain) => createOrganization(domain.db, { name: v.name as string }));
    }
    case 'team create': {
      const v = parse(
        args,
        {
          org: { type: 'string', required: true, help: 'organization id or name' },
          name: { type: 'string', required: true, help: 'team name' },
        },
        'keygate team create --org ORG --name N',
      );
      if (!v) return undefined;
      return withRuntime(async (domain) => {
        const org = await findOrganization(domain.db, v.org as string);
        return createTeam(domain.db, org.id, { name: v.name as string });
      });
    }
    case 'user create': {
      const v = parse(
        args,
        {
          org: { type: 'string', required: true, help: 'organization id or name' },
          email: { type: 'string', required: true, help: 'email address' },
          name: { type: 'string', required: true, help: 'display name' },
          role: { type: 'string', help: 'role in the organization (default "member")' },
          'slack-user-id': { type: 'string', help: 'Slack user id' },
        },
        'keygate user create --org ORG --email E --name N [--role R] [--slack-user-id S]',
      );
      if (!v) return undefined;
      return withRuntime(async (domain) => {
        const org = await findOrganization(domain.db, v.org as string);
        const user = await createUser(domain.db, org.id, {
          email: v.email as string,
          name: v.name as string,
          role: v.role,
          slackUserId: v['slack-user-id'],
        });
        return { id: user.id, email: user.email, name: user.name, role: user.role, slackUserId: user.slackUserId };
      });
    }
    case 'key create': {
      const v = parse(
        args,
        {
          org: { type: 'string', required: true, help: 'organization id or name' },
          as: { type: 'string', required: true, help: 'email of the user creating the key' },
          name: { type: 'string', required: true, help: 'key name' },
          roles: { type: 'string', help: 'account-level roles, comma-separated' },
          teams: { type: 'string', help: 'team ids or names, comma-separated' },
          'team-roles': { type: 'string', help: 'roles applying in every team given, comma-separated' },
          'expires-at': { type: 'string', help: 'RFC 3339 time or duration from now (90d, 12h); default never' },
        },
        'keygate key create --org ORG --as EMAIL --name N [--roles a,b] [--teams t1,t2] [--team-roles r1,r2] [--expires-at TIME]',
      );
      if (!v) return undefined;
      return withRuntime(async (domain) => {
        const org = await findOrganization(domain.db, v.org as string);
        const user = await findUserByEmail(domain.db, org.id, v.as as string);
        const teams = await findTeams(domain.db, org.id, list(v.teams));
        const { apiKey, token } = await createApiKey(
          domain,
          { kind: 'user', organizationId: org.id, userId: user.id },
          {
            name: v.name as string,
            roleNames: list(v.roles),
            teamIds: teams.map((t) => t.id),
            teamRoleNames: list(v['team-roles']),
            expiresAt: v['expires-at'] === undefined ? undefined : parseExpiresAtOption(v['expires-at'], domain.now()),
          },
        );
        return { apiKey: await presentApiKey(domain, apiKey), token };
      });
    }
    case 'audit list': {
      const v = parse(
        args,
        {
          org: { type: 'string', required: true, help: 'organization id or name' },
          first: { type: 'string', help: 'how many events, 1 to 250 (default 25)' },
          after: { type: 'string', help: 'the endCursor printed by the previous page' },
        },
        'keygate audit list --org ORG [--first N] [--after CURSOR]',
      );
      if (!v) return undefined;
      if (v.first !== undefined && !/^\d+$/.test(v.first)) throw new UsageError('--first must be a whole number');
      return withRuntime(async (domain) => {
        const org = await findOrganization(domain.db, v.org as string);
        const { events, hasNextPage } = await listOrganizationAuditEvents(domain, org.id, {
          first: v.first === undefined ? undefined : Number(v.first),
          after: v.after,
        });
        const last = events.at(-1);
        // Events have the shape of auditEvents' nodes in GraphQL (dates print as RFC 3339 strings).
        return { events, pageInfo: { hasNextPage, endCursor: last ? encodeAuditCursor(last.id) : null } };
      });
    }
    case 'verifier create':
    case 'verifier list':
    case 'verifier delete': {
      const command = VERIFIER_COMMANDS[key] as (typeof VERIFIER_COMMANDS)[string];
      const v = parse(args, command.options, command.usage);
      if (!v) return undefined;
      return withRuntime((domain) => command.run(domain, v));
    }
    default:
      throw new UsageError(`unknown command "${argv.join(' ')}"; run "keygate --help" for the list.`);
  }
}

try {
  const result = await main(process.argv.slice(2));
  if (result !== undefined) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} catch (error) {
  if (
    error instanceof UsageError ||
    error instanceof KeygateError ||
    error instanceof ConfigError ||
    error instanceof MigrationError
  ) {
    process.stderr.write(`keygate: ${error.message}\n`);
    process.exitCode = error instanceof UsageError ? 2 : 1;
  } else if ((error as NodeJS.ErrnoException)?.code === 'EADDRINUSE') {
    process.stderr.write('keygate: the address is already in use; set PORT (or HOST) to a free one.\n');
    process.exitCode = 1;
  } else if (isDatabaseUnavailable(error)) {
    process.stderr.write('keygate: the database is not reachable; check DATABASE_URL and that the server is up.\n');
    process.exitCode = 1;
  } else {
    // No stack, no SQL, no connection string: the cause is named by its class only.
    process.stderr.write(
      `keygate: unexpected ${(error as Error)?.name ?? 'error'}; nothing was changed. Set KEYGATE_DEBUG=1 for details.\n`,
    );
    if (process.env.KEYGATE_DEBUG === '1') process.stderr.write(`${(error as Error)?.stack ?? error}\n`);
    process.exitCode = 1;
  }
}
