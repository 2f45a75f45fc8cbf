// Database faults (issue 4) on a real server process: its PostgreSQL connections are terminated again
// and again while ten clients create, update, rotate, delete and read keys. Every answer is a success
// or SERVICE_UNAVAILABLE (HTTP 503), never a 500; the process survives; every change that was
// answered with success is in the database and no change left half of itself there. A database that
// refuses connections for a while gets 503s and /readyz 503, and service resumes without a restart.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../src/db/client.ts';
import { createTeam } from '../../src/domain/organizations.ts';
import { hashToken } from '../../src/domain/tokens.ts';
import { createEmptyDatabase, pgBaseUrl } from '../helpers/databases.ts';
import { CREATE_ID, DELETE, ROTATE_TOKEN, UPDATE_NAME, WHOAMI } from '../helpers/documents.ts';
import { graphql, type ServerProcess, startServer } from '../helpers/server-process.ts';

const REQUESTS = 400;
const CONCURRENCY = 10;
const KILL_EVERY_MS = 400;
/** However fast the requests go, they go on until the backends were terminated this often. */
const MIN_KILLS = 5;

const SHOW = 'query($id: ID!) { apiKey(id: $id) { id name roles { name } teamIds } }';
const LIST = '{ apiKeys(first: 20) { edges { node { id name } } } }';

interface Grants {
  roleNames: string[];
  teamIds: string[];
  teamRoleNames: string[];
}

type Answer = Awaited<ReturnType<typeof graphql>>;

/** The new token of a successful rotation. */
function tokenOf(rotated: Answer): string {
  const payload = rotated.body.data?.rotateApiKey as { token: string } | undefined;
  if (!payload) throw new Error('not a successful rotation');
  return payload.token;
}

/** What the clients know about one key they created. */
interface KnownKey {
  id: string;
  /** Name and token after the last change answered with success. */
  name: string;
  token: string;
  /** Names and tokens of changes tried since, whose answer was 503: they may or may not have happened. */
  maybeNames: string[];
  maybeRotated: boolean;
  deleted: 'no' | 'yes' | 'maybe';
}

