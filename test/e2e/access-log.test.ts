// The access log and request ids through app.fetch (every response carries x-request-id; one JSON line
// per request with the same id; client errors at most at warn, once; no token anywhere).
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { providers } from '../helpers/databases.ts';

interface Line {
  level: number;
  msg: string;
  reqId?: string;
  [field: string]: unknown;
}

const WARN = 40;
const ERROR = 50;

function capture() {
  const text: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      text.push(String(chunk));
      done();
    },
  });
  return {
    logger: createLogger('info', destination),
    raw: () => text.join(''),
    lines: (): Line[] =>
      text
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Line),
    clear: () => {
      text.length = 0;
    },
  };
}

describe.each(providers)('access log and request ids over app.fetch on %s', (provider) => {
  let t: TestApp;
  let admin: string;
  let viewer: string;
  const log = capture();

  beforeAll(async () => {
    t = await createTestApp(provider, { logger: log.logger });
    const org = await t.org();
    admin = (await org.key({ roles: ['api_keys_manage', 'viewer'] })).token;
    viewer = (await org.key({ roles: ['viewer'] })).token;
  }, 60_000);
  afterAll(async () => t?.close());

  const post = (body: unknown, headers: Record<string, string> = {}) =>
    t.app.fetch('http://keygate.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  it('logs one info line per request with the id it returned, the operation and the caller, and never the token', async () => {
    log.clear();
    const response = await post(
      { query: 'query Me { currentApiKey { id } }', operationName: 'Me' },
      { authorization: `Bearer ${admin}`, 'x-request-id': 'trace-123:abc' },
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toBe('trace-123:abc');
    const keyId = ((await response.json()) as { data: { currentApiKey: { id: string } } }).data.currentApiKey.id;
    const lines = log.lines();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 30,
      msg: 'request',
      reqId: 'trace-123:abc',
      method: 'POST',
      path: '/graphql',
      status: 200,
      operation: 'Me',
      keyId,
    });
    expect(typeof lines[0]?.ms).toBe('number');
    expect(log.raw()).not.toContain(admin);
    expect(log.raw().toLowerCase()).not.toContain('bearer');
  });

  it('generates an id when the header is missing or not well-formed, a new one each time', async () => {
    const ids = new Set<string>();
    for (const header of [undefined, '', 'has space', 'x'.repeat(129), 'bad\u00e9']) {
      log.clear();
      const response = await post(
        { query: '{ currentApiKey { id } }' },
        header === undefined ? {} : { 'x-request-id': header },
      );
      expect(response.status).toBe(401);
      const id = response.headers.get('x-request-id') as string;
      expect(id).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
      expect(id).not.toBe(header);
      ids.add(id);
      expect(log.lines().map((line) => line.reqId)).toEqual([id]);
    }
    expect(ids.size).toBe(5);
  });

  it('logs client errors at most at warn, once, with the request id', async () => {
    const mistakes: Array<[unknown, Record<string, string>, string]> = [
      [{ query: '{ currentApiKey { id } }' }, {}, 'UNAUTHENTICATED'],
      [{ query: '{ currentApiKey { nope } }' }, { authorization: `Bearer ${admin}` }, 'BAD_USER_INPUT'],
      [{ query: '{ currentApiKey { id ' }, { authorization: `Bearer ${admin}` }, 'BAD_USER_INPUT'],
      [
        { query: 'query($id: ID!) { apiKey(id: $id) { id } }', variables: { id: '01ARZ3NDEKTSV4RRFFQ69G5FAV' } },
        { authorization: `Bearer ${admin}` },
        'NOT_FOUND',
      ],
      [
        { query: 'mutation { createApiKey(input: { name: "x", roleNames: ["viewer"] }) { token } }' },
        { authorization: `Bearer ${viewer}` },
        'FORBIDDEN',
      ],
    ];
    for (const [body, headers, code] of mistakes) {
      log.clear();
      const response = await post(body, headers);
      const answer = (await response.json()) as { errors?: Array<{ extensions?: { code?: string } }> };
      expect(answer.errors?.[0]?.extensions?.code).toBe(code);
      const lines = log.lines();
      expect(lines, JSON.stringify(lines)).toHaveLength(1);
      expect(lines[0]?.level).toBeLessThanOrEqual(WARN);
      expect(lines[0]?.reqId).toBe(response.headers.get('x-request-id'));
      expect(lines[0]?.code).toBe(code);
      expect(log.raw()).not.toContain(admin);
      expect(log.raw()).not.toContain(viewer);
    }
  });

  it('logs a server error once, at error level, with the request id, the error id and the cause', async () => {
    // The admin's token is verified (cached) first; then a table goes away under a read.
    await post({ query: '{ currentApiKey { id } }' }, { authorization: `Bearer ${admin}` });
    log.clear();
    const rename = (from: string, to: string) =>
      t.domain.db.$executeRawUnsafe(`ALTER TABLE "${from}" RENAME TO "${to}"`);
    // A page reads "User": the creators of its keys.
    await rename('User', 'User_gone');
    let response: Response;
    try {
      response = await post(
        { query: '{ apiKeys(first: 7) { edges { node { id teamRoles { name } } } } }' },
        { authorization: `Bearer ${admin}`, 'x-request-id': 'server-error-1' },
      );
    } finally {
      await rename('User_gone', 'User');
    }
    const answer = (await response.json()) as { errors?: Array<{ extensions?: { code?: string; errorId?: string } }> };
    expect(answer.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    expect(JSON.stringify(answer)).not.toContain('User_gone');
    const lines = log.lines();
    expect(lines, JSON.stringify(lines)).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: ERROR,
      reqId: 'server-error-1',
      errorId: answer.errors?.[0]?.extensions?.errorId,
    });
    // The cause: SQLite's or PostgreSQL's words for the missing table.
    expect(JSON.stringify(lines[0])).toMatch(/no such table: (main\.)?User\b|relation \\"User\\" does not exist/);
    expect(log.raw()).not.toContain(admin);
  });
});
