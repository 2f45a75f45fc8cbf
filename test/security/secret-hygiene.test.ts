// docs/rules.md "Tokens": a token is shown exactly once (in the payload of the create or rotate that issued
// it) and is never logged or returned again; docs/api.md: no token in any response or log line. Here a
// representative session (every operation, every kind of failure, bad tokens, malformed requests,
// tokens pasted into inputs, unexpected database errors) runs with the most verbose logging, and then
// every log line and every response (body and headers) is searched for every token, every token's
// SHA-256 (hex and base64) and the database password.
//
// Reading: a response may repeat what its own request contained (GraphQL errors quote the document
// and variables a client sent, and an alias is echoed as a key); it may never contain a token the
// request did not carry, except the one payload that issues it. Log lines may contain neither.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateVerifierToken } from '../../src/domain/tokens.ts';
import { createLogger } from '../../src/logger.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { createEmptyDatabase, providers } from '../helpers/databases.ts';
import { DELETE, UPDATE_NAME } from '../helpers/documents.ts';
import { KEYGATE_BIN, type ServerProcess, startServer } from '../helpers/server-process.ts';

/** A line of a JavaScript stack trace. */
const STACK_FRAME = /\n\s+at \S.*:\d+:\d+/;
/** A stack frame inside a JSON string. */
const STACK_FRAME_IN_JSON = /\\n\s+at \S.*:\d+:\d+/;
/** Anything shaped like a Keygate token. */
const TOKEN_SHAPE = /keygate_[0-9A-Za-z]{20,}/g;
const EVERY_ROLE = [
  'viewer',
  'incident_creator',
  'incident_editor',
  'schedules_editor',
  'on_call_editor',
  'catalog_editor',
  'api_keys_manage',
];

interface Exchange {
  label: string;
  request: string;
  status: number;
  headers: string;
  body: string;
  /** The error that escaped instead of a response. */
  escaped?: string;
}

/** Every request and response of a session, and every token seen. */
class Session {
  readonly exchanges: Exchange[] = [];
  readonly tokens = new Set<string>();
  /** token → label of the exchange whose payload issued it */
  readonly issuedBy = new Map<string, string>();

  constructor(readonly send: (path: string, init: RequestInit) => Promise<Response>) {}

  /** Sends a request; a request whose error escaped the server (no response at all) gets status 0. */
  async raw(label: string, path: string, init: RequestInit = {}): Promise<Exchange> {
    const request = `${init.method ?? 'GET'} ${path}\n${JSON.stringify(init.headers ?? {})}\n${String(init.body ?? '')}`;
    let exchange: Exchange;
    try {
      const response = await this.send(path, init);
      const headers = [...response.headers].map(([name, value]) => `${name}: ${value}`).join('\n');
      exchange = { label, request, status: response.status, headers, body: await response.text() };
    } catch (error) {
      exchange = { label, request, status: 0, headers: '', body: '', escaped: String(error) };
    }
    this.exchanges.push(exchange);
    return exchange;
  }

  async gql<T = Record<string, unknown>>(
    label: string,
    token: string | null,
    query: string,
    variables?: Record<string, unknown>,
  ): Promise<{ status: number; data: T | null; code: string | undefined }> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token !== null) headers.authorization = `Bearer ${token}`;
    const exchange = await this.raw(label, '/graphql', {
      method: 'POST',
      headers,
      body: JSON.stringify({ query, variables }),
    });
    let body: { data?: T; errors?: Array<{ extensions?: { code?: string } }> };
    try {
      body = JSON.parse(exchange.body);
    } catch {
      return { status: exchange.status, data: null, code: exchange.escaped ? 'ESCAPED' : 'NOT_JSON' };
    }
    return { status: exchange.status, data: body.data ?? null, code: body.errors?.[0]?.extensions?.code };
  }

  /** Remembers a token that a payload just issued. */
  issued(token: string | undefined, label: string): string {
    if (!token) throw new Error(`${label} issued no token`);
    this.tokens.add(token);
    this.issuedBy.set(token, label);
    return token;
  }
}

