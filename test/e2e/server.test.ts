// The real thing, end to end: `keygate serve` as a child process on a free port and the `keygate` CLI
// as separate processes on the same database, driven the way an operator would (docs/api.md "CLI", "HTTP",
// docs/rules.md "The administration path", "Tokens": lastUsedAt is flushed on graceful shutdown).
// The same story runs on the embedded database and on PostgreSQL.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../src/db/client.ts';
import type { DatabaseConfig } from '../../src/db/database-config.ts';
import { type CliResult, keyCreateArgs, runCli } from '../helpers/cli-process.ts';
import { createEmptyDatabase, type Provider, providers } from '../helpers/databases.ts';
import { graphql, type ServerProcess, startServer } from '../helpers/server-process.ts';

const E2E_TIMEOUT = 60_000;
/** If the server fails to start, its stderr (in the thrown error) names the cause. */
const SERVER_DEBUG = { KEYGATE_DEBUG: '1' };

/** The first-start block: the line after the one that says TOKEN holds the token. */
function bootstrapToken(stdout: string): string | null {
  const lines = stdout.split('\n');
  const at = lines.findIndex((line) => /\bTOKEN\b/.test(line));
  return at === -1 ? null : (lines[at + 1]?.trim() ?? null);
}

/** The printed example request (`curl -s URL -H '…' -H '…' -d '…'`), as fetch arguments. */
function printedCurl(stdout: string): { url: string; init: RequestInit } {
  const start = stdout.indexOf('curl ');
  expect(start).toBeGreaterThan(-1);
  // The command spans lines joined by trailing backslashes; it ends at the first line without one.
  const lines: string[] = [];
  for (const line of stdout.slice(start).split('\n')) {
    lines.push(line.replace(/\\\s*$/, ''));
    if (!/\\\s*$/.test(line)) break;
  }
  const command = lines.join(' ');
  const url = /curl\s+(?:-s\s+)?(\S+)/.exec(command)?.[1];
  const headers = [...command.matchAll(/-H\s+'([^']*)'/g)].map((m) => m[1] as string);
  const data = /-d\s+'([^']*)'/.exec(command)?.[1];
  if (!url || data === undefined) throw new Error(`cannot read the printed request: ${command}`);
  return {
    url,
    init: {
      method: 'POST', // curl -d posts
      headers: headers.map((h) => {
        const colon = h.indexOf(':');
        return [h.slice(0, colon).trim(), h.slice(colon + 1).trim()] as [string, string];
      }),
      body: data,
    },
  };
}

const parse = <T>(result: CliResult): T => {
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as T;
};

interface PresentedKey {
  id: string;
  name: string;
  creator: { apiKey: { id: string; name: string } | null; user: { email: string } | null };
  roles: Array<{ name: string }>;
  teamIds: string[];
  teamRoles: Array<{ name: string }>;
  lastUsedAt: string | null;
}

