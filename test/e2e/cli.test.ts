// The keygate CLI as an operator meets it (docs/api.md "CLI"): every command and group answers --help;
// usage errors exit 2 with the usage on stderr, other failures exit 1; lists of organizations, teams,
// users and keys; keys rotated and deleted as the operator (audited with the user as actor, tokens
// checked over HTTP); unique organization names; no new embedded database made by mistake; and
// `org list` in under a second.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/commands.ts';
import { type CliResult, databaseEnv, keyCreateArgs, output, runCli } from '../helpers/cli-process.ts';
import { createEmptyDatabase, type Provider, providers } from '../helpers/databases.ts';
import { graphql, type ServerProcess, startServer } from '../helpers/server-process.ts';

const TIMEOUT = 120_000;

interface Key {
  id: string;
  name: string;
  creator: { apiKey: null; user: { email: string } | null };
  roles: Array<{ name: string }>;
  teamIds: string[];
}

function expectUsageError(result: CliResult, message: RegExp) {
  expect(result.code).toBe(2);
  expect(result.stdout).toBe('');
  expect(result.stderr).toMatch(/^keygate: /);
  expect(result.stderr).toMatch(message);
  expect(result.stderr).toMatch(/usage: keygate/);
}

function expectFailure(result: CliResult, message: RegExp) {
  expect(result.code).toBe(1);
  expect(result.stdout).toBe('');
  expect(result.stderr).toMatch(/^keygate: /);
  expect(result.stderr).toMatch(message);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

describe('keygate --help and usage errors (no database needed)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keygate-cli-help-'));
  const env = { KEYGATE_DATA_DIR: join(dir, 'data'), DATABASE_URL: '' };
  const cli = (...args: string[]) => runCli(env, args);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it(
    'keygate --help lists every command and exits 0',
    async () => {
      for (const flag of ['--help', '-h', 'help']) {
        const help = await cli(flag);
        expect(help.code).toBe(0);
        expect(help.stderr).toBe('');
        for (const command of COMMANDS) expect(help.stdout).toContain(`  ${command.name} `);
      }
    },
    TIMEOUT,
  );

  it(
    'every command and every group answers --help with its usage on stdout and exit 0',
    async () => {
      const groups = new Set(COMMANDS.filter((c) => c.name.includes(' ')).map((c) => c.name.split(' ')[0] as string));
      const runs = [
        ...COMMANDS.map(async (command) => {
          const help = await cli(...command.name.split(' '), '--help');
          expect(help.code, command.name).toBe(0);
          expect(help.stderr).toBe('');
          expect(help.stdout).toContain(`usage: keygate ${command.name}`);
          for (const option of Object.keys(command.options)) expect(help.stdout).toContain(`--${option}`);
        }),
        ...[...groups].map(async (group) => {
          const help = await cli(group, '--help');
          expect(help.code, group).toBe(0);
          expect(help.stderr).toBe('');
          expect(help.stdout).toContain(`usage: keygate ${group} <`);
          for (const command of COMMANDS.filter((c) => c.name.startsWith(`${group} `))) {
            expect(help.stdout).toContain(command.name);
          }
        }),
      ];
      await Promise.all(runs);
      // --help wins over missing or unknown options.
      const help = await cli('key', 'create', '--colour', 'red', '--help');
      expect(help.code).toBe(0);
      expect(help.stdout).toContain('usage: keygate key create');
      // Nothing was created by asking for help.
      expect(readdirSync(dir)).toEqual([]);
    },
    TIMEOUT,
  );

  it(
    'key create --help names every unit of an --expires-at duration (1m is a minute, not a month)',
    async () => {
      const help = await cli('key', 'create', '--help');
      expect(help.code).toBe(0);
      const line = help.stdout.split('\n').find((l) => l.trimStart().startsWith('--expires-at')) ?? '';
      for (const unit of ['m (minutes)', 'h (hours)', 'd (days)', 'w (weeks)']) expect(line).toContain(unit);
      // A malformed value's message names them too.
      const wrong = await cli('key', 'create', '--org', 'X', '--as', 'a@b.c', '--name', 'K', '--expires-at', '1mo');
      expectUsageError(wrong, /m \(minutes\), h \(hours\), d \(days\) or w \(weeks\)/);
    },
    TIMEOUT,
  );

  it(
    'an option given twice is a usage error naming it (not the last one silently taken), for every command',
    async () => {
      for (const [args, flag] of [
        [['org', 'create', '--name', 'a', '--name', 'b'], '--name'],
        [['org', 'create', '--name=a', '--name', 'a'], '--name'],
        [['team', 'list', '--org', 'A', '--org', 'B'], '--org'],
        [
          ['key', 'create', '--org', 'A', '--as', 'a@b.c', '--name', 'K', '--expires-at', '1d', '--expires-at', '2d'],
          '--expires-at',
        ],
      ] as const) {
        const result = await cli(...args);
        expectUsageError(result, new RegExp(`${flag} is given more than once`));
      }
      // --help still wins.
      expect((await cli('org', 'create', '--name', 'a', '--name', 'b', '--help')).code).toBe(0);
      expect(readdirSync(dir)).toEqual([]);
    },
    TIMEOUT,
  );

  it(
    'no arguments, an unknown command, a group without its subcommand, a missing or unknown option: usage on stderr, exit 2',
    async () => {
      const none = await cli();
      expect(none.code).toBe(2);
      expect(none.stdout).toBe('');
      expect(none.stderr).toContain('usage: keygate <command>');
      expectUsageError(await cli('frobnicate'), /unknown command "frobnicate"/);
      expectUsageError(await cli('org'), /"org" needs a subcommand/);
      expectUsageError(await cli('key', 'destroy', '--id', 'x'), /unknown command "key destroy"/);
      expectUsageError(await cli('org', 'create'), /missing --name/);
      expectUsageError(await cli('org', 'create', '--name', 'X', '--colour', 'red'), /colour/);
      expectUsageError(await cli('audit', 'list', '--org', 'X', '--first', 'ten'), /--first must be a whole number/);
      expectUsageError(
        await cli('key', 'rotate', '--id', 'X', '--as', 'a@b.c', '--grace-period-minutes', '-1'),
        /grace-period-minutes/,
      );
      expect(readdirSync(dir)).toEqual([]);
    },
    TIMEOUT,
  );

  it(
    'without the embedded database, a command says where it looked and how to point at the right one, and creates nothing',
    async () => {
      const elsewhere = mkdtempSync(join(tmpdir(), 'keygate-cli-cwd-'));
      try {
        for (const args of [
          ['org', 'list'],
          ['org', 'create', '--name', 'Acme'],
          ['key', 'list', '--org', 'Acme'],
        ]) {
          const result = await runCli({ DATABASE_URL: '', KEYGATE_DATA_DIR: '' }, args, { cwd: elsewhere });
          expectFailure(result, /no database at \//);
          expect(result.stderr).toContain(join(elsewhere, 'data', 'keygate.db'));
          expect(result.stderr).toContain('KEYGATE_DATA_DIR');
          expect(result.stderr).toContain('DATABASE_URL');
        }
        expect(readdirSync(elsewhere)).toEqual([]);
        // `keygate migrate` is how a new one is made on purpose.
        expect(
          output<{ applied: string[] }>(
            await runCli({ DATABASE_URL: '', KEYGATE_DATA_DIR: '' }, ['migrate'], { cwd: elsewhere }),
          ).applied.length,
        ).toBeGreaterThan(0);
        expect(readdirSync(join(elsewhere, 'data'))).toContain('keygate.db');
      } finally {
        rmSync(elsewhere, { recursive: true, force: true });
      }
    },
    TIMEOUT,
  );
});