const sha256 = (token: string) => createHash('sha256').update(token).digest();

/** The forms of a secret that must not appear: the token, and its hash as hex (either case) and base64. */
/** What is stored of a token, in the forms it could be written. */
function hashesOf(token: string): string[] {
  const hash = sha256(token);
  return [hash.toString('hex'), hash.toString('hex').toUpperCase(), hash.toString('base64')];
}

/** A token, its hashes and its secret part (what follows the prefix, found whatever came before it). */
function forms(token: string): string[] {
  return [token, ...hashesOf(token), token.slice(token.lastIndexOf('_') + 1)];
}

function leaksInLogs(lines: readonly string[], tokens: Iterable<string>, password?: string): string[] {
  const leaks: string[] = [];
  const secrets = [...tokens].flatMap(forms);
  for (const line of lines) {
    for (const secret of secrets) if (line.includes(secret)) leaks.push(`log line holds a secret: ${line}`);
    if (TOKEN_SHAPE.test(line)) leaks.push(`log line holds something token-shaped: ${line}`);
    TOKEN_SHAPE.lastIndex = 0;
    if (password && line.includes(password)) leaks.push(`log line holds the database password: ${line}`);
    // docs/api.md: no log line holds a stack (a line is JSON: a frame's newline is written "\n").
    if (/"stack"/.test(line) || STACK_FRAME_IN_JSON.test(line)) leaks.push(`log line holds a stack: ${line}`);
  }
  return leaks;
}

function leaksInResponses(session: Session, password?: string): string[] {
  const leaks: string[] = [];
  for (const exchange of session.exchanges) {
    for (const token of session.tokens) {
      const hashes = hashesOf(token);
      const text = `${exchange.headers}\n${exchange.body}`;
      for (const hash of hashes) if (text.includes(hash)) leaks.push(`${exchange.label}: a token hash in the response`);
      if (exchange.headers.includes(token)) leaks.push(`${exchange.label}: a token in a response header`);
      const mayHold = session.issuedBy.get(token) === exchange.label || exchange.request.includes(token);
      if (exchange.body.includes(token) && !mayHold)
        leaks.push(`${exchange.label}: a token it did not issue or receive`);
    }
    if (password && `${exchange.headers}\n${exchange.body}`.includes(password)) {
      leaks.push(`${exchange.label}: the database password in the response`);
    }
    if (STACK_FRAME.test(exchange.body)) leaks.push(`${exchange.label}: a stack trace in the response`);
    if (exchange.escaped) leaks.push(`${exchange.label}: no response at all, the error escaped: ${exchange.escaped}`);
  }
  return leaks;
}

const CREATE = 'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { token apiKey { id name } } }';
const ROTATE = `mutation($input: RotateApiKeyInput!) {
  rotateApiKey(input: $input) { token previousTokenExpiresAt apiKey { id tokenLastIssuedAt } } }`;
const FULL_KEY = `id name createdAt creator { apiKey { id name } user { id email name role slackUserId } }
  roles { name description scopes } teamIds teams { id name } teamRoles { name scopes } tokenLastIssuedAt lastUsedAt`;

/**
 * The session every part of this file runs: everything a client can do, right and wrong.
 * `admin` holds api_keys_manage and every other role; `teamId` is a team of its organization.
 */
