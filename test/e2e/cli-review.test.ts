// The CLI as docs/api.md describes it, on points a review found it wrong: team names unique regardless
// of case within an organization (and found by --teams whatever their case); `audit list` prints every
// event unless --first asks for one page; --expires-at refuses impossible dates, years before 0001 or
// past 9999 and values with spaces around them as usage errors (exit 2), like any malformed option
// value; keys and audit events are printed with the fields of GraphQL's types (schema.graphql), no more,
// no fewer.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/domain/ids.ts';
import { type CliResult, databaseEnv, keyCreateArgs, output, runCli } from '../helpers/cli-process.ts';
import { createTestDatabase, providers, type TestDatabase } from '../helpers/databases.ts';

const TIMEOUT = 120_000;

/** The field names of an object type of the printed GraphQL schema. */
function fieldsOf(type: string): string[] {
  const schema = readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8');
  const body = new RegExp(`\\ntype ${type} \\{\\n([\\s\\S]*?)\\n\\}`).exec(schema)?.[1] ?? '';
  const withoutDescriptions = body.replace(/"""[\s\S]*?"""/g, '');
  return [...withoutDescriptions.matchAll(/^\s+(\w+)(?:\(|:)/gm)].map((m) => m[1] as string).sort();
}

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
  let t: TestDatabase | undefined;
  let beta = '';
  const cli = (...args: string[]) => runCli(env, args);

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'keygate-cli-review-'));
    t = await createTestDatabase(provider);
    env = databaseEnv(t.config as never, dataDir);
    output(await cli('org', 'create', '--name', 'Acme'));
    beta = output<{ id: string }>(await cli('org', 'create', '--name', 'Beta')).id;
    output(
      await cli('user', 'create', '--org', 'Acme', '--email', 'ada@acme.test', '--name', 'Ada', '--role', 'owner'),
    );
  }, TIMEOUT);

  afterAll(async () => {
    await t?.drop();
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
          ...keyCreateArgs('Acme', 'ada@acme.test', 'by-name', { teams: 'TEAM A', 'team-roles': 'schedules_reader' }),
        ),
      );
      expect(created.apiKey.teamIds).toEqual([teamA.id]);
      // Ids stay exact.
      expectFailure(
        await cli(...keyCreateArgs('Acme', 'ada@acme.test', 'x', { teams: teamA.id.toLowerCase() })),
        /unknown team/,
      );
    },
    TIMEOUT,
  );
  it(
    'audit list prints every event, newest first, without pageInfo; --first prints one page with pageInfo',
    async () => {
      // More events than one page of the largest size (250), written straight into the table.
      const count = 260;
      const ids = Array.from({ length: count }, (_, i) => newId(1_700_000_000_000 + i * 1000));
      await t?.database.prisma.auditEvent.createMany({
        data: ids.map((id, i) => ({
          id,
          organizationId: beta,
          action: 'api_key.deleted',
          createdAt: new Date(1_700_000_000_000 + i * 1000),
          actorUserId: newId(),
          actorUserEmail: 'eve@beta.test',
          actorUserName: 'Eve',
          targetKeyId: newId(),
          targetKeyName: `key ${i}`,
          grantsBefore: JSON.stringify({ roleNames: ['viewer'], teamIds: [], teamRoleNames: [] }),
          targetHasAccountRoles: true,
        })),
      });
      const newestFirst = [...ids].reverse();

      const all = output<Record<string, unknown>>(await cli('audit', 'list', '--org', 'Beta'));
      expect(Object.keys(all)).toEqual(['auditEvents']);
      expect((all.auditEvents as Array<{ id: string }>).map((e) => e.id)).toEqual(newestFirst);

      const page = output<{
        auditEvents: Array<{ id: string }>;
        pageInfo: { hasNextPage: boolean; endCursor: string };
      }>(await cli('audit', 'list', '--org', 'Beta', '--first', '3'));
      expect(page.auditEvents.map((e) => e.id)).toEqual(newestFirst.slice(0, 3));
      expect(page.pageInfo.hasNextPage).toBe(true);
      const next = output<{ auditEvents: Array<{ id: string }>; pageInfo: { hasNextPage: boolean } }>(
        await cli('audit', 'list', '--org', 'Beta', '--first', '2', '--after', page.pageInfo.endCursor),
      );
      expect(next.auditEvents.map((e) => e.id)).toEqual(newestFirst.slice(3, 5));
      // --after alone: every event after the cursor.
      const rest = output<Record<string, unknown>>(
        await cli('audit', 'list', '--org', 'Beta', '--after', page.pageInfo.endCursor),
      );
      expect(Object.keys(rest)).toEqual(['auditEvents']);
      expect((rest.auditEvents as Array<{ id: string }>).map((e) => e.id)).toEqual(newestFirst.slice(3));
    },
    TIMEOUT,
  );
  it(
    '--expires-at: an impossible date, a time before 0001 or past 9999, an unreadable value or one with white space around it is a usage error and creates nothing',
    async () => {
      const create = (name: string, expiresAt: string) =>
        cli(...keyCreateArgs('Acme', 'ada@acme.test', name, { 'expires-at': expiresAt }));
      const before = output<{ apiKeys: unknown[] }>(await cli('key', 'list', '--org', 'Acme')).apiKeys.length;
      for (const [value, why] of [
        ['2030-02-30T00:00:00Z', /no such date or time/],
        ['2031-02-29T12:00:00+02:00', /no such date or time/],
        ['2030-01-01T24:00:00Z', /no such date or time/],
        ['2030-01-01T12:00:00+24:00', /not a time/],
        ['999999w', /after the year 9999/],
        ['9999-12-31T23:00:00-02:00', /after the year 9999/],
        // Before the year 0001 (in UTC) is no time GraphQL's DateTime or the databases take either.
        ['0000-01-01T00:00:00Z', /before the year 0001/],
        ['0000-12-31T23:59:59.999Z', /before the year 0001/],
        ['0001-01-01T00:30:00+01:00', /before the year 0001/],
        ['next tuesday', /not a time/],
        // RFC 3339 has no spaces, nor does GraphQL's DateTime read any: a quoting mistake, not a time.
        [' 2030-01-01T00:00:00Z', /white space/],
        ['2030-01-01T00:00:00Z ', /white space/],
        ['90d\t', /white space/],
        ['\n12h', /white space/],
      ] as const) {
        const result = await create('x', value);
        expectFailure(result, why, 2);
        expect(result.stderr).toContain(`--expires-at ${JSON.stringify(value)}`);
        expect(result.stderr).toMatch(/usage: keygate key create/);
      }
      // Malformed option values are usage errors everywhere: --grace-period-minutes too.
      expectFailure(
        await cli('key', 'rotate', '--id', 'X', '--as', 'a@b.c', '--grace-period-minutes', 'abc'),
        /grace-period-minutes/,
        2,
      );
      expect(output<{ apiKeys: unknown[] }>(await cli('key', 'list', '--org', 'Acme')).apiKeys).toHaveLength(before);

      // A real day at an offset that is another day in UTC, and a leap day, are taken as written.
      const created = output<{ apiKey: { expiresAt: string } }>(await create('offset', '2030-02-28T23:30:00-01:00'));
      expect(created.apiKey.expiresAt).toBe('2030-03-01T00:30:00.000Z');
      const leap = output<{ apiKey: { expiresAt: string } }>(await create('leap', '2032-02-29T00:00:00Z'));
      expect(leap.apiKey.expiresAt).toBe('2032-02-29T00:00:00.000Z');
    },
    TIMEOUT,
  );
  it(
    'keys (create, list, rotate) and audit events (list) are printed with exactly the fields of GraphQL',
    async () => {
      const roleFields = fieldsOf('Role');
      const detailFields = fieldsOf('AuditEventDetails');
      expect(roleFields).toContain('teamAssignable');
      expect(detailFields).toContain('expiresAt');
      type PrintedKey = {
        id: string;
        roles: Array<Record<string, unknown>>;
        teamRoles: Array<Record<string, unknown>>;
      };
      const expectRoles = (key: PrintedKey) => {
        for (const role of [...key.roles, ...key.teamRoles]) expect(Object.keys(role).sort()).toEqual(roleFields);
      };
      output(await cli('team', 'create', '--org', 'Acme', '--name', 'Shape'));
      const created = output<{ apiKey: PrintedKey }>(
        await cli(
          ...keyCreateArgs('Acme', 'ada@acme.test', 'shape', {
            roles: 'viewer',
            teams: 'Shape',
            'team-roles': 'schedules_reader',
            'expires-at': '30d',
          }),
        ),
      ).apiKey;
      expectRoles(created);
      expect(created.teamRoles.find((r) => r.name === 'schedules_reader')?.teamAssignable).toBe(true);
      expect(created.roles.find((r) => r.name === 'viewer')?.teamAssignable).toBe(false);
      const listed = output<{ apiKeys: PrintedKey[] }>(await cli('key', 'list', '--org', 'Acme')).apiKeys;
      expect(listed.map((key) => key.id)).toContain(created.id);
      for (const key of listed) expectRoles(key);
      const rotated = output<{ apiKey: PrintedKey }>(
        await cli('key', 'rotate', '--id', created.id, '--as', 'ada@acme.test'),
      ).apiKey;
      expectRoles(rotated);

      const events = output<{ auditEvents: Array<{ action: string; details: Record<string, unknown> | null }> }>(
        await cli('audit', 'list', '--org', 'Acme'),
      ).auditEvents;
      const withDetails = events.filter((e) => e.details !== null);
      expect(withDetails.map((e) => e.action)).toEqual(expect.arrayContaining(['api_key.created', 'api_key.rotated']));
      for (const event of withDetails) expect(Object.keys(event.details ?? {}).sort()).toEqual(detailFields);
    },
    TIMEOUT,
  );
});