describe.each(providers)('keygate serve and the keygate CLI, end to end on %s', (provider: Provider) => {
  let dataDir: string;
  let database: DatabaseConfig;
  let removeDatabase: () => Promise<void>;
  let env: Record<string, string>;
  let server: ServerProcess | undefined;
  let reader: Database | undefined;
  let bootstrap: string;

  // Filled in as the story goes.
  let org: { id: string; name: string };
  let team: { id: string; name: string };
  let manager: { id: string; token: string };
  let lastManagerRequestAt: number;

  const cli = (...args: string[]) => runCli(env, args);

  /** Every table a failed command must leave untouched. */
  async function counts() {
    const db = (reader as Database).prisma;
    return {
      organizations: await db.organization.count(),
      teams: await db.team.count(),
      users: await db.user.count(),
      apiKeys: await db.apiKey.count(),
      tokens: await db.apiKeyToken.count(),
      roles: await db.apiKeyRole.count(),
      teamGrants: await db.apiKeyTeam.count(),
      teamRoles: await db.apiKeyTeamRole.count(),
      auditEvents: await db.auditEvent.count(),
    };
  }

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'keygate-e2e-'));
    if (provider === 'sqlite') {
      database = { provider, dataDir };
      removeDatabase = async () => {};
      env = { KEYGATE_DATA_DIR: dataDir, DATABASE_URL: '' };
    } else {
      const empty = await createEmptyDatabase('postgresql');
      database = empty.config;
      removeDatabase = empty.remove;
      if (database.provider !== 'postgresql') throw new Error('expected PostgreSQL');
      // The data dir is given too: with DATABASE_URL set, nothing may be written there.
      env = { DATABASE_URL: database.url, KEYGATE_DATA_DIR: dataDir };
    }
    // lastUsedAt is only written by the periodic flush (every 10 minutes here) or on shutdown.
    env.KEYGATE_LAST_USED_FLUSH_MS = '600000';
  }, E2E_TIMEOUT);

  afterAll(async () => {
    if (server && server.child.exitCode === null) await server.stop();
    await reader?.close();
    await removeDatabase?.();
    rmSync(dataDir, { recursive: true, force: true });
  }, E2E_TIMEOUT);

  it(
    'on first start it migrates, bootstraps, prints the admin token once, and the printed request works',
    async () => {
      server = await startServer({ ...env, ...SERVER_DEBUG, LOG_LEVEL: 'info' });
      const stdout = server.output();
      bootstrap = bootstrapToken(stdout) as string;
      expect(bootstrap).toMatch(/^keygate_[0-9A-Za-z]+$/);
      // Shown once: on the TOKEN line and in the example request, nowhere else (not in any log line).
      expect(stdout.split(bootstrap)).toHaveLength(3);

      const { url, init } = printedCurl(stdout);
      expect(url).toBe(`${server.url}/graphql`);
      const response = await fetch(url, init);
      expect(response.status).toBe(200);
      const body = (await response.json()) as { data: { currentApiKey: { name: string; roles: { name: string }[] } } };
      expect(body.data.currentApiKey.name).toBe('Bootstrap admin key');
      // Every account-level role, api_keys_manage included.
      expect(body.data.currentApiKey.roles.map((r) => r.name)).toContain('api_keys_manage');
      expect(body.data.currentApiKey.roles.map((r) => r.name)).toContain('viewer');

      // The embedded database holds token hashes: its files are the owner's alone (issue 12, item 9).
      if (provider === 'sqlite') {
        // The lock beside it (and its journal) too: no file of the directory is readable to others.
        const files = readdirSync(dataDir).filter((name) => name.startsWith('keygate.'));
        expect(files).toContain('keygate.db');
        expect(files).toContain('keygate.lock');
        for (const name of files)
          expect([name, (statSync(join(dataDir, name)).mode & 0o777).toString(8)]).toEqual([name, '600']);
      }

      // The server applied the migrations: the database is up to date for the CLI.
      reader = await openDatabase(database);
      expect(await reader.prisma.organization.count()).toBe(1);
      if (provider === 'postgresql') expect(readdirSync(dataDir)).toEqual([]);
    },
    E2E_TIMEOUT,
  );

  it(
    'keygate migrate on an up-to-date database prints {"applied": []}',
    async () => {
      expect(parse(await cli('migrate'))).toEqual({ applied: [] });
    },
    E2E_TIMEOUT,
  );

  it(
    'keygate --help prints the commands and exits 0',
    async () => {
      const help = await cli('--help');
      expect(help.code).toBe(0);
      expect(help.stderr).toBe('');
      for (const command of [
        'serve',
        'migrate',
        'org create',
        'team create',
        'user create',
        'key create',
        'print-schema',
      ]) {
        expect(help.stdout).toContain(command);
      }
      const keyHelp = await cli('key', 'create', '--help');
      expect(keyHelp.code).toBe(0);
      for (const flag of ['--org', '--as', '--name', '--roles', '--teams', '--team-roles']) {
        expect(keyHelp.stdout).toContain(flag);
      }
    },
    E2E_TIMEOUT,
  );

  it(
    'the CLI creates an organization, a team, a user, and a key holding api_keys_manage as that user',
    async () => {
      org = parse(await cli('org', 'create', '--name', 'Acme Rockets'));
      expect(org).toEqual({ id: expect.stringMatching(/^[0-9A-Z]{26}$/), name: 'Acme Rockets' });

      // By organization name here, by id below: both are accepted.
      team = parse(await cli('team', 'create', '--org', 'Acme Rockets', '--name', 'Ops'));
      expect(team).toEqual({ id: expect.stringMatching(/^[0-9A-Z]{26}$/), name: 'Ops' });

      const user = parse(
        await cli(
          ...['user', 'create', '--org', org.id, '--email', 'Lead@Acme.test', '--name', 'Ops Lead'],
          ...['--role', 'admin', '--slack-user-id', 'U123'],
        ),
      );
      expect(user).toEqual({
        id: expect.stringMatching(/^[0-9A-Z]{26}$/),
        email: 'lead@acme.test',
        name: 'Ops Lead',
        role: 'admin',
        slackUserId: 'U123',
      });

      const created = parse<{ apiKey: PresentedKey; token: string }>(
        await cli(
          ...['key', 'create', '--org', org.id, '--as', 'lead@acme.test', '--name', 'ops manager'],
          ...['--roles', 'api_keys_manage,viewer,schedules_editor', '--teams', 'Ops', '--team-roles', 'on_call_editor'],
        ),
      );
      expect(created.token).toMatch(/^keygate_/);
      expect(created.apiKey).toMatchObject({
        name: 'ops manager',
        creator: { apiKey: null, user: { email: 'lead@acme.test' } },
        teamIds: [team.id],
        teamRoles: [{ name: 'on_call_editor' }],
        lastUsedAt: null,
      });
      expect(created.apiKey.roles.map((r) => r.name).sort()).toEqual(['api_keys_manage', 'schedules_editor', 'viewer']);
      manager = { id: created.apiKey.id, token: created.token };

      // The server sees what the CLI wrote, and the new token works over HTTP.
      const seen = await graphql((server as ServerProcess).url, manager.token, '{ currentApiKey { id } teams { id } }');
      expect(seen.status).toBe(200);
      expect(seen.body.data).toEqual({ currentApiKey: { id: manager.id }, teams: [{ id: team.id }] });
    },
    E2E_TIMEOUT,
  );

  it(
    "a key the CLI creates while the server runs is in the server's very next apiKeys page",
    async () => {
      const url = (server as ServerProcess).url;
      const LIST = '{ apiKeys(first: 3) { edges { node { id name } } } }';
      const newest = async () => {
        const page = await graphql(url, manager.token, LIST);
        expect(page.body.errors).toBeUndefined();
        const apiKeys = page.body.data?.apiKeys as { edges: Array<{ node: { id: string; name: string } }> } | undefined;
        return apiKeys?.edges[0]?.node;
      };
      expect(await newest()).toEqual({ id: manager.id, name: 'ops manager' });
      expect(await newest()).toEqual({ id: manager.id, name: 'ops manager' }); // read again: kept by the server
      const created = parse<{ apiKey: { id: string } }>(
        await cli(...keyCreateArgs(org.id, 'lead@acme.test', 'made by the CLI')),
      );
      expect(await newest()).toEqual({ id: created.apiKey.id, name: 'made by the CLI' });
    },
    E2E_TIMEOUT,
  );

  it(
    'the CLI-made manager key creates, rotates and deletes keys over HTTP',
    async () => {
      const url = (server as ServerProcess).url;
      const created = await graphql(
        url,
        manager.token,
        `mutation($input: CreateApiKeyInput!) {
          createApiKey(input: $input) { token apiKey { id creator { apiKey { id name } user { id } } teamIds } }
        }`,
        {
          input: { name: 'deploy bot', roleNames: ['viewer'], teamIds: [team.id], teamRoleNames: ['schedules_reader'] },
        },
      );
      expect(created.body.errors).toBeUndefined();
      const payload = created.body.data?.createApiKey as {
        token: string;
        apiKey: { id: string; creator: unknown; teamIds: string[] };
      };
      expect(payload.apiKey.creator).toEqual({ apiKey: { id: manager.id, name: 'ops manager' }, user: null });
      expect(payload.apiKey.teamIds).toEqual([team.id]);
      const bot = { id: payload.apiKey.id, token: payload.token };
      expect((await graphql(url, bot.token, '{ currentApiKey { id } }')).body.data).toEqual({
        currentApiKey: { id: bot.id },
      });

      // api_keys_manage is never granted through the API, not even by a manager holding it.
      const escalation = await graphql(
        url,
        manager.token,
        'mutation { createApiKey(input: { name: "x", roleNames: ["api_keys_manage"] }) { token } }',
      );
      expect(escalation.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect(escalation.body.errors?.[0]?.message).toMatch(/administration CLI/);

      const rotated = await graphql(
        url,
        manager.token,
        `mutation { rotateApiKey(input: { id: "${bot.id}", gracePeriodMinutes: 0 }) { token apiKey { id } } }`,
      );
      expect(rotated.body.errors).toBeUndefined();
      const fresh = (rotated.body.data as { rotateApiKey: { token: string } }).rotateApiKey.token;
      expect((await graphql(url, bot.token, '{ currentApiKey { id } }')).status).toBe(401);
      expect((await graphql(url, fresh, '{ currentApiKey { id } }')).status).toBe(200);

      lastManagerRequestAt = Date.now();
      const deleted = await graphql(
        url,
        manager.token,
        `mutation { deleteApiKey(input: { id: "${bot.id}" }) { deletedApiKeyId } }`,
      );
      expect(deleted.body.data).toEqual({ deleteApiKey: { deletedApiKeyId: bot.id } });
      const afterDelete = await graphql(url, fresh, '{ currentApiKey { id } }');
      expect(afterDelete.status).toBe(401);
      expect(afterDelete.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    },
    E2E_TIMEOUT,
  );

  // Each failing command: non-zero exit, a message on stderr naming the problem, nothing on stdout,
  // nothing written.
  const failures: Array<[string, () => string[], RegExp]> = [
    ['org create without --name', () => ['org', 'create'], /missing --name/],
    ['team create without --org', () => ['team', 'create', '--name', 'X'], /missing --org/],
    [
      'team create in an unknown organization',
      () => ['team', 'create', '--org', 'Nope Inc', '--name', 'X'],
      /unknown organization "Nope Inc"/,
    ],
    [
      'team create with a name already taken',
      () => ['team', 'create', '--org', org.id, '--name', 'Ops'],
      /already exists/,
    ],
    ['user create without --email and --name', () => ['user', 'create', '--org', org.id], /missing --email, --name/],
    [
      'user create in an unknown organization',
      () => ['user', 'create', '--org', '01ARZ3NDEKTSV4RRFFQ69G5FAV', '--email', 'a@b.test', '--name', 'A'],
      /unknown organization "01ARZ3NDEKTSV4RRFFQ69G5FAV"/,
    ],
    ['key create without --as and --name', () => ['key', 'create', '--org', org.id], /missing --as, --name/],
    [
      'key create in an unknown organization',
      () => ['key', 'create', '--org', 'Nope Inc', '--as', 'lead@acme.test', '--name', 'k'],
      /unknown organization "Nope Inc"/,
    ],
    [
      'key create as an unknown user',
      () => ['key', 'create', '--org', org.id, '--as', 'nobody@acme.test', '--name', 'k', '--roles', 'viewer'],
      /unknown user "nobody@acme.test"/,
    ],
    [
      'key create as a user of another organization',
      () => ['key', 'create', '--org', org.id, '--as', 'admin@keygate.local', '--name', 'k'],
      /unknown user "admin@keygate.local"/,
    ],
    [
      'key create with an unknown role',
      () => [
        'key',
        'create',
        '--org',
        org.id,
        '--as',
        'lead@acme.test',
        '--name',
        'k',
        '--roles',
        'viewer,galactic_admin',
      ],
      /galactic_admin/,
    ],
    [
      'key create with a role not assignable as a team role',
      () => [
        'key',
        'create',
        '--org',
        org.id,
        '--as',
        'lead@acme.test',
        '--name',
        'k',
        '--teams',
        'Ops',
        '--team-roles',
        'viewer',
      ],
      /viewer/,
    ],
    [
      'key create with an unknown team',
      () => [
        'key',
        'create',
        '--org',
        org.id,
        '--as',
        'lead@acme.test',
        '--name',
        'k',
        '--teams',
        'Ops,Nope',
        '--team-roles',
        'schedules_reader',
      ],
      /unknown team "Nope"/,
    ],
    [
      'key create with teams but no team roles',
      () => ['key', 'create', '--org', org.id, '--as', 'lead@acme.test', '--name', 'k', '--teams', 'Ops'],
      /teamIds were given without teamRoleNames/,
    ],
    ['an unknown command', () => ['key', 'destroy', '--org', org.id], /unknown command/],
    ['an unknown option', () => ['org', 'create', '--name', 'X', '--colour', 'red'], /colour/],
  ];

  it.each(failures)(
    'CLI failure: %s exits non-zero with a clear message and writes nothing',
    async (_name, args, message) => {
      const before = await counts();
      const result = await cli(...args());
      expect(result.code).not.toBe(0);
      expect(result.code).not.toBeNull();
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/^keygate: /);
      expect(result.stderr).toMatch(message);
      // No stack trace: a message for a person.
      expect(result.stderr).not.toMatch(/\n\s+at /);
      expect(await counts()).toEqual(before);
    },
    E2E_TIMEOUT,
  );

  it(
    'SIGTERM: the server exits 0 and the lastUsedAt recorded during the run is flushed to the database',
    async () => {
      const db = (reader as Database).prisma;
      const lastUsedAt = async () => (await db.apiKey.findUnique({ where: { id: manager.id } }))?.lastUsedAt ?? null;
      // Still pending: the periodic flush is 10 minutes away.
      expect(await lastUsedAt()).toBeNull();

      expect(await (server as ServerProcess).stop()).toBe(0);
      const flushed = await lastUsedAt();
      expect(flushed).not.toBeNull();
      expect((flushed as Date).getTime()).toBeGreaterThanOrEqual(lastManagerRequestAt - 1_000);
      expect((flushed as Date).getTime()).toBeLessThanOrEqual(Date.now());

      // A second start: nothing is bootstrapped again, tokens survive, and the API reports the flushed value.
      server = await startServer({ ...env, ...SERVER_DEBUG });
      expect(server.output()).not.toMatch(/\bTOKEN\b/);
      expect(await db.organization.count()).toBe(2);
      const seen = await graphql(server.url, manager.token, '{ currentApiKey { id lastUsedAt } }');
      expect(seen.body.data).toEqual({
        currentApiKey: { id: manager.id, lastUsedAt: (flushed as Date).toISOString() },
      });
      expect((await graphql(server.url, bootstrap, '{ currentApiKey { name } }')).status).toBe(200);
      expect(await server.stop()).toBe(0);
    },
    E2E_TIMEOUT,
  );
});
