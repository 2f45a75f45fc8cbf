// docs/rules.md "Verification": verifier tokens call verification and nothing else, API keys cannot call
// it; the verdicts in their order, over GraphQL (verifyApiKey) and over plain HTTP (POST /v1/verify),
// which must agree; scopes in a team; bound verifiers; tokenExpiresAt; lastUsedAt; changes reflected at
// once in the process that made them. On both databases.

import { gzipSync } from 'node:zlib';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { generateToken, generateVerifierToken } from '../../src/domain/tokens.ts';
import { deleteVerifier } from '../../src/verification/verifier-tokens.ts';
import { createTestApp, type Org, type TestApp } from '../helpers/app.ts';
import { pgBaseUrl, providers } from '../helpers/databases.ts';
import {
  startVerifyServer,
  VERIFY,
  type VerifyAnswer,
  type VerifyServer,
  verifierToken,
} from '../helpers/verify-server.ts';

const MINUTE = 60_000;

interface Verdict {
  valid: boolean;
  code: string;
  scopes: string[];
  tokenExpiresAt: string | null;
  apiKey: {
    id: string;
    organizationId: string;
    roleNames: string[];
    teamIds: string[];
    expiresAt: string | null;
  } | null;
  rateLimit: { limit: number; remaining: number; resetAt: string } | null;
}