async function representativeSession(
  s: Session,
  admin: string,
  teamId: string,
  options: { advanceClock?: (ms: number) => void } = {},
): Promise<{ victimId: string; unusedToken: string }> {
  type Created = { createApiKey: { token: string; apiKey: { id: string } } };
  type Rotated = { rotateApiKey: { token: string } };
  const created = await s.gql<Created>('create', admin, CREATE, {
    input: { name: 'hygiene', roleNames: ['viewer'], teamIds: [teamId], teamRoleNames: ['schedules_editor'] },
  });
  const first = s.issued(created.data?.createApiKey.token, 'create');
  const id = created.data?.createApiKey.apiKey.id as string;
  const manager = await s.gql<Created>('create a team manager?', admin, CREATE, {
    input: { name: 'would-be manager', teamIds: [teamId], teamRoleNames: ['api_keys_manage'] },
  });
  expect(manager.code).toBe('FORBIDDEN');
  const spare = await s.gql<Created>('create spare', admin, CREATE, {
    input: { name: 'spare', roleNames: ['viewer'] },
  });
  const unusedToken = s.issued(spare.data?.createApiKey.token, 'create spare');

  expect((await s.gql('currentApiKey', first, `{ currentApiKey { ${FULL_KEY} } }`)).status).toBe(200);
  expect((await s.gql('roles and teams', first, '{ roles { name scopes } teams { id name } }')).status).toBe(200);
  const page = await s.gql<{ apiKeys: { pageInfo: { endCursor: string } } }>(
    'list',
    admin,
    `{ apiKeys(first: 1) { edges { cursor node { ${FULL_KEY} } } pageInfo { hasNextPage endCursor } } }`,
  );
  await s.gql(
    'list page 2',
    admin,
    `query($after: String) { apiKeys(first: 2, after: $after) { edges { node { id } } } }`,
    {
      after: page.data?.apiKeys.pageInfo.endCursor,
    },
  );
  await s.gql('show', admin, `query($id: ID!) { apiKey(id: $id) { ${FULL_KEY} } }`, { id });
  await s.gql('update', admin, UPDATE_NAME, {
    input: { id, name: 'hygiene 2', roleNames: ['incident_creator'], teamIds: [], teamRoleNames: [] },
  });
  expect(
    (
      await s.gql('update forbidden', first, UPDATE_NAME, {
        input: { id, name: 'x', roleNames: [], teamIds: [], teamRoleNames: [] },
      })
    ).code,
  ).toBe('FORBIDDEN');
  expect(
    (
      await s.gql('show missing', admin, 'query($id: ID!) { apiKey(id: $id) { id } }', {
        id: '01ARZ3NDEKTSV4RRFFQ69G5FAV',
      })
    ).code,
  ).toBe('NOT_FOUND');
  expect((await s.gql('bad input', admin, CREATE, { input: { name: '   ', roleNames: ['no_such_role'] } })).code).toBe(
    'BAD_USER_INPUT',
  );

  const rotated = await s.gql<Rotated>('rotate', admin, ROTATE, { input: { id, gracePeriodMinutes: 0 } });
  const second = s.issued(rotated.data?.rotateApiKey.token, 'rotate');
  const rotatedAgain = await s.gql<Rotated>('rotate again', admin, ROTATE, { input: { id, gracePeriodMinutes: 1 } });
  const third = s.issued(rotatedAgain.data?.rotateApiKey.token, 'rotate again');
  expect((await s.gql('rotated-away token', first, '{ currentApiKey { id } }')).status).toBe(401);
  expect((await s.gql('token in its grace period', second, '{ currentApiKey { id } }')).status).toBe(200);
  if (options.advanceClock) {
    options.advanceClock(2 * 60_000);
    expect((await s.gql('token past its grace period', second, '{ currentApiKey { id } }')).status).toBe(401);
  }
  expect((await s.gql('bad grace', third, ROTATE, { input: { id, gracePeriodMinutes: 61 } })).code).toBe(
    'BAD_USER_INPUT',
  );

  // Bad tokens of every kind.
  const corrupted = `${third.slice(0, -1)}${third.endsWith('A') ? 'B' : 'A'}`;
  for (const [label, authorization] of [
    ['no token', null],
    ['garbage token', 'Bearer not-a-token'],
    ['corrupted token', `Bearer ${corrupted}`],
    ['wrong scheme', `Basic ${third}`],
    ['lower-case scheme', `bearer ${third}`],
    ['token twice', `Bearer ${third} ${third}`],
  ] as const) {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (authorization) headers.authorization = authorization;
    await s.raw(label, '/graphql', {
      method: 'POST',
      headers,
      body: JSON.stringify({ query: '{ currentApiKey { id } }' }),
    });
  }

  // Tokens pasted where they do not belong: as an id, a cursor, a grace period, an alias, in a broken
  // document, a broken JSON body and a form body.
  await s.gql('token as id', admin, `{ apiKey(id: "${third}") { id } }`);
  await s.gql('token as id variable', admin, 'query($id: ID!) { apiKey(id: $id) { id } }', { id: third });
  await s.gql('token as cursor', admin, 'query($a: String) { apiKeys(after: $a) { edges { node { id } } } }', {
    a: third,
  });
  await s.gql('token as grace', admin, ROTATE, { input: { id, gracePeriodMinutes: third } });
  await s.gql('token as alias', admin, `{ ${third}: currentApiKey { id } }`);
  await s.gql('token in a syntax error', admin, `{ apiKey(id: "${third}") { id `);
  await s.gql('token as unknown field', admin, `{ currentApiKey { ${third} } }`);
  const json = { 'content-type': 'application/json', authorization: `Bearer ${admin}` };
  await s.raw('broken JSON', '/graphql', {
    method: 'POST',
    headers: json,
    body: `{"query": "{ apiKey(id: \\"${third}\\") { id } }"`,
  });
  await s.raw('form body', '/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${admin}` },
    body: `query=${encodeURIComponent(`{ apiKey(id: "${third}") { id } }`)}`,
  });
  await s.raw('GET query', `/graphql?query=${encodeURIComponent(`{ apiKey(id: "${third}") { id } }`)}`, {
    headers: { authorization: `Bearer ${admin}` },
  });
  await s.raw(
    'GET mutation',
    `/graphql?query=${encodeURIComponent(`mutation { deleteApiKey(input: { id: "${id}" }) { deletedApiKeyId } }`)}`,
    {
      headers: { authorization: `Bearer ${admin}` },
    },
  );
  await s.raw('batched', '/graphql', {
    method: 'POST',
    headers: json,
    body: JSON.stringify([{ query: '{ teams { id } }' }]),
  });
  // A token in a path with its prefix percent-encoded (the access log writes paths as sent), and a
  // verifier token, whose prefix has a second underscore, in a path, a request id and a document.
  await s.raw('token in a path, underscore encoded', `/nope/keygate%5F${third.slice('keygate_'.length)}`);
  await s.raw('token in a path, first letter encoded', `/nope/%6Beygate_${third.slice('keygate_'.length)}?x=1`);
  const verifier = generateVerifierToken();
  s.tokens.add(verifier);
  await s.raw('verifier token in a path', `/nope/${verifier}`);
  await s.raw('verifier token as request id', '/healthz', { headers: { 'x-request-id': verifier } });
  await s.gql('verifier token as id', admin, `{ apiKey(id: "${verifier}") { id } }`);
  await s.raw('healthz', '/healthz');
  await s.raw('readyz', '/readyz');

  expect((await s.gql('delete', admin, DELETE, { input: { id } })).status).toBe(200);
  expect((await s.gql('deleted key token', third, '{ currentApiKey { id } }')).status).toBe(401);
  return { victimId: id, unusedToken };
}

