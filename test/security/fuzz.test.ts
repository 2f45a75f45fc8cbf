// Fuzzing (issue 4, item 7): random and malformed GraphQL documents built from the served schema,
// variables of right and wrong types, garbage bodies, wrong methods and content types, sent with a
// valid token of an account manager holding every role. Whatever arrives, the server answers without a
// 5xx, every GraphQL error carries a code of docs/api.md (never INTERNAL_SERVER_ERROR), no response shows a
// stack trace, and the server keeps serving: a valid request afterwards succeeds.
// In process (app.fetch, both databases) and over HTTP against a real server process.
//
// KEYGATE_FUZZ_RUNS sets the requests per target (default 300 in process, a third of it over HTTP).
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_ERROR_CODES } from '../../src/errors.ts';
import { schema } from '../../src/schema/index.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { providers } from '../helpers/databases.ts';
import { graphql, type ServerProcess, startServer } from '../helpers/server-process.ts';
import { type FuzzRequest, fuzzRequest, knownNastyRequests, type Pools } from './fuzz.ts';

const RUNS = Number(process.env.KEYGATE_FUZZ_RUNS ?? 300);
// Chosen here (not by fast-check) so that it can be printed: failures are collected, not thrown.
const SEED = Number(process.env.KEYGATE_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const STACK_FRAME = /\n\s+at \S.*:\d+:\d+/;
const EVERY_ROLE = [
  'viewer',
  'incident_creator',
  'incident_editor',
  'incident_memberships_editor',
  'global_access',
  'manage_settings',
  'schedules_editor',
  'on_call_editor',
  'escalation_creator',
  'catalog_editor',
  'api_keys_manage',
];

interface Answer {
  status: number;
  contentType: string;
  body: string;
}

type GraphQLErrorJson = { message?: unknown; extensions?: { code?: unknown } };

/** The GraphQL results in a body: one JSON document, or the events of a stream. */
function results(answer: Answer): Array<{ errors?: GraphQLErrorJson[]; data?: unknown }> | null {
  const parse = (text: string) => {
    try {
      return JSON.parse(text) as { errors?: GraphQLErrorJson[]; data?: unknown };
    } catch {
      return undefined;
    }
  };
  if (/json/.test(answer.contentType)) {
    const parsed = parse(answer.body);
    return parsed === undefined ? null : [parsed];
  }
  if (/event-stream|multipart/.test(answer.contentType)) {
    return answer.body
      .split(/\r?\n/)
      .map((line) => line.replace(/^data: ?/, ''))
      .filter((line) => line.startsWith('{'))
      .map(parse)
      .filter((result) => result !== undefined);
  }
  return [];
}

/** What is wrong with an answer, if anything. */
function problemsOf(request: FuzzRequest, answer: Answer): string[] {
  const problems: string[] = [];
  if (answer.status >= 500) problems.push(`HTTP ${answer.status}`);
  if (request.method === 'HEAD') return problems; // no body, whatever its content type says
  if (STACK_FRAME.test(answer.body)) problems.push('a stack trace in the body');
  const parsed = results(answer);
  if (parsed === null) problems.push(`a ${answer.contentType} body that is not JSON`);
  for (const result of parsed ?? []) {
    for (const error of result.errors ?? []) {
      const code = error.extensions?.code;
      if (typeof code !== 'string' || !API_ERROR_CODES.has(code))
        problems.push(`an error without a docs/api.md code: ${JSON.stringify(error)}`);
      else if (code === 'INTERNAL_SERVER_ERROR') problems.push(`INTERNAL_SERVER_ERROR: ${JSON.stringify(error)}`);
      if (typeof error.message !== 'string' || error.message === '') problems.push('an error without a message');
    }
  }
  return problems;
}

class Tally {
  requests = 0;
  executed = 0;
  readonly byStatus = new Map<string, number>();
  readonly byCode = new Map<string, number>();

  add(request: FuzzRequest, answer: Answer): void {
    this.requests++;
    const bump = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
    bump(this.byStatus, `${request.kind} → ${answer.status}`);
    for (const result of results(answer) ?? []) {
      if (result.data !== undefined && request.kind === 'document') this.executed++;
      for (const error of result.errors ?? []) bump(this.byCode, String(error.extensions?.code));
    }
  }

  report(target: string): string {
    const lines = (map: Map<string, number>) => [...map].sort().map(([key, n]) => `  ${key}: ${n}`);
    return [
      `fuzz ${target}: ${this.requests} requests, ${this.executed} documents executed`,
      ...lines(this.byStatus),
      'error codes:',
      ...lines(this.byCode),
    ].join('\n');
  }
}

/**
 * Sends `runs` random requests. A request that goes wrong does not stop the run: the first example of
 * each distinct problem is kept, so one run reports every kind of failure it met.
 */
async function fuzz(target: string, pools: Pools, runs: number, send: (r: FuzzRequest) => Promise<Answer>) {
  const tally = new Tally();
  const problems = new Map<string, string>();
  const check = (request: FuzzRequest, answer: Answer) => {
    const shown = `${request.method} ${request.path.slice(0, 300)} ${JSON.stringify(request.headers)}\n${request.body?.slice(0, 1_000) ?? ''}`;
    tally.add(request, answer);
    for (const problem of problemsOf(request, answer)) {
      const key = `${request.kind}: ${problem.replace(/error id \S+|"errorId":"[^"]*"/g, '').slice(0, 120)}`;
      if (!problems.has(key))
        problems.set(key, `${problem}\nrequest: ${shown}\nanswer: ${answer.status} ${answer.body.slice(0, 1_000)}`);
    }
  };
  const attempt = async (request: FuzzRequest) => {
    try {
      check(request, await send(request));
    } catch (error) {
      problems.set(
        `no answer to a ${request.kind}`,
        `no answer (${String(error)}) to ${request.method} ${request.path.slice(0, 300)}`,
      );
    }
  };
  for (const request of knownNastyRequests(pools)) await attempt(request);
  await fc.assert(
    fc.asyncProperty(fc.gen(), async (g) => attempt(fuzzRequest(g, schema, pools))),
    { numRuns: runs, seed: SEED },
  );
  console.log(`${tally.report(target)}\n(KEYGATE_FUZZ_SEED=${SEED} replays this run)`);
  return { tally, problems: [...problems.values()].map((problem) => `${problem}\n(KEYGATE_FUZZ_SEED=${SEED})`) };
}

async function answerOf(response: Response): Promise<Answer> {
  return {
    status: response.status,
    contentType: response.headers.get('content-type') ?? '',
    body: await response.text(),
  };
}

describe.each(providers)('fuzzing the in-process API (%s)', (provider) => {
  let t: TestApp;
  let pools: Pools;

  beforeAll(async () => {
    t = await createTestApp(provider);
    const org = await t.org();
    const other = await t.org();
    const teamIds = [await org.team(), await org.team(), await other.team()];
    const admin = await org.key({ roles: EVERY_ROLE });
    const ids: string[] = [];
    for (const grants of [
      { roles: ['viewer'] },
      { teams: [teamIds[0] as string], teamRoles: ['schedules_editor'] },
      {},
    ]) {
      ids.push((await org.key(grants)).id);
    }
    ids.push((await other.key({ roles: ['viewer'] })).id);
    pools = { ids, teamIds, token: admin.token };
  });
  afterAll(() => t.close());

  it('answers every random or malformed request without a 5xx, with docs/api.md codes only, and keeps serving', async () => {
    const { tally, problems } = await fuzz(`in process on ${provider}`, pools, RUNS, async (request) =>
      answerOf(
        await t.app.fetch(`http://keygate.test${request.path}`, {
          method: request.method,
          headers: request.headers,
          body: request.body,
        }),
      ),
    );
    expect(problems).toEqual([]);
    // The generator reaches execution, not only the parser: a good share of documents ran.
    expect(tally.executed).toBeGreaterThan(RUNS / 20);
    const after = await t.gql<{ currentApiKey: { id: string } }>(pools.token, '{ currentApiKey { id } }');
    expect(after.status).toBe(200);
    expect(after.data?.currentApiKey.id).toBeTruthy();
  }, 120_000);
});

describe('fuzzing a real server over HTTP', () => {
  let server: ServerProcess;
  let pools: Pools;
  const dataDir = mkdtempSync(join(tmpdir(), 'keygate-fuzz-'));

  beforeAll(async () => {
    server = await startServer({ KEYGATE_DATA_DIR: dataDir });
    const token = server.bootstrapToken();
    if (!token) throw new Error('no bootstrap token');
    const ids: string[] = [];
    for (const name of ['victim 1', 'victim 2']) {
      const created = await graphql(
        server.url,
        token,
        'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { apiKey { id } } }',
        { input: { name, roleNames: ['viewer'] } },
      );
      ids.push((created.body.data as { createApiKey: { apiKey: { id: string } } }).createApiKey.apiKey.id);
    }
    pools = { ids, teamIds: [], token };
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers random and malformed requests without a 5xx, with docs/api.md codes only, and stays up', async () => {
    const { problems } = await fuzz('over HTTP', pools, Math.ceil(RUNS / 3), async (request) =>
      answerOf(
        await fetch(`${server.url}${request.path}`, {
          method: request.method,
          headers: request.headers,
          body: request.body,
        }),
      ),
    );
    expect(problems).toEqual([]);
    // Bytes that are not HTTP at all, cut-off requests and lying lengths.
    for (const raw of [
      'GARBAGE\r\n\r\n',
      'POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"query"',
      'POST /graphql HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nabc\r\n0\r\n\r\n',
      `GET /graphql HTTP/1.1\r\nHost: x\r\nX-Big: ${'h'.repeat(100_000)}\r\n\r\n`,
      'POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
      '\u0000\u0001\u0002\r\n\r\n',
    ]) {
      await sendRaw(server.url, raw);
    }
    expect(server.child.exitCode).toBeNull();
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const after = await graphql(server.url, pools.token, '{ currentApiKey { id roles { name } } }');
    expect(after.status).toBe(200);
    expect(after.body.errors).toBeUndefined();
  }, 120_000);
});

/** Writes bytes to the server and waits for it to answer or close (at most 2 s). */
function sendRaw(url: string, raw: string): Promise<void> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname, () => socket.end(raw));
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    };
    const timer = setTimeout(done, 2_000);
    socket.on('data', () => {});
    socket.on('close', done);
    socket.on('error', done);
  });
}
