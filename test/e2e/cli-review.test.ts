// The CLI as docs/api.md describes it, on points a review found it wrong: team names unique regardless
// of case within an organization (and found by --teams whatever their case).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, databaseEnv, output, runCli } from '../helpers/cli-process.ts';
import { createEmptyDatabase, providers } from '../helpers/databases.ts';

const TIMEOUT = 120_000;

function expectFailure(result: CliResult, message: RegExp, code = 1) {
  expect(result.code).toBe(code);
  expect(result.stdout).toBe('');
  expect(result.stderr).toMatch(/^keygate: /);
  expect(result.stderr).toMatch(message);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

describe.each(providers)('keygate CLI on %s', (provider) => {
  let dataDir: string;
  let env: Record<string, string>;
  let remove: (() => Promise<void>) | undefined;
  const cli = (...args: string[]) => runCli(env, args);

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'keygate-cli-review-'));
    const empty = await createEmptyDatabase(provider);
    remove = empty.remove;
    env = databaseEnv(empty.config as never, dataDir);
    if (empty.config.provider === 'sqlite') env.KEYGATE_DATA_DIR = empty.config.dataDir;
    output(await cli('migrate'));
    output(await cli('org', 'create', '--name', 'Acme'));
    output(await cli('org', 'create', '--name', 'Beta'));
    output(
      await cli('user', 'create', '--org', 'Acme', '--email', 'ada@acme.test', '--name', 'Ada', '--role', 'owner'),
    );
  }, TIMEOUT);

  afterAll(async () => {
    await remove?.();
    rmSync(dataDir, { recursive: true, force: true });
  }, TIMEOUT);

  it(
    'team names are unique regardless of case within an organization; --teams finds a name whatever its case',
    async () => {
      const teamA = output<{ id: string; name: string }>(
        await cli('team', 'create', '--org', 'Acme', '--name', 'Team A'),
      );
      expectFailure(await cli('team', 'create', '--org', 'Acme', '--name', 'team a'), /already exists/);
      expectFailure(await cli('team', 'create', '--org', 'Acme', '--name', ' TEAM A '), /already exists/);
      // Another organization may use the name.
      output(await cli('team', 'create', '--org', 'Beta', '--name', 'team a'));
      expect(output(await cli('team', 'list', '--org', 'Acme'))).toEqual({ teams: [teamA] });

      const created = output<{ apiKey: { teamIds: string[] } }>(
        await cli(
          'key',
          'create',
          '--org',
          'Acme',
          '--as',
          'ada@acme.test',
          '--name',
          'by-name',
          '--teams',
          'TEAM A',
          '--team-roles',
          'schedules_reader',
        ),
      );
      expect(created.apiKey.teamIds).toEqual([teamA.id]);
      // Ids stay exact.
      expectFailure(
        await cli(
          'key',
          'create',
          '--org',
          'Acme',
          '--as',
          'ada@acme.test',
          '--name',
          'x',
          '--teams',
          teamA.id.toLowerCase(),
        ),
        /unknown team/,
      );
    },
    TIMEOUT,
  );
});
