// What is wrong when a database or Redis cannot be used, said so a person can fix it: the database
// does not exist, the password or role was refused, nobody listens there, the host has no address, the
// server wants TLS. Found by experiment against real servers (test/e2e/connection-errors.test.ts): what
// node-postgres, Prisma's adapters and ioredis raise in each case. The URL is shown without its password.
import { errorChain } from './error-chain.ts';

/** The URL as it may be shown: no password, no query string (it may carry one too). */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '****';
    parsed.search = '';
    return parsed.toString();
  } catch {
    return '(an unreadable URL)';
  }
}

/** The database could not be used: the message says why and what to do. `cause` keeps the original. */
export class ConnectionError extends Error {
  override name = 'ConnectionError';
}

interface Found {
  code?: string;
  kind?: string;
  message: string;
}

/** What each error of the chain says (src/db/error-chain.ts). */
function chain(error: unknown): Found[] {
  return [...errorChain(error)].map((node) => {
    const code = [node.originalCode, node.code].find((value) => typeof value === 'string') as string | undefined;
    return {
      ...(code ? { code } : {}),
      ...(typeof node.kind === 'string' ? { kind: node.kind } : {}),
      message: typeof node.message === 'string' ? node.message : '',
    };
  });
}

const has = (found: Found[], test: (f: Found) => boolean) => found.some(test);
const SOCKET_UNREACHABLE = new Set(['EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT']);

