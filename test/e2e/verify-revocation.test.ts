// docs/rules.md "Verification": a deletion, a rotation with grace 0, an update of grants or of expiresAt is
// reflected by every Keygate process's verification within 1 second on PostgreSQL. Two real server
// processes on one database: the change is made through A, B is asked (POST /v1/verify) until its
// answer reflects it. 100 trials (25 of each kind of change); the propagation delay, measured from A's
// answer to the change to B's first answer reflecting it, is reported (p50/p99) and must stay under 1 s.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/client.ts';
import { createVerifier } from '../../src/verification/verifier-tokens.ts';
import { createEmptyDatabase, providers } from '../helpers/databases.ts';
import { graphql, type ServerProcess, startServer } from '../helpers/server-process.ts';

const TIMEOUT = 240_000;
const TRIALS = 100;
const BOUND_MS = 1_000;

interface Answer {
  code: string;
  tokenExpiresAt: string | null;
}

describe.runIf(providers.includes('postgresql'))('revocation across processes on PostgreSQL', () => {
  let a: ServerProcess;
  let b: ServerProcess;
  let remove: () => Promise<void>;
  let admin: string;
  let verifier: string;

  beforeAll(async () => {
    const empty = await createEmptyDatabase('postgresql');
    remove = empty.remove;
    const env = {
      DATABASE_URL: (empty.config as { url: string }).url,
      KEYGATE_VERIFY_RATE_LIMIT_PER_KEY: '0',
      KEYGATE_RATE_LIMIT_PER_KEY: '0',
    };
    a = await startServer(env);
    admin = a.bootstrapToken() as string;
    b = await startServer(env);
    const database = await openDatabase(empty.config);
    try {
      verifier = (await createVerifier(database.prisma, { name: 'B side', organizationId: null }, new Date())).token;
    } finally {
      await database.close();
    }
  }, TIMEOUT);

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await remove?.();
  }, TIMEOUT);

  async function verifyOnB(token: string, requiredScopes: string[] = []): Promise<Answer> {
    const response = await fetch(`${b.url}/v1/verify`, {
      method: 'POST',
      headers: { authorization: `Bearer ${verifier}`, 'content-type': 'application/json' },
      body: JSON.stringify({ token, requiredScopes }),
    });
    expect(response.status).toBe(200);
    return (await response.json()) as Answer;
  }

  async function onA<T>(query: string, variables: Record<string, unknown>): Promise<T> {
    const response = await graphql(a.url, admin, query, variables);
    expect(response.body.errors).toBeUndefined();
    return response.body.data as T;
  }

  /** Asks B until `reflected` holds; the milliseconds from `since`. Fails past 5 s. */
  async function untilReflected(
    token: string,
    requiredScopes: string[],
    reflected: (answer: Answer) => boolean,
    since: number,
  ): Promise<number> {
    for (;;) {
      const answer = await verifyOnB(token, requiredScopes);
      const elapsed = performance.now() - since;
      if (reflected(answer)) return elapsed;
      if (elapsed > 5_000) throw new Error(`not reflected after 5 s: ${JSON.stringify(answer)}`);
    }
  }

  const CREATE = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { token apiKey { id } } }`;
  const kinds = ['delete', 'rotate', 'grants', 'expiry'] as const;

  it(
    `${TRIALS} changes made through one process reach the other's verification within 1 s`,
    async () => {
      const delays: Record<(typeof kinds)[number], number[]> = { delete: [], rotate: [], grants: [], expiry: [] };
      for (let trial = 0; trial < TRIALS; trial++) {
        const kind = kinds[trial % kinds.length] as (typeof kinds)[number];
        const { createApiKey } = await onA<{ createApiKey: { token: string; apiKey: { id: string } } }>(CREATE, {
          input: { name: `trial ${trial}`, roleNames: ['incident_editor'] },
        });
        const { token } = createApiKey;
        const id = createApiKey.apiKey.id;
        const scopes = kind === 'grants' ? ['incidents.edit'] : [];
        // B knows (and caches) the key before the change.
        expect((await verifyOnB(token, scopes)).code).toBe('VALID');
        expect((await verifyOnB(token, scopes)).code).toBe('VALID');

        let since: number;
        let reflected: (answer: Answer) => boolean;
        if (kind === 'delete') {
          await onA('mutation($id: ID!) { deleteApiKey(input: { id: $id }) { deletedApiKeyId } }', { id });
          since = performance.now();
          reflected = (answer) => answer.code === 'UNKNOWN';
        } else if (kind === 'rotate') {
          await onA('mutation($id: ID!) { rotateApiKey(input: { id: $id, gracePeriodMinutes: 0 }) { token } }', { id });
          since = performance.now();
          reflected = (answer) => answer.code === 'UNKNOWN';
        } else if (kind === 'grants') {
          await onA(
            'mutation($id: ID!) { updateApiKey(input: { id: $id, name: "k", roleNames: ["viewer"], teamIds: [], teamRoleNames: [] }) { apiKey { id } } }',
            { id },
          );
          since = performance.now();
          reflected = (answer) => answer.code === 'INSUFFICIENT_SCOPES';
        } else {
          const expiresAt = new Date(Date.now() + 3_600_000 + trial).toISOString();
          await onA(
            'mutation($id: ID!, $at: DateTime) { updateApiKey(input: { id: $id, name: "k", roleNames: ["incident_editor"], teamIds: [], teamRoleNames: [], expiresAt: $at }) { apiKey { id } } }',
            { id, at: expiresAt },
          );
          since = performance.now();
          reflected = (answer) => answer.tokenExpiresAt === expiresAt;
        }
        delays[kind].push(await untilReflected(token, scopes, reflected, since));
      }

      const all = Object.values(delays)
        .flat()
        .sort((x, y) => x - y);
      const at = (q: number) => all[Math.min(all.length - 1, Math.ceil(q * all.length) - 1)] as number;
      const summary = {
        trials: all.length,
        p50Ms: Number(at(0.5).toFixed(2)),
        p99Ms: Number(at(0.99).toFixed(2)),
        maxMs: Number((all.at(-1) as number).toFixed(2)),
      };
      // The figures the issue asks for (also in docs/verifying.md).
      console.log(`cross-process revocation delay: ${JSON.stringify(summary)}`);
      expect(all).toHaveLength(TRIALS);
      expect(summary.maxMs).toBeLessThan(BOUND_MS);
    },
    TIMEOUT,
  );
});