describe.each(providers)('verification on %s', (provider) => {
  let t: TestApp;
  let http: VerifyServer;
  let org: Org;
  let admin: { id: string; token: string };
  let verifier: string;

  beforeAll(async () => {
    t = await createTestApp(provider, { verifyPerKeyPerMinute: 0 });
    http = await startVerifyServer(t);
    org = await t.org();
    admin = await org.key({ roles: ['api_keys_manage', 'viewer', 'incident_editor', 'schedules_editor'] });
    verifier = await verifierToken(t);
  });
  afterAll(async () => {
    await http.close();
    await t.close();
  });
  beforeEach(() => t.clock.real());

  /** Both faces, which must give the same answer; returns it. */
  async function verify(
    token: string,
    extra: { requiredScopes?: string[]; teamId?: string } = {},
    auth = verifier,
  ): Promise<Verdict> {
    const overHttp = await http.post(auth, { token, ...extra });
    expect(overHttp.status).toBe(200);
    const overGraphql = await t.gql<{ verifyApiKey: Verdict }>(auth, VERIFY, { input: { token, ...extra } });
    expect(overGraphql.errors).toBeUndefined();
    const verdict = overGraphql.data?.verifyApiKey as Verdict;
    // The budget state moves between the two calls; everything else is the same.
    const strip = (v: Verdict) => ({ ...v, rateLimit: v.rateLimit && { limit: v.rateLimit.limit } });
    expect(strip(overHttp.body as Verdict)).toEqual(strip(verdict));
    return verdict;
  }

  describe('who may call what', () => {
    it('a verifier token gets FORBIDDEN on every other field', async () => {
      const queries = [
        '{ currentApiKey { id } }',
        '{ roles { name } }',
        '{ teams { id } }',
        '{ apiKeys { edges { node { id } } } }',
        `{ apiKey(id: "${admin.id}") { id } }`,
        '{ auditEvents { edges { node { id } } } }',
        'mutation { createApiKey(input: { name: "x", roleNames: ["viewer"] }) { token } }',
        `mutation { deleteApiKey(input: { id: "${admin.id}" }) { deletedApiKeyId } }`,
        `mutation { rotateApiKey(input: { id: "${admin.id}" }) { token } }`,
      ];
      for (const query of queries) {
        const response = await t.gql(verifier, query);
        expect(response.code, query).toBe('FORBIDDEN');
        expect(response.errors?.[0]?.message).toMatch(/verifier token can only call verifyApiKey/);
      }
      // Nothing changed: the admin key still works.
      expect((await t.gql(admin.token, '{ currentApiKey { id } }')).errors).toBeUndefined();
    });

    it('a token sent in invalid variables is not sent back in the error that quotes them', async () => {
      const sent = await t.app.fetch('http://keygate.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${verifier}` },
        body: JSON.stringify({
          query: 'mutation ($i: VerifyApiKeyInput!) { verifyApiKey(input: $i) { valid } }',
          variables: { i: { token: admin.token, requiredScopes: [], extra: 1 } },
        }),
      });
      const text = await sent.text();
      const body = JSON.parse(text) as { errors?: Array<{ message: string; extensions?: { code?: string } }> };
      expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(body.errors?.[0]?.message).toMatch(/Variable "\$i" got invalid value .*"extra" is not defined/);
      expect(body.errors?.[0]?.message).toContain('keygate_[redacted]');
      expect(text).not.toContain(admin.token);
      expect(text).not.toContain(admin.token.slice(8, 40));
    });

    it('an API key gets FORBIDDEN on verifyApiKey, and 401 on POST /v1/verify', async () => {
      const response = await t.gql(admin.token, VERIFY, { input: { token: admin.token } });
      expect(response.code).toBe('FORBIDDEN');
      expect(response.errors?.[0]?.message).toMatch(/Only verifier tokens/);
      const overHttp = await http.post(admin.token, { token: admin.token });
      expect(overHttp.status).toBe(401);
      expect(overHttp.body.error.code).toBe('UNAUTHENTICATED');
    });

    it('a missing, malformed, unknown or deleted verifier token is 401 on both faces', async () => {
      const doomed = await verifierToken(t);
      expect((await http.post(doomed, { token: admin.token })).status).toBe(200);
      const rows = await t.domain.db.verifier.findMany({ select: { id: true }, orderBy: { id: 'desc' }, take: 1 });
      await deleteVerifier(t.domain.db, rows[0]?.id as string);
      t.clock.advance(1_000); // the verifier cache keeps an answer for a second
      const bad = [null, 'nonsense', `${generateVerifierToken().slice(0, -1)}0`, generateVerifierToken(), doomed];
      for (const auth of bad) {
        const overHttp = await http.post(auth, { token: admin.token });
        expect(overHttp.status).toBe(401);
        expect(overHttp.body).toEqual({ error: { code: 'UNAUTHENTICATED', message: expect.any(String) } });
        const overGraphql = await t.gql(auth, VERIFY, { input: { token: admin.token } });
        expect(overGraphql.status).toBe(401);
      }
    });
  });

  describe('verdicts', () => {
    it('VALID describes the key: grants, organization, scopes, no expiry', async () => {
      const key = await org.key({ roles: ['viewer'] });
      const verdict = await verify(key.token, { requiredScopes: ['incidents.view'] });
      expect(verdict).toEqual({
        valid: true,
        code: 'VALID',
        scopes: ['incidents.view', 'organisation_settings.view'],
        tokenExpiresAt: null,
        apiKey: {
          id: key.id,
          name: expect.any(String),
          organizationId: org.id,
          roleNames: ['viewer'],
          teamIds: [],
          teamRoleNames: [],
          expiresAt: null,
        },
        rateLimit: null,
      });
    });

    it('MALFORMED: not the format, or a wrong checksum (no lookup)', async () => {
      const good = generateToken();
      const lookups = t.lookups.count;
      for (const token of [
        '',
        'abc',
        `${good.slice(0, -1)}${good.endsWith('0') ? '1' : '0'}`,
        generateVerifierToken(),
      ]) {
        const verdict = await verify(token);
        expect(verdict).toEqual({
          valid: false,
          code: 'MALFORMED',
          scopes: [],
          tokenExpiresAt: null,
          apiKey: null,
          rateLimit: null,
        });
      }
      expect(t.lookups.count).toBe(lookups);
    });

    it('UNKNOWN: no such token, a deleted key, a token past its grace period', async () => {
      expect((await verify(generateToken())).code).toBe('UNKNOWN');
      const deleted = await org.key({ roles: ['viewer'] });
      expect((await verify(deleted.token)).code).toBe('VALID');
      await t.gql(admin.token, 'mutation($id: ID!) { deleteApiKey(input: { id: $id }) { deletedApiKeyId } }', {
        id: deleted.id,
      });
      const gone = await verify(deleted.token);
      expect(gone).toMatchObject({ valid: false, code: 'UNKNOWN', apiKey: null, scopes: [], rateLimit: null });

      t.clock.freeze();
      const rotated = await org.key({ roles: ['viewer'] });
      await t.gql(
        admin.token,
        'mutation($id: ID!) { rotateApiKey(input: { id: $id, gracePeriodMinutes: 1 }) { token } }',
        {
          id: rotated.id,
        },
      );
      const inGrace = await verify(rotated.token);
      expect(inGrace.code).toBe('VALID');
      expect(inGrace.tokenExpiresAt).toBe(new Date(t.clock.now().getTime() + MINUTE).toISOString());
      t.clock.advance(MINUTE);
      expect((await verify(rotated.token)).code).toBe('UNKNOWN');
    });

    it('EXPIRED: the key still described, before any scope check', async () => {
      t.clock.freeze();
      const expiresAt = new Date(t.clock.now().getTime() + MINUTE);
      const key = await org.key({ roles: ['viewer'] }, 'expiring', expiresAt);
      const before = await verify(key.token, { requiredScopes: ['incidents.edit'] });
      expect(before.code).toBe('INSUFFICIENT_SCOPES');
      expect(before.tokenExpiresAt).toBe(expiresAt.toISOString());
      t.clock.advance(MINUTE);
      const after = await verify(key.token, { requiredScopes: ['incidents.edit'] });
      expect(after).toMatchObject({
        valid: false,
        code: 'EXPIRED',
        tokenExpiresAt: expiresAt.toISOString(),
        apiKey: { id: key.id, expiresAt: expiresAt.toISOString() },
        scopes: ['incidents.view', 'organisation_settings.view'],
      });
    });

    it('INSUFFICIENT_SCOPES: some required scope missing; the key is still described', async () => {
      const key = await org.key({ roles: ['viewer'] });
      const verdict = await verify(key.token, { requiredScopes: ['incidents.view', 'incidents.edit'] });
      expect(verdict).toMatchObject({ valid: false, code: 'INSUFFICIENT_SCOPES', apiKey: { id: key.id } });
      expect(verdict.scopes).toEqual(['incidents.view', 'organisation_settings.view']);
    });

    it("scopes in teamId: account scopes, plus team-role scopes only in the key's own teams", async () => {
      const teamA = await org.team();
      const teamB = await org.team();
      const other = await t.org();
      const otherTeam = await other.team();
      const key = await org.key({ roles: ['viewer'], teams: [teamA], teamRoles: ['schedules_editor'] });
      const need = { requiredScopes: ['schedules.edit', 'incidents.view'] };
      const inA = await verify(key.token, { ...need, teamId: teamA });
      expect(inA.code).toBe('VALID');
      expect(inA.scopes).toEqual(['incidents.view', 'organisation_settings.view', 'schedules.edit', 'schedules.view']);
      for (const teamId of [teamB, otherTeam, undefined]) {
        const verdict = await verify(key.token, teamId ? { ...need, teamId } : need);
        expect(verdict.code).toBe('INSUFFICIENT_SCOPES');
        expect(verdict.scopes).toEqual(['incidents.view', 'organisation_settings.view']);
      }
    });
  });

  describe('a verifier bound to an organization', () => {
    it("treats another organization's tokens as UNKNOWN and its own as usual", async () => {
      const other = await t.org();
      const theirs = await other.key({ roles: ['viewer'] });
      const ours = await org.key({ roles: ['viewer'] });
      const bound = await verifierToken(t, org.id);
      expect((await verify(theirs.token, {}, bound)).code).toBe('UNKNOWN');
      expect(await verify(theirs.token, {}, bound)).toMatchObject({ apiKey: null, scopes: [], rateLimit: null });
      expect((await verify(ours.token, {}, bound)).code).toBe('VALID');
      expect((await verify(theirs.token)).code).toBe('VALID'); // the unbound verifier sees every organization
    });
  });

  describe('lastUsedAt', () => {
    it('a VALID verification records it; a refused one does not', async () => {
      const SHOW = 'query($id: ID!) { apiKey(id: $id) { lastUsedAt } }';
      const shown = async (id: string) =>
        ((await t.gql<{ apiKey: { lastUsedAt: string | null } }>(admin.token, SHOW, { id })).data?.apiKey.lastUsedAt as
          | string
          | null) ?? null;
      const refused = await org.key({ roles: ['viewer'] });
      await verify(refused.token, { requiredScopes: ['incidents.edit'] });
      await t.lastUsed.flush();
      expect(await shown(refused.id)).toBeNull();
      const used = await org.key({ roles: ['viewer'] });
      await verify(used.token);
      await t.lastUsed.flush();
      expect(await shown(used.id)).not.toBeNull();
    });
  });

  describe('changes are reflected at once in this process', () => {
    it('a grant update, an expiry update, a rotation with grace 0, a deletion', async () => {
      t.clock.freeze();
      const key = await org.key({ roles: ['viewer'] });
      expect((await verify(key.token, { requiredScopes: ['incidents.edit'] })).code).toBe('INSUFFICIENT_SCOPES');
      const UPDATE = `mutation($input: UpdateApiKeyInput!) { updateApiKey(input: $input) { apiKey { id } } }`;
      const input = { id: key.id, name: 'k', roleNames: ['incident_editor'], teamIds: [], teamRoleNames: [] };
      expect((await t.gql(admin.token, UPDATE, { input })).errors).toBeUndefined();
      expect((await verify(key.token, { requiredScopes: ['incidents.edit'] })).code).toBe('VALID');

      const soon = new Date(t.clock.now().getTime() + MINUTE).toISOString();
      await t.gql(admin.token, UPDATE, { input: { ...input, expiresAt: soon } });
      expect((await verify(key.token)).tokenExpiresAt).toBe(soon);

      const rotated = await t.gql<{ rotateApiKey: { token: string } }>(
        admin.token,
        'mutation($id: ID!) { rotateApiKey(input: { id: $id, gracePeriodMinutes: 0 }) { token } }',
        { id: key.id },
      );
      expect((await verify(key.token)).code).toBe('UNKNOWN');
      const fresh = rotated.data?.rotateApiKey.token as string;
      expect(await verify(fresh)).toMatchObject({ code: 'VALID', tokenExpiresAt: soon });

      await t.gql(admin.token, 'mutation($id: ID!) { deleteApiKey(input: { id: $id }) { deletedApiKeyId } }', {
        id: key.id,
      });
      expect((await verify(fresh)).code).toBe('UNKNOWN');
    });
  });

  describe('POST /v1/verify requests', () => {
    it('a body that is not the expected JSON is 400 BAD_USER_INPUT naming the problem', async () => {
      const cases: Array<[string, RegExp]> = [
        ['not json', /must be JSON/],
        ['[]', /JSON object/],
        ['{}', /"token" must be a string/],
        ['{"token": 5}', /"token" must be a string/],
        ['{"token": "x", "requiredScopes": "a"}', /requiredScopes/],
        ['{"token": "x", "requiredScopes": [1]}', /requiredScopes/],
        ['{"token": "x", "teamId": 3}', /teamId/],
        ['{"token": "x", "tokn": "y"}', /Unknown field "tokn"/],
      ];
      for (const [raw, message] of cases) {
        const response = await http.post(verifier, null, { raw });
        expect(response.status, raw).toBe(400);
        expect(response.body.error.code).toBe('BAD_USER_INPUT');
        expect(response.body.error.message).toMatch(message);
      }
    });

    it('a body that is not UTF-8 is 400, one too large 413, a compressed one 415: never read as something else', async () => {
      const key = await org.key({ roles: ['viewer'] });
      const send = (body: Uint8Array | string, headers: Record<string, string> = {}) =>
        fetch(`${http.url}/v1/verify`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${verifier}`, ...headers },
          body: body as unknown as BodyInit,
        });
      const [before, after] = JSON.stringify({ token: key.token, requiredScopes: ['@'] })
        .split('@')
        .map((part) => Buffer.from(part, 'utf8'));
      const notUtf8 = await send(Buffer.concat([before as Buffer, Buffer.from([0xff, 0xfe]), after as Buffer]));
      expect(notUtf8.status).toBe(400);
      expect(((await notUtf8.json()) as VerifyAnswer).error.message).toMatch(/not valid UTF-8/);
      const large = await send(JSON.stringify({ token: 'x'.repeat(20_000) }));
      expect(large.status).toBe(413);
      expect(((await large.json()) as VerifyAnswer).error.code).toBe('BAD_USER_INPUT');
      const gzipped = await send(gzipSync(JSON.stringify({ token: key.token })), { 'content-encoding': 'gzip' });
      expect(gzipped.status).toBe(415);
      expect(((await gzipped.json()) as VerifyAnswer).error.message).toMatch(/Content-Encoding/);
      // The same body, as UTF-8 and uncompressed, is verified.
      const plain = await send(JSON.stringify({ token: key.token }), { 'content-encoding': 'identity' });
      expect(plain.status).toBe(200);
      expect(((await plain.json()) as { code: string }).code).toBe('VALID');
    });

    it('the answer never contains the token or its hash', async () => {
      const key = await org.key({ roles: ['viewer'] });
      const response = await http.post(verifier, { token: key.token });
      expect(JSON.stringify(response.body)).not.toContain(key.token.slice(8));
    });

    it('every answer (verdict, 400, 401, 405, body too large: 413) is JSON with the API headers', async () => {
      const key = await org.key({ roles: ['viewer'] });
      const cases: Array<[string, Record<string, string>, string | undefined, number]> = [
        ['POST', { authorization: `Bearer ${verifier}` }, JSON.stringify({ token: key.token }), 200],
        ['POST', { authorization: `Bearer ${verifier}` }, 'not json', 400],
        ['POST', { authorization: `Bearer ${verifier}` }, JSON.stringify({ token: 'x'.repeat(20_000) }), 413],
        ['POST', { authorization: `Bearer ${generateVerifierToken()}` }, JSON.stringify({ token: key.token }), 401],
        ['POST', {}, JSON.stringify({ token: key.token }), 401],
        ['GET', { authorization: `Bearer ${verifier}` }, undefined, 405],
      ];
      for (const [method, headers, body, status] of cases) {
        const response = await fetch(`${http.url}/v1/verify`, { method, headers, body });
        expect({ method, status: response.status }).toEqual({ method, status });
        expect(response.headers.get('content-type')).toMatch(/^application\/json/);
        expect(response.headers.get('cache-control')).toBe('no-store');
        expect(response.headers.get('x-content-type-options')).toBe('nosniff');
        expect(response.headers.get('referrer-policy')).toBe('no-referrer');
        const answer = (await response.json()) as { code?: string; error?: { code: string } };
        expect(answer.code ?? answer.error?.code).toBeTruthy();
      }
    });
  });
});

describe.runIf(providers.includes('postgresql'))('POST /v1/verify while the database refuses connections', () => {
  it('answers 503 SERVICE_UNAVAILABLE, and verifies again once it is back', async () => {
    const t = await createTestApp('postgresql');
    const http = await startVerifyServer(t);
    const name = new URL((t.db.config as { url: string }).url).pathname.slice(1);
    const admin = new pg.Client({ connectionString: pgBaseUrl });
    await admin.connect();
    const setAllowed = async (allowed: boolean) => {
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS ${allowed}`);
      if (!allowed) {
        await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);
      }
    };
    try {
      t.clock.freeze(); // the verifier token stays known without a lookup
      const org = await t.org();
      const key = await org.key({ roles: ['viewer'] });
      const verifier = await verifierToken(t);
      expect((await http.post(verifier, { token: key.token })).body.code).toBe('VALID');
      await setAllowed(false);
      const down = await http.post(verifier, { token: generateToken() });
      expect(down.status).toBe(503);
      expect(down.body.error).toEqual({ code: 'SERVICE_UNAVAILABLE', message: expect.stringMatching(/try again/) });
      expect(JSON.stringify(down.body)).not.toMatch(/postgres|5432|ALLOW_CONNECTIONS/i);
      await setAllowed(true);
      expect((await http.post(verifier, { token: key.token })).body.code).toBe('VALID');
    } finally {
      await setAllowed(true).catch(() => {});
      await admin.end();
      await http.close();
      await t.close();
    }
  });
});