describe('a server process whose PostgreSQL connections keep dying', () => {
  let server: ServerProcess;
  let remove: () => Promise<void>;
  let admin: pg.Client;
  let database: Database;
  let name: string;
  let token: string;
  let variants: Grants[];

  beforeAll(async () => {
    const db = await createEmptyDatabase('postgresql');
    remove = db.remove;
    if (db.config.provider !== 'postgresql') throw new Error('expected PostgreSQL');
    name = new URL(db.config.url).pathname.slice(1);
    server = await startServer({ DATABASE_URL: db.config.url });
    token = server.bootstrapToken() as string;
    expect(token).toMatch(/^keygate_/);
    admin = new pg.Client({ connectionString: pgBaseUrl });
    await admin.connect();
    database = await openDatabase(db.config);
    const organization = await database.prisma.organization.findFirstOrThrow();
    const a = (await createTeam(database.prisma, organization.id, { name: 'A' })).id;
    const b = (await createTeam(database.prisma, organization.id, { name: 'B' })).id;
    variants = [
      { roleNames: ['viewer'], teamIds: [], teamRoleNames: [] },
      { roleNames: ['incident_creator'], teamIds: [a], teamRoleNames: ['schedules_editor'] },
      { roleNames: [], teamIds: [a, b], teamRoleNames: ['schedules_reader'] },
      {
        roleNames: ['viewer', 'catalog_viewer'],
        teamIds: [b],
        teamRoleNames: ['schedules_editor', 'schedules_reader'],
      },
    ];
  }, 60_000);

  afterAll(async () => {
    await admin?.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
    expect(server?.child.exitCode, 'the server process is still running').toBeNull();
    expect(await server?.stop()).toBe(0);
    await database?.close();
    await admin?.end();
    await remove?.();
  });

  const terminateBackends = () =>
    admin.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [name],
    );

  async function readyz(): Promise<number> {
    return (await fetch(`${server.url}/readyz`)).status;
  }

  async function untilReady(withinMs: number): Promise<void> {
    const deadline = Date.now() + withinMs;
    while ((await readyz()) !== 200) {
      if (Date.now() > deadline) throw new Error(`not ready within ${withinMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Success or SERVICE_UNAVAILABLE, and a 503 tells nothing about the database behind it. */
  function judge(answer: Answer, answers: Record<string, number>): boolean {
    const code = answer.body.errors?.[0]?.extensions?.code;
    const label = `${answer.status} ${code ?? 'OK'}`;
    answers[label] = (answers[label] ?? 0) + 1;
    if (code === undefined) {
      expect(answer.status).toBe(200);
      return true;
    }
    expect(label).toBe('503 SERVICE_UNAVAILABLE');
    const text = JSON.stringify(answer.body);
    expect(text).not.toMatch(/prisma|postgres|keygate_test_|127\.0\.0\.1|\bSELECT\b|\bINSERT\b|57P01|\.ts:\d+|stack/i);
    return false;
  }

  const variantOf = (keyName: string) => variants[Number(/-v(\d+)$/.exec(keyName)?.[1])] as Grants;

  it(`${REQUESTS} requests from ${CONCURRENCY} clients while backends are terminated every ${KILL_EVERY_MS} ms: 200 or 503 only, no write lost, none half done`, async () => {
    const answers: Record<string, number> = {};
    const known: KnownKey[] = [];
    let sent = 0;
    let kills = 0;
    let stop = false;
    const killer = (async () => {
      while (!stop) {
        await terminateBackends();
        kills++;
        await new Promise((resolve) => setTimeout(resolve, KILL_EVERY_MS));
      }
    })();

    const send = (query: string, variables?: Record<string, unknown>, as = token) => {
      sent++;
      return graphql(server.url, as, query, variables);
    };

    async function client(worker: number) {
      let key: KnownKey | null = null;
      for (let step = 0; sent < REQUESTS || kills < MIN_KILLS; step++) {
        const variant = (worker + step) % variants.length;
        if (!key) {
          const keyName = `w${worker}-s${step}-v${variant}`;
          const answer = await send(CREATE_ID, { input: { name: keyName, ...variants[variant] } });
          if (judge(answer, answers)) {
            const created = answer.body.data?.createApiKey as { token: string; apiKey: { id: string } };
            key = {
              id: created.apiKey.id,
              name: keyName,
              token: created.token,
              maybeNames: [],
              maybeRotated: false,
              deleted: 'no',
            };
            known.push(key);
          }
          continue;
        }
        switch (step % 7) {
          case 0: {
            const keyName = `w${worker}-s${step}-v${variant}`;
            const answer = await send(UPDATE_NAME, { input: { id: key.id, name: keyName, ...variants[variant] } });
            if (judge(answer, answers)) {
              key.name = keyName;
              key.maybeNames = [];
            } else key.maybeNames.push(keyName);
            break;
          }
          case 1:
          case 4: {
            const answer = await send(ROTATE_TOKEN, { input: { id: key.id } });
            if (judge(answer, answers)) {
              key.token = tokenOf(answer);
              key.maybeRotated = false;
            } else key.maybeRotated = true;
            break;
          }
          case 2:
            judge(await send(SHOW, { id: key.id }), answers);
            break;
          case 3:
            judge(await send(LIST), answers);
            break;
          case 5:
            // The key's own token: a lookup by the server's early authentication, then by Yoga.
            judge(await send(WHOAMI, undefined, key.token), answers);
            break;
          default: {
            const answer = await send(DELETE, { input: { id: key.id } });
            key.deleted = judge(answer, answers) ? 'yes' : 'maybe';
            key = null;
          }
        }
      }
    }

    await Promise.all(Array.from({ length: CONCURRENCY }, (_, worker) => client(worker)));
    stop = true;
    await killer;
    await untilReady(5_000);

    // Every key in the database is whole: one current token, and exactly the grants its name stands for
    // (also keys whose creation was answered 503 but committed anyway).
    const keys = await database.prisma.apiKey.findMany({
      where: { name: { startsWith: 'w' } },
      include: { roles: true, teams: true, teamRoles: true, tokens: true },
    });
    let halfDone = 0;
    for (const key of keys) {
      const grants: Grants = {
        roleNames: key.roles.map((role) => role.roleName).sort(),
        teamIds: key.teams.map((team) => team.teamId).sort(),
        teamRoleNames: key.teamRoles.map((role) => role.roleName).sort(),
      };
      const expected = variantOf(key.name);
      const whole =
        JSON.stringify(grants) ===
          JSON.stringify({
            roleNames: [...expected.roleNames].sort(),
            teamIds: [...expected.teamIds].sort(),
            teamRoleNames: [...expected.teamRoleNames].sort(),
          }) && key.tokens.filter((t) => t.expiresAt === null).length === 1;
      if (!whole) halfDone++;
    }

    // Every change answered with success is there (ambiguous 503s may or may not have happened).
    const byId = new Map(keys.map((key) => [key.id, key]));
    let lost = 0;
    for (const key of known) {
      const stored = byId.get(key.id);
      if (key.deleted === 'yes') {
        if (stored || (await database.prisma.apiKeyToken.count({ where: { apiKeyId: key.id } })) > 0) lost++;
        continue;
      }
      if (!stored) {
        if (key.deleted === 'no') lost++;
        continue;
      }
      if (stored.name !== key.name && !key.maybeNames.includes(stored.name)) lost++;
      const current = stored.tokens.find((t) => t.expiresAt === null);
      if (!key.maybeRotated && (current ? Buffer.from(current.hash).toString('hex') : null) !== hashToken(key.token))
        lost++;
      // The last token answered with success still authenticates (a later rotation keeps it in grace).
      const whoami = await graphql(server.url, key.token, WHOAMI);
      if ((whoami.body.data?.currentApiKey as { id: string } | undefined)?.id !== key.id) lost++;
    }

    console.info(
      `faults (server process): ${sent} requests sent, ${kills} rounds of terminated backends; answers ${JSON.stringify(answers)}; ` +
        `${known.length} keys created, ${keys.length} in the database; writes lost ${lost}; half-done writes ${halfDone}`,
    );
    expect(Object.keys(answers).sort()).toEqual(['200 OK', '503 SERVICE_UNAVAILABLE']);
    expect(answers['200 OK']).toBeGreaterThan(REQUESTS / 10);
    expect(answers['503 SERVICE_UNAVAILABLE']).toBeGreaterThan(0);
    expect(known.length).toBeGreaterThan(CONCURRENCY);
    expect(lost).toBe(0);
    expect(halfDone).toBe(0);
  }, 120_000);

  it('refusing connections: 503 and /readyz 503 while it lasts, then 200 again without a restart', async () => {
    const created = await graphql(server.url, token, CREATE_ID, { input: { name: 'outage-v0', ...variants[0] } });
    const key = created.body.data?.createApiKey as { token: string; apiKey: { id: string } };
    expect(key.apiKey.id).toBeTruthy();
    const before = await database.prisma.apiKey.count();

    await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
    try {
      await terminateBackends();
      const answers: Record<string, number> = {};
      for (const [query, variables] of [
        [CREATE_ID, { input: { name: 'during-outage-v0', ...variants[0] } }],
        [ROTATE_TOKEN, { input: { id: key.apiKey.id } }],
        [DELETE, { input: { id: key.apiKey.id } }],
        [LIST, undefined],
      ] as const) {
        expect(judge(await graphql(server.url, token, query, variables), answers)).toBe(false);
      }
      expect(await readyz()).toBe(503);
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      expect(answers).toEqual({ '503 SERVICE_UNAVAILABLE': 4 });
    } finally {
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
    }

    await untilReady(5_000);
    expect(await database.prisma.apiKey.count()).toBe(before);
    const rotated = await graphql(server.url, token, ROTATE_TOKEN, { input: { id: key.apiKey.id } });
    expect(rotated.body.errors).toBeUndefined();
    const fresh = tokenOf(rotated);
    expect((await graphql(server.url, fresh, WHOAMI)).status).toBe(200);
  }, 60_000);
});