/** A ConnectionError saying what is wrong with reaching PostgreSQL at `url`, or null when it is something else. */
export function describePostgresError(error: unknown, url: string): ConnectionError | null {
  const found = chain(error);
  let target: URL | null = null;
  try {
    target = new URL(url);
  } catch {
    // described without its parts
  }
  const shown = redactUrl(url);
  const host = target?.hostname || 'localhost';
  const port = target?.port || '5432';
  const database = decodeURIComponent(target?.pathname.replace(/^\//, '') ?? '') || '(the user name)';
  const user = decodeURIComponent(target?.username ?? '') || '(the operating-system user)';
  const make = (message: string) => new ConnectionError(`${message} (DATABASE_URL=${shown})`, { cause: error });

  if (has(found, (f) => f.code === '3D000' || f.kind === 'DatabaseDoesNotExist' || f.code === 'P1003')) {
    return make(
      `PostgreSQL database "${database}" does not exist on ${host}:${port}. Create it with ` +
        `\`createdb -h ${host} -p ${port} -U ${user} ${database}\` (or point DATABASE_URL at an existing one)`,
    );
  }
  // PostgreSQL 14 and later say "no encryption", older ones "SSL off", when only hostssl lines match.
  if (has(found, (f) => /no pg_hba\.conf entry.*(SSL off|no encryption)/i.test(f.message))) {
    return make(
      `PostgreSQL at ${host}:${port} accepts only TLS connections. Add ?sslmode=verify-full to DATABASE_URL ` +
        '(sslmode=no-verify if the server certificate cannot be checked)',
    );
  }
  if (has(found, (f) => /does not support SSL/i.test(f.message) || f.kind === 'TlsConnectionError')) {
    return make(
      `PostgreSQL at ${host}:${port} does not offer TLS. Remove sslmode from DATABASE_URL, or enable ssl on the server`,
    );
  }
  if (
    has(
      found,
      (f) =>
        f.code === '28P01' ||
        f.code === '28000' ||
        f.kind === 'AuthenticationFailed' ||
        f.code === 'P1000' ||
        /password authentication failed|role .* does not exist|no pg_hba\.conf entry/i.test(f.message),
    )
  ) {
    return make(
      `PostgreSQL at ${host}:${port} refused user "${user}": wrong password, no such role, or not allowed to ` +
        'connect to that database (pg_hba.conf). Check the user and password in DATABASE_URL',
    );
  }
  if (has(found, (f) => f.code === 'ENOTFOUND' || f.code === 'EAI_AGAIN' || /getaddrinfo/i.test(f.message))) {
    return make(`the host "${host}" of DATABASE_URL was not found (no DNS address). Check its spelling`);
  }
  if (has(found, (f) => f.code === 'ECONNREFUSED')) {
    return make(
      `nothing accepts connections at ${host}:${port}: is PostgreSQL running, and listening on that address and port?`,
    );
  }
  if (
    has(
      found,
      (f) =>
        (f.code !== undefined && SOCKET_UNREACHABLE.has(f.code)) ||
        /timeout exceeded when trying to connect|connection timeout/i.test(f.message),
    )
  ) {
    return make(`no answer from ${host}:${port} in time: a firewall, a wrong address, or an overloaded server`);
  }
  if (has(found, (f) => f.code === '53300')) {
    return make(`PostgreSQL at ${host}:${port} has no connection slot left (max_connections); try again or raise it`);
  }
  if (has(found, (f) => f.code === '57P03')) {
    return make(`PostgreSQL at ${host}:${port} is starting up or shutting down; try again shortly`);
  }
  return null;
}

/** The same for the embedded database: a file that cannot be opened or written. */
export function describeSqliteError(error: unknown, file: string): ConnectionError | null {
  const found = chain(error);
  if (has(found, (f) => /^SQLITE_CANTOPEN/.test(f.code ?? '') || /unable to open database/i.test(f.message))) {
    return new ConnectionError(
      `cannot open the embedded database at ${file}: check that the folder exists and is writable`,
      {
        cause: error,
      },
    );
  }
  if (has(found, (f) => /^SQLITE_(READONLY|PERM)/.test(f.code ?? '') || /readonly database/i.test(f.message))) {
    return new ConnectionError(`the embedded database at ${file} is read-only for this user: check its permissions`, {
      cause: error,
    });
  }
  if (has(found, (f) => /^SQLITE_(NOTADB|CORRUPT)/.test(f.code ?? ''))) {
    return new ConnectionError(`${file} is not a readable SQLite database (damaged, or another kind of file)`, {
      cause: error,
    });
  }
  return null;
}

/** What is wrong with reaching Redis at `url` (REDIS_URL), as one line, or null when it is something else. */
export function describeRedisError(error: unknown, url: string): string | null {
  const found = chain(error);
  let target: URL | null = null;
  try {
    target = new URL(url);
  } catch {
    // described without its parts
  }
  const host = target?.hostname || 'localhost';
  const port = target?.port || '6379';
  const shown = `(REDIS_URL=${redactUrl(url)})`;
  if (has(found, (f) => /WRONGPASS|invalid password|invalid username-password/i.test(f.message))) {
    return `Redis at ${host}:${port} refused the user or password in REDIS_URL ${shown}`;
  }
  if (has(found, (f) => /without any password configured/i.test(f.message))) {
    return `Redis at ${host}:${port} has no password set, but REDIS_URL gives one: remove it from the URL ${shown}`;
  }
  if (has(found, (f) => /NOAUTH/i.test(f.message))) {
    return `Redis at ${host}:${port} requires a password: put it in REDIS_URL (redis://:PASSWORD@host:port) ${shown}`;
  }
  if (has(found, (f) => f.code === 'ENOTFOUND' || f.code === 'EAI_AGAIN')) {
    return `the host "${host}" of REDIS_URL was not found (no DNS address) ${shown}`;
  }
  if (has(found, (f) => f.code === 'ECONNREFUSED')) {
    return `nothing accepts connections at ${host}:${port}: is Redis running there? ${shown}`;
  }
  if (has(found, (f) => f.code === 'ECONNRESET' && url.startsWith('redis:'))) {
    return `Redis at ${host}:${port} closed the connection: if it expects TLS, use a rediss:// URL ${shown}`;
  }
  if (
    has(
      found,
      (f) =>
        (f.code !== undefined && SOCKET_UNREACHABLE.has(f.code)) || /connect ETIMEDOUT|timed? ?out/i.test(f.message),
    )
  ) {
    return `no answer from Redis at ${host}:${port} in time ${shown}`;
  }
  return null;
}
