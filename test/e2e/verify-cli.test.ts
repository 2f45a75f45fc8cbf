// The operator's side of verification and expiry, end to end: `keygate key create --expires-at`,
// `keygate verifier create / list / delete` as separate processes, and `keygate serve` answering
// POST /v1/verify with the verifier tokens they print (docs/api.md "CLI", "Verification"). Both databases.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyCreateArgs, runCli } from '../helpers/cli-process.ts';
import { createEmptyDatabase, providers } from '../helpers/databases.ts';
import { type ServerProcess, startServer } from '../helpers/server-process.ts';
import type { VerifyAnswer } from '../helpers/verify-server.ts';

const E2E_TIMEOUT = 180_000;
const DAY = 86_400_000;

describe.each(providers)('verifier tokens and key expiry from the CLI on %s', (provider) => {
  let dataDir: string;
  let env: Record<string, string>;
  let remove: () => Promise<void> = async () => {};
  let server: ServerProcess | undefined;
  const cli = async (...args: string[]) => {
    const result = await runCli(env, args);
    return { ...result, json: result.code === 0 ? JSON.parse(result.stdout) : null };
  };
  const verify = async (auth: string, body: unknown) => {
    const response = await fetch(`${server?.url}/v1/verify`, {
      method: 'POST',
      headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as VerifyAnswer };
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'keygate-verify-e2e-'));
    if (provider === 'sqlite') {
      env = { KEYGATE_DATA_DIR: dataDir, DATABASE_URL: '' };
    } else {
      const empty = await createEmptyDatabase('postgresql');
      remove = empty.remove;
      env = { DATABASE_URL: (empty.config as { url: string }).url, KEYGATE_DATA_DIR: dataDir };
    }
    server = await startServer(env);
  }, E2E_TIMEOUT);

  afterAll(async () => {
    if (server && server.child.exitCode === null) await server.stop();
    await remove();
    rmSync(dataDir, { recursive: true, force: true });
  }, E2E_TIMEOUT);

  it(
    'key create --expires-at takes a duration or an RFC 3339 time; a past or unreadable one changes nothing',
    async () => {
      const orgId = (await cli('org', 'create', '--name', 'Acme')).json.id as string;
      await cli('user', 'create', '--org', orgId, '--email', 'ops@example.com', '--name', 'Ops');
      const before = Date.now();
      const created = await cli(
        ...keyCreateArgs(orgId, 'ops@example.com', 'ninety', { roles: 'viewer', 'expires-at': '90d' }),
      );
      expect(created.code).toBe(0);
      const expiresAt = Date.parse(created.json.apiKey.expiresAt);
      expect(expiresAt).toBeGreaterThanOrEqual(before + 90 * DAY);
      expect(expiresAt).toBeLessThanOrEqual(Date.now() + 90 * DAY);

      const at = '2099-01-31T12:00:00.000Z';
      const exact = await cli(...keyCreateArgs(orgId, 'ops@example.com', 'exact', { 'expires-at': at }));
      expect(exact.json.apiKey.expiresAt).toBe(at);

      const past = await cli(
        ...keyCreateArgs(orgId, 'ops@example.com', 'past', { 'expires-at': '2020-01-01T00:00:00Z' }),
      );
      expect(past.code).toBe(1);
      expect(past.stderr).toMatch(/expiresAt must be in the future/);
      const unreadable = await cli(...keyCreateArgs(orgId, 'ops@example.com', 'x', { 'expires-at': 'next tuesday' }));
      // A malformed option value is a usage error.
      expect(unreadable.code).toBe(2);
      expect(unreadable.stderr).toMatch(/--expires-at "next tuesday": not a time; give an RFC 3339 time/);
    },
    E2E_TIMEOUT,
  );

  it(
    'verifier create / list / delete, and the server verifies with the printed token until it is deleted',
    async () => {
      const orgs = (await cli('org', 'create', '--name', 'Verified')).json;
      await cli('user', 'create', '--org', orgs.id, '--email', 'v@example.com', '--name', 'V');
      const key = (await cli(...keyCreateArgs(orgs.id, 'v@example.com', 'k', { roles: 'viewer' }))).json;

      const unbound = await cli('verifier', 'create', '--name', 'gateway');
      expect(unbound.code).toBe(0);
      expect(unbound.json).toEqual({
        verifier: { id: expect.any(String), name: 'gateway', organizationId: null, createdAt: expect.any(String) },
        token: expect.stringMatching(/^keygate_verifier_[0-9A-Za-z]{49}$/),
      });
      const bound = await cli('verifier', 'create', '--name', 'billing', '--org', 'Verified');
      expect(bound.json.verifier.organizationId).toBe(orgs.id);

      const listed = await cli('verifier', 'list');
      expect(listed.json.verifiers.map((v: { name: string }) => v.name)).toEqual(['billing', 'gateway']);
      expect(listed.stdout).not.toContain(unbound.json.token);
      expect(listed.stdout).not.toMatch(/hash/);

      const answer = await verify(unbound.json.token, { token: key.token, requiredScopes: ['incidents.view'] });
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ valid: true, code: 'VALID', apiKey: { id: key.apiKey.id } });
      expect((await verify(bound.json.token, { token: key.token })).body.code).toBe('VALID');

      const deleted = await cli('verifier', 'delete', '--id', unbound.json.verifier.id);
      expect(deleted.json).toEqual({ deletedVerifierId: unbound.json.verifier.id });
      // The server keeps a verifier's authentication for a second; poll well past it.
      const deadline = Date.now() + 10_000;
      let status = 200;
      while (Date.now() < deadline) {
        status = (await verify(unbound.json.token, { token: key.token })).status;
        if (status === 401) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(status).toBe(401);

      const again = await cli('verifier', 'delete', '--id', unbound.json.verifier.id);
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/Verifier ".*" was not found/);
      const usage = await cli('verifier', 'create');
      expect(usage.code).toBe(2);
      expect(usage.stderr).toMatch(/missing --name/);
    },
    E2E_TIMEOUT,
  );
});