describe.each(providers)('the keygate CLI on %s', (provider: Provider) => {
  let dataDir: string;
  let remove: () => Promise<void>;
  let env: Record<string, string>;
  let server: ServerProcess | undefined;
  const cli = (...args: string[]) => runCli(env, args);

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'keygate-cli-'));
    const empty = await createEmptyDatabase(provider);
    remove = empty.remove;
    env = databaseEnv(empty.config as never, dataDir);
    if (empty.config.provider === 'sqlite') env.KEYGATE_DATA_DIR = empty.config.dataDir;
    output(await cli('migrate'));
  }, TIMEOUT);

  afterAll(async () => {
    if (server && server.child.exitCode === null) await server.stop();
    await remove?.();
    rmSync(dataDir, { recursive: true, force: true });
  }, TIMEOUT);

  it(
    'org create and org list; organization names are unique regardless of case',
    async () => {
      expect(output(await cli('org', 'list'))).toEqual({ organizations: [] });
      const acme = output<{ id: string; name: string }>(await cli('org', 'create', '--name', 'Acme'));
      const beta = output<{ id: string; name: string }>(await cli('org', 'create', '--name', 'beta corp'));
      expectFailure(await cli('org', 'create', '--name', 'ACME'), /already exists/);
      expectFailure(await cli('org', 'create', '--name', '  acme '), /already exists/);
      expect(output(await cli('org', 'list'))).toEqual({ organizations: [acme, beta] });
      // A name finds its organization whatever its case.
      expect(output(await cli('team', 'list', '--org', 'aCmE'))).toEqual({ teams: [] });
      expectFailure(await cli('team', 'list', '--org', 'Gamma'), /unknown organization "Gamma"; `keygate org list`/);
    },
    TIMEOUT,
  );

  it(
    'team and user create and list; duplicates are refused',
    async () => {
      const ops = output<{ id: string; name: string }>(await cli('team', 'create', '--org', 'Acme', '--name', 'Ops'));
      const dev = output<{ id: string; name: string }>(await cli('team', 'create', '--org', 'Acme', '--name', 'Dev'));
      expectFailure(await cli('team', 'create', '--org', 'Acme', '--name', 'Ops'), /already exists/);
      expect(output(await cli('team', 'list', '--org', 'Acme'))).toEqual({ teams: [dev, ops] });
      expect(output(await cli('team', 'list', '--org', 'beta corp'))).toEqual({ teams: [] });

      const ada = output(
        await cli('user', 'create', '--org', 'Acme', '--email', 'Ada@Acme.test', '--name', 'Ada', '--role', 'owner'),
      );
      const bob = output(await cli('user', 'create', '--org', 'Acme', '--email', 'bob@acme.test', '--name', 'Bob'));
      expect(bob).toMatchObject({ email: 'bob@acme.test', role: 'member', slackUserId: null });
      expectFailure(
        await cli('user', 'create', '--org', 'Acme', '--email', 'ADA@acme.test', '--name', 'Ada 2'),
        /already exists/,
      );
      output(await cli('user', 'create', '--org', 'beta corp', '--email', 'eve@beta.test', '--name', 'Eve'));
      expect(output(await cli('user', 'list', '--org', 'Acme'))).toEqual({ users: [ada, bob] });
    },
    TIMEOUT,
  );

  it(
    'key create obeys KEYGATE_MAX_KEYS_PER_ORG as the server does; a bad value is refused, nothing created',
    async () => {
      output(await cli('org', 'create', '--name', 'Quota'));
      output(await cli('user', 'create', '--org', 'Quota', '--email', 'q@quota.test', '--name', 'Q'));
      const limited = (max: string, name: string) =>
        runCli({ ...env, KEYGATE_MAX_KEYS_PER_ORG: max }, keyCreateArgs('Quota', 'q@quota.test', name));
      output(await limited('2', 'one'));
      output(await limited('2', 'two'));
      expectFailure(await limited('2', 'three'), /reached its limit of 2 API keys \(KEYGATE_MAX_KEYS_PER_ORG\)/);
      expectFailure(await limited('two', 'three'), /invalid environment: KEYGATE_MAX_KEYS_PER_ORG/);
      const names = async () =>
        output<{ apiKeys: Key[] }>(await cli('key', 'list', '--org', 'Quota')).apiKeys.map((key) => key.name);
      expect(await names()).toEqual(['two', 'one']);
      // Raised, or off (0), the limit lets the CLI go on.
      output(await limited('3', 'three'));
      output(await limited('0', 'four'));
      expect(await names()).toEqual(['four', 'three', 'two', 'one']);
    },
    TIMEOUT,
  );

  it(
    'key list; key rotate and key delete as the operator, audited with that user as actor, checked over HTTP',
    async () => {
      const admin = output<{ apiKey: Key; token: string }>(
        await cli(...keyCreateArgs('Acme', 'ada@acme.test', 'admin', { roles: 'api_keys_manage,viewer' })),
      );
      const bot = output<{ apiKey: Key; token: string }>(
        await cli(...keyCreateArgs('Acme', 'bob@acme.test', 'bot', { teams: 'Ops', 'team-roles': 'schedules_reader' })),
      );
      const listed = output<{ apiKeys: Key[] }>(await cli('key', 'list', '--org', 'Acme'));
      expect(listed.apiKeys.map((k) => k.id)).toEqual([bot.apiKey.id, admin.apiKey.id]);
      expect(listed.apiKeys).toEqual([bot.apiKey, admin.apiKey]);
      expect(listed.apiKeys[1]?.creator.user?.email).toBe('ada@acme.test');
      expect(output(await cli('key', 'list', '--org', 'beta corp'))).toEqual({ apiKeys: [] });

      server = await startServer({ ...env, KEYGATE_LAST_USED_FLUSH_MS: '600000' });
      const whoAmI = async (token: string) => graphql((server as ServerProcess).url, token, '{ currentApiKey { id } }');
      expect((await whoAmI(admin.token)).status).toBe(200);

      // Bob holds no key at all, yet as the operator he rotates the admin key: no covering check.
      const rotated = output<{ apiKey: Key; token: string; previousTokenExpiresAt: string }>(
        await cli('key', 'rotate', '--id', admin.apiKey.id, '--as', 'BOB@acme.test', '--grace-period-minutes', '5'),
      );
      expect(rotated.apiKey).toMatchObject({ id: admin.apiKey.id, name: 'admin' });
      expect(rotated.token).toMatch(/^keygate_/);
      expect(Date.parse(rotated.previousTokenExpiresAt) - Date.now()).toBeGreaterThan(4 * 60_000);
      expect((await whoAmI(rotated.token)).body.data).toEqual({ currentApiKey: { id: admin.apiKey.id } });
      expect((await whoAmI(admin.token)).status).toBe(200); // in its grace period

      // The user must belong to the key's organization; a key id that is no key is NOT_FOUND; nothing changes.
      expectFailure(
        await cli('key', 'rotate', '--id', admin.apiKey.id, '--as', 'eve@beta.test'),
        /unknown user "eve@beta.test"/,
      );
      expectFailure(
        await cli('key', 'delete', '--id', '01ARZ3NDEKTSV4RRFFQ69G5FAV', '--as', 'ada@acme.test'),
        /no API key with id/,
      );
      expectFailure(
        await cli('key', 'rotate', '--id', bot.apiKey.id, '--as', 'ada@acme.test', '--grace-period-minutes', '61'),
        /gracePeriodMinutes/,
      );

      expect(output(await cli('key', 'delete', '--id', bot.apiKey.id, '--as', 'ada@acme.test'))).toEqual({
        deletedApiKeyId: bot.apiKey.id,
      });
      expect((await whoAmI(bot.token)).status).toBe(401);
      expect(output<{ apiKeys: Key[] }>(await cli('key', 'list', '--org', 'Acme')).apiKeys.map((k) => k.id)).toEqual([
        admin.apiKey.id,
      ]);

      const audit = output<{
        auditEvents: Array<{
          action: string;
          actor: { apiKey: unknown; user: { email: string } | null };
          target: { id: string };
        }>;
        pageInfo: { hasNextPage: boolean };
      }>(await cli('audit', 'list', '--org', 'Acme'));
      expect(audit.auditEvents.map((e) => [e.action, e.target.id, e.actor.user?.email, e.actor.apiKey])).toEqual([
        ['api_key.deleted', bot.apiKey.id, 'ada@acme.test', null],
        ['api_key.rotated', admin.apiKey.id, 'bob@acme.test', null],
        ['api_key.created', bot.apiKey.id, 'bob@acme.test', null],
        ['api_key.created', admin.apiKey.id, 'ada@acme.test', null],
      ]);
      // The API's own audit log shows the same events, with the user as actor.
      const api = await graphql(
        (server as ServerProcess).url,
        rotated.token,
        '{ auditEvents(first: 2) { edges { node { action actor { user { email } apiKey { id } } } } } }',
      );
      expect(api.body.data).toEqual({
        auditEvents: {
          edges: [
            { node: { action: 'api_key.deleted', actor: { user: { email: 'ada@acme.test' }, apiKey: null } } },
            { node: { action: 'api_key.rotated', actor: { user: { email: 'bob@acme.test' }, apiKey: null } } },
          ],
        },
      });
      expect(await (server as ServerProcess).stop()).toBe(0);
    },
    TIMEOUT,
  );

  it(
    'keygate org list answers in under a second (median of 5 runs)',
    async () => {
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const result = await cli('org', 'list');
        expect(result.code).toBe(0);
        times.push(result.ms);
      }
      times.sort((a, b) => a - b);
      expect(times[2]).toBeLessThan(1_000);
    },
    TIMEOUT,
  );
});
