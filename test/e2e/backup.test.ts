// `keygate backup --to FILE` while the server is under write load (docs/api.md "CLI", docs/operations.md
// "Backups"): the copy is consistent (every key answered before the backup began is in it, each with
// its audit event, and nothing half made), and restoring it, as docs/operations.md says, gives a working
// server whose keys authenticate. On PostgreSQL the command refuses and names pg_dump.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/domain/api-keys.ts';
import { createOrganization, createUser } from '../../src/domain/organizations.ts';
import { openRuntime } from '../../src/runtime.ts';
import { output, runCli } from '../helpers/cli-process.ts';
import { createEmptyDatabase } from '../helpers/databases.ts';
import { graphql, type ServerProcess, startServer } from '../helpers/server-process.ts';

const TIMEOUT = 180_000;

interface AuditPage {
  auditEvents: Array<{ target: { id: string } }>;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}
const CREATE =
  'mutation($name: String!) { createApiKey(input: { name: $name, roleNames: ["viewer"] }) { apiKey { id } } }';

describe('keygate backup of the embedded database', () => {
  const root = mkdtempSync(join(tmpdir(), 'keygate-backup-'));
  const dataDir = join(root, 'data');
  const env = { KEYGATE_DATA_DIR: dataDir, DATABASE_URL: '' };
  let manager: { id: string; token: string };
  const servers: ServerProcess[] = [];

  beforeAll(async () => {
    output(await runCli(env, ['migrate']));
    const { database, domain } = await openRuntime({ database: { provider: 'sqlite', dataDir } });
    try {
      const org = await createOrganization(domain.db, { name: 'Acme' });
      const user = await createUser(domain.db, org.id, { email: 'ops@acme.test', name: 'Ops' });
      const created = await createApiKey(
        domain,
        { kind: 'user', organizationId: org.id, userId: user.id },
        { name: 'manager', roleNames: ['api_keys_manage', 'viewer'] },
      );
      manager = { id: created.apiKey.id, token: created.token };
    } finally {
      await database.close();
    }
  }, TIMEOUT);

  afterAll(async () => {
    for (const server of servers) if (server.child.exitCode === null) await server.stop();
    rmSync(root, { recursive: true, force: true });
  }, TIMEOUT);

  it(
    'a copy taken under write load is consistent and restores into a working server',
    async () => {
      const server = await startServer({ ...env, KEYGATE_RATE_LIMIT_PER_KEY: '0' });
      servers.push(server);
      const answered: Array<{ id: string; at: number }> = [];
      let stop = false;
      const writer = async (n: number) => {
        for (let i = 0; !stop; i++) {
          const result = await graphql(server.url, manager.token, CREATE, { name: `w${n}-${i}` });
          const id = (result.body.data?.createApiKey as { apiKey: { id: string } } | undefined)?.apiKey.id;
          expect(result.status).toBe(200);
          if (id) answered.push({ id, at: Date.now() });
        }
      };
      const load = [writer(1), writer(2), writer(3)];
      while (answered.length < 20) await new Promise((resolve) => setTimeout(resolve, 20));

      const file = join(root, 'copy.db');
      const startedAt = Date.now();
      const result = await runCli(env, ['backup', '--to', file]);
      const finishedAt = Date.now();
      const printed = output<{ backup: string; bytes: number }>(result);
      expect(printed).toEqual({ backup: file, bytes: expect.any(Number) });
      expect(printed.bytes).toBeGreaterThan(0);
      // The copy holds token hashes as the database does: the owner's alone, whatever the umask.
      expect((statSync(file).mode & 0o777).toString(8)).toBe('600');
      const countAtEnd = answered.length;
      while (answered.length < countAtEnd + 10) await new Promise((resolve) => setTimeout(resolve, 20));
      stop = true;
      await Promise.all(load);
      expect(await server.stop()).toBe(0);
      expect(existsSync(`${file}.partial`)).toBe(false);

      // A second backup to the same file is refused, and the file is left as it was.
      const again = await runCli(env, ['backup', '--to', file]);
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/already exists/);

      // Restore as docs/operations.md says: the copy becomes keygate.db of an empty data directory.
      const restoredDir = join(root, 'restored');
      mkdirSync(restoredDir);
      copyFileSync(file, join(restoredDir, 'keygate.db'));
      const restoredEnv = { KEYGATE_DATA_DIR: restoredDir, DATABASE_URL: '' };
      const restored = await startServer(restoredEnv);
      servers.push(restored);
      expect(restored.bootstrapToken()).toBeNull(); // not an empty database
      const me = await graphql(restored.url, manager.token, '{ currentApiKey { id } }');
      expect(me.body.data).toEqual({ currentApiKey: { id: manager.id } });

      const listed = output<{ apiKeys: Array<{ id: string }> }>(
        await runCli(restoredEnv, ['key', 'list', '--org', 'Acme']),
      );
      const inCopy = new Set(listed.apiKeys.map((key) => key.id));
      // Everything answered before the backup began is in the copy; nothing answered after it ended is.
      for (const key of answered.filter((k) => k.at < startedAt)) expect(inCopy.has(key.id), key.id).toBe(true);
      for (const key of answered.filter((k) => k.at > finishedAt + 1_000))
        expect(inCopy.has(key.id), key.id).toBe(false);
      // No change half made: each key in the copy has its audit event, and no event lacks its key.
      const targets = new Set<string>();
      for (let after: string | null = null, more = true; more; ) {
        const page: AuditPage = output<AuditPage>(
          await runCli(restoredEnv, [
            'audit',
            'list',
            '--org',
            'Acme',
            '--first',
            '250',
            ...(after ? ['--after', after] : []),
          ]),
        );
        for (const event of page.auditEvents) targets.add(event.target.id);
        ({ hasNextPage: more, endCursor: after } = page.pageInfo);
      }
      expect(targets).toEqual(inCopy);
      expect(await restored.stop()).toBe(0);
    },
    TIMEOUT,
  );

  it(
    'refuses without a database, and into a missing folder; says to use pg_dump on PostgreSQL',
    async () => {
      const missing = await runCli({ KEYGATE_DATA_DIR: join(root, 'nowhere'), DATABASE_URL: '' }, [
        'backup',
        '--to',
        join(root, 'x.db'),
      ]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/no database at/);
      const folder = await runCli(env, ['backup', '--to', join(root, 'no', 'such', 'x.db')]);
      expect(folder.code).toBe(1);
      expect(folder.stderr).toMatch(/does not exist/);

      const pg = await createEmptyDatabase('postgresql');
      try {
        const url = (pg.config as { url: string }).url;
        const refused = await runCli({ DATABASE_URL: url }, ['backup', '--to', join(root, 'pg.db')]);
        expect(refused.code).toBe(1);
        expect(refused.stderr).toMatch(/pg_dump/);
        expect(existsSync(join(root, 'pg.db'))).toBe(false);
      } finally {
        await pg.remove();
      }
    },
    TIMEOUT,
  );
});