interface UnexpectedCodes {
  operation: string | undefined;
  authentication: string | undefined;
}

/**
 * Unexpected errors: the token table disappears under the running server for a moment. The admin's
 * token is cached, so its create gets as far as inserting the new token; the unused token needs a lookup.
 */
async function withoutTokenTable(
  run: (sql: string) => Promise<void>,
  session: Session,
  admin: string,
  unusedToken: string,
): Promise<UnexpectedCodes> {
  await session.gql('warm the cache', admin, '{ currentApiKey { id } }');
  await run('ALTER TABLE "ApiKeyToken" RENAME TO "ApiKeyTokenAway"');
  try {
    const operation = await session.gql('create while broken', admin, CREATE, { input: { name: 'broken' } });
    const authentication = await session.gql('lookup while broken', unusedToken, '{ currentApiKey { id } }');
    return { operation: operation.code, authentication: authentication.code };
  } finally {
    await run('ALTER TABLE "ApiKeyTokenAway" RENAME TO "ApiKeyToken"');
  }
}

describe.each(providers)('secret hygiene of an in-process session with trace logging (%s)', (provider) => {
  const lines: string[] = [];
  let t: TestApp;
  let session: Session;
  let unexpected: UnexpectedCodes;

  beforeAll(async () => {
    const logger = createLogger('trace', { write: (line: string) => void lines.push(line) });
    t = await createTestApp(provider, { logger });
    session = new Session(async (path, init) => t.app.fetch(`http://keygate.test${path}`, init));
    const org = await t.org();
    const team = await org.team();
    const admin = await org.key({ roles: EVERY_ROLE });
    session.tokens.add(admin.token);
    const { unusedToken } = await representativeSession(session, admin.token, team, {
      advanceClock: (ms) => t.clock.advance(ms),
    });

    unexpected = await withoutTokenTable(
      (sql) => t.domain.db.$executeRawUnsafe(sql).then(() => {}),
      session,
      admin.token,
      unusedToken,
    );
    if (provider === 'postgresql') {
      // The database drops every connection of the app: requests fail as SERVICE_UNAVAILABLE, then recover.
      const url = (t.db.config as { url: string }).url;
      const admin2 = new pg.Client({ connectionString: url });
      await admin2.connect();
      await admin2.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
      );
      await admin2.end();
      await session.gql('after the connections were dropped', admin.token, CREATE, { input: { name: 'again' } });
      let recovered = false;
      for (let attempt = 0; attempt < 50 && !recovered; attempt++) {
        const again = await session.gql<{ createApiKey: { token: string } }>('retry', admin.token, CREATE, {
          input: { name: 'again' },
        });
        if (again.data) session.issued(again.data.createApiKey.token, 'retry');
        recovered = again.status === 200 && again.data !== null;
      }
      expect(recovered).toBe(true);
    }
  });
  afterAll(() => t.close());

  it('masks an unexpected error, inside an operation or while authenticating, as INTERNAL_SERVER_ERROR', () => {
    expect(unexpected).toEqual({ operation: 'INTERNAL_SERVER_ERROR', authentication: 'INTERNAL_SERVER_ERROR' });
  });

  it('logged at debug level and logged the unexpected errors, so the search below sees real output', () => {
    const levels = new Set(lines.map((line) => (JSON.parse(line) as { level: number }).level));
    expect(levels.has(20)).toBe(true);
    expect(lines.some((line) => line.includes('"errorId"'))).toBe(true);
    expect(session.tokens.size).toBeGreaterThanOrEqual(5);
  });

  it('no log line holds a token, a token hash or anything token-shaped', () => {
    expect(leaksInLogs(lines, session.tokens)).toEqual([]);
  });

  it('no response holds a token hash, and a token only in the payload that issued it or a request that sent it', () => {
    expect(leaksInResponses(session)).toEqual([]);
  });
});

