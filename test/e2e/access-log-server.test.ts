import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateToken } from '../../src/domain/tokens.ts';
import { providers } from '../helpers/databases.ts';
import { type ServerProcess, startServerOnFreshDatabase } from '../helpers/server-process.ts';

interface Line {
  level: number;
  msg: string;
  reqId?: string;
  [field: string]: unknown;
}

const FAILED_AUTH_LIMIT = 3;

describe.each(providers)('access log of a real server on %s', (provider) => {
  let server: ServerProcess;
  let admin: string;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const env = { LOG_LEVEL: 'info', KEYGATE_FAILED_AUTH_LIMIT: String(FAILED_AUTH_LIMIT), REDIS_URL: '' };
    ({ server, cleanup } = await startServerOnFreshDatabase(provider, env));
    admin = server.bootstrapToken() as string;
  }, 90_000);

  afterAll(async () => {
    await server?.stop();
    await cleanup?.();
  }, 60_000);

  const requestLines = (): Line[] =>
    server
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Line)
      .filter((line) => line.reqId !== undefined);

  /** Waits for the line of `id` (written when its response closes, after the client got it). */
  async function lineOf(id: string): Promise<Line[]> {
    for (let i = 0; i < 200; i++) {
      const lines = requestLines().filter((line) => line.reqId === id);
      if (lines.length > 0) return lines;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    return [];
  }

  const post = (token: string | null, headers: Record<string, string> = {}, query = '{ currentApiKey { id } }') =>
    fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token === null ? {} : { authorization: `Bearer ${token}` }),
        ...headers,
      },
      body: JSON.stringify({ query }),
    });

  it('returns the id and logs one line with it, for fast-path answers, Yoga answers and other paths', async () => {
    const malformed = `${admin.slice(0, -1)}${admin.endsWith('A') ? 'B' : 'A'}`;
    const cases: Array<[string, () => Promise<Response>, number, Partial<Line>]> = [
      [
        'fast-ok',
        () => post(admin, { 'x-request-id': 'fast-ok' }),
        200,
        { level: 30, method: 'POST', path: '/graphql' },
      ],
      ['fast-401', () => post(malformed, { 'x-request-id': 'fast-401' }), 401, { level: 30, code: 'UNAUTHENTICATED' }],
      [
        'yoga-ok',
        () => post(admin, { 'x-request-id': 'yoga-ok', origin: 'http://elsewhere.test' }),
        200,
        { level: 30, path: '/graphql' },
      ],
      [
        'yoga-bad',
        () => post(admin, { 'x-request-id': 'yoga-bad' }, 'query Broken { currentApiKey { nope } }'),
        200,
        { level: 30, code: 'BAD_USER_INPUT' },
      ],
      [
        'healthz',
        () => fetch(`${server.url}/healthz?token=${admin}`, { headers: { 'x-request-id': 'healthz' } }),
        200,
        { path: '/healthz' },
      ],
      [
        'missing',
        () => fetch(`${server.url}/nope`, { headers: { 'x-request-id': 'missing' } }),
        404,
        { path: '/nope' },
      ],
    ];
    for (const [id, send, status, expected] of cases) {
      const response = await send();
      await response.arrayBuffer();
      expect(response.status, id).toBe(status);
      expect(response.headers.get('x-request-id'), id).toBe(id);
      const lines = await lineOf(id);
      expect(lines, id).toHaveLength(1);
      expect(lines[0], id).toMatchObject({ msg: 'request', status, ...expected });
      expect(typeof lines[0]?.ms, id).toBe('number');
      expect(lines[0]?.client, id).toBe('127.0.0.1');
    }
    const [fastOk] = await lineOf('fast-ok');
    expect(fastOk?.keyId).toMatch(/^[0-9A-Z]{26}$/);
    // No log line has any part of a token, not even of the query string of /healthz?token=… (the
    // bootstrap banner, not a log line, is the one place the admin token is printed).
    const logged = server
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .join('\n');
    expect(logged).not.toContain(admin.slice(8));
    expect(logged).not.toContain(malformed.slice(8));
    expect(logged.toLowerCase()).not.toContain('bearer');
  });

  it('generates an id when none (or a malformed one) is sent, also on a 429 of the fast path', async () => {
    const ids: string[] = [];
    let tooMany: Response | null = null;
    for (let i = 0; i <= FAILED_AUTH_LIMIT && !tooMany; i++) {
      const response = await post(generateToken(), i === 0 ? { 'x-request-id': 'no spaces allowed' } : {});
      const id = response.headers.get('x-request-id') as string;
      expect(id).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
      ids.push(id);
      if (response.status === 429) tooMany = response;
      else expect(response.status).toBe(401);
    }
    expect(tooMany?.status).toBe(429);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(await lineOf(id)).toHaveLength(1);
    const last = (await lineOf(ids.at(-1) as string))[0];
    expect(last).toMatchObject({ status: 429, code: 'RATE_LIMITED', level: 30 });
  });

  it('writes nothing at error or warn level for client mistakes', () => {
    const loud = server
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Line)
      .filter((line) => line.level >= 40);
    expect(loud).toEqual([]);
  });
});