describe('secret hygiene of a real server on PostgreSQL with LOG_LEVEL=trace and a password in DATABASE_URL', () => {
  let server: ServerProcess;
  let stderr = '';
  let password = '';
  let session: Session;
  let remove: () => Promise<void>;
  let databaseUrl = '';
  let failedStarts = '';
  let unexpected: UnexpectedCodes;

  beforeAll(async () => {
    const database = await createEmptyDatabase('postgresql');
    remove = database.remove;
    const url = new URL((database.config as { url: string }).url);
    // The local server trusts its connections and ignores the password; a server that checks it keeps
    // the one KEYGATE_TEST_PG_URL carries.
    if (!url.password) url.password = `pw-${randomBytes(9).toString('hex')}`;
    password = decodeURIComponent(url.password);
    databaseUrl = url.toString();
    server = await startServer({ DATABASE_URL: databaseUrl, LOG_LEVEL: 'trace', KEYGATE_LAST_USED_FLUSH_MS: '100' });
    server.child.stderr?.on('data', (chunk) => {
      stderr += chunk;
    });
    session = new Session((path, init) => fetch(`${server.url}${path}`, init));
    const admin = server.bootstrapToken();
    if (!admin) throw new Error('the server printed no bootstrap token');
    session.tokens.add(admin);
    const teams = await session.gql<{ teams: Array<{ id: string }> }>('teams', admin, '{ teams { id } }');
    let teamId = teams.data?.teams[0]?.id;
    if (!teamId) {
      // A fresh organization has no team yet; the administration CLI makes one.
      teamId = await cliTeam(databaseUrl);
    }
    const { unusedToken } = await representativeSession(session, admin, teamId);
    const sql = new pg.Client({ connectionString: databaseUrl });
    await sql.connect();
    unexpected = await withoutTokenTable((text) => sql.query(text).then(() => {}), session, admin, unusedToken);
    await sql.end();

    // The database drops every connection of the server, then comes back (it never went away).
    const killer = new pg.Client({ connectionString: databaseUrl });
    await killer.connect();
    await killer.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
    );
    await killer.end();
    for (let attempt = 0; attempt < 40; attempt++) {
      const created = await session.gql<{ createApiKey: { token: string } }>('after the drop', admin, CREATE, {
        input: { name: 'after the drop' },
      });
      if (created.data) {
        session.issued(created.data.createApiKey.token, 'after the drop');
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    // Starts that fail on the database: it does not exist, and nothing listens at the address.
    const missing = new URL(databaseUrl);
    missing.pathname = '/keygate_no_such_database';
    const nowhere = new URL(databaseUrl);
    nowhere.port = '1';
    for (const target of [missing, nowhere]) failedStarts += await runCli(['migrate'], target.toString());
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await remove?.();
  });

  it('masks an unexpected error, inside an operation or while authenticating, as INTERNAL_SERVER_ERROR', () => {
    expect(unexpected).toEqual({ operation: 'INTERNAL_SERVER_ERROR', authentication: 'INTERNAL_SERVER_ERROR' });
  });

  it('served the session and wrote trace output, so the search below sees real output', () => {
    expect(session.exchanges.length).toBeGreaterThan(30);
    expect(server.output()).toContain('"level":20');
    expect(failedStarts.length).toBeGreaterThan(0);
  });

  it('no log line holds a token, a token hash, anything token-shaped or the database password', async () => {
    await server.stop();
    const output = `${server.output()}\n${stderr}`;
    const logLines = output.split('\n').filter((line) => line.startsWith('{'));
    expect(logLines.length).toBeGreaterThan(10);
    expect(leaksInLogs(logLines, session.tokens, password)).toEqual([]);
  });

  it('the only token outside log lines is the bootstrap token, in its banner; the password is nowhere', () => {
    const output = `${server.output()}\n${stderr}`;
    const other = output.split('\n').filter((line) => !line.startsWith('{'));
    const admin = server.bootstrapToken() as string;
    const tokenLines = other.filter((line) => TOKEN_SHAPE.test(line));
    TOKEN_SHAPE.lastIndex = 0;
    expect(tokenLines.length).toBeGreaterThan(0);
    for (const line of tokenLines) expect(line.match(TOKEN_SHAPE)).toEqual([admin]);
    expect(output).not.toContain(password);
    expect(failedStarts).not.toContain(password);
  });

  it('no response holds a token hash or the password, and a token only where it was issued or sent', () => {
    expect(leaksInResponses(session, password)).toEqual([]);
  });
});

/** Runs the keygate CLI; resolves with everything it printed. */
function runCli(args: string[], databaseUrl: string, logLevel = 'trace'): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [KEYGATE_BIN, ...args], {
      env: { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: logLevel },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    child.on('close', () => resolve(output));
  });
}

/** Makes a team with the CLI in the (only) organization, the bootstrap key's. */
async function cliTeam(databaseUrl: string): Promise<string> {
  const orgs = new pg.Client({ connectionString: databaseUrl });
  await orgs.connect();
  const { rows } = await orgs.query<{ id: string }>('SELECT "id" FROM "Organization" LIMIT 1');
  await orgs.end();
  const printed = await runCli(
    ['team', 'create', '--org', rows[0]?.id as string, '--name', 'hygiene team'],
    databaseUrl,
    'warn',
  );
  return (JSON.parse(printed) as { id: string }).id;
}
