// How errors leave the GraphQL layer: domain errors keep their code and message; errors the client
// caused (parse, validation, variable coercion) become BAD_USER_INPUT; database outages become
// SERVICE_UNAVAILABLE; anything else is masked and logged with an error id that the client also sees.
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { errorChain } from './db/error-chain.ts';
import { KeygateError } from './domain/errors.ts';
import { scrubSecrets } from './logger.ts';

// What a database outage looks like by the time it reaches us, found by experiment with Prisma 7 and
// both adapters (test/api/faults.test.ts): Prisma's own codes; the driver error the adapter saw (under
// meta.driverAdapterError: its kind, SQLSTATE or SQLite code); or the raw node-postgres / socket error
// when the token lookup talks to the pool directly, some of which carry no code at all.
const UNAVAILABLE_PRISMA_CODES = new Set([
  'P1001', // can't reach the database server (connection refused, host not found)
  'P1002', // the database server was reached but timed out
  'P1003', // the database does not exist (dropped under us)
  'P1008', // operations timed out (SQLite: still busy after the busy timeout)
  'P1017', // the server closed the connection
  'P2024', // timed out fetching a connection from the pool
  'P2034', // write conflict or deadlock: the transaction may be retried
]);

const UNAVAILABLE_ADAPTER_KINDS = new Set([
  'DatabaseNotReachable',
  'DatabaseDoesNotExist',
  'ConnectionClosed',
  'SocketTimeout', // PostgreSQL socket timeout; SQLite SQLITE_BUSY after the busy timeout
  'TooManyConnections',
  'TransactionWriteConflict',
]);

const UNAVAILABLE_SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

// node-postgres raises these without a code.
const UNAVAILABLE_DRIVER_MESSAGES =
  /^(Connection terminated( unexpectedly| due to connection timeout)?|timeout exceeded when trying to connect|Client has encountered a connection error and is not queryable|Client was closed and is not queryable|Cannot use a pool after calling end on the pool|The database connection is not open|Query read timeout)$/;

/**
 * PostgreSQL SQLSTATEs: 08 connection exception, 53 insufficient resources (too many connections,
 * disk full, out of memory), 57P operator intervention (terminated, shutting down, starting up,
 * database dropped), 3D000 no such database, 40001/40P01 serialization failure and deadlock (retry).
 * 55000 is "object not in prerequisite state"; as a FATAL it is a database that refuses connections.
 * 55P03 (lock_timeout) and 57014 (statement_timeout) are the server-side bounds of a request's waits.
 */
function isUnavailableSqlState(code: string, severity: unknown): boolean {
  if (severity === 'FATAL' || severity === 'PANIC') return true;
  return /^(08...|53...|57P0[1-5]|3D000|40001|40P01|55P03|57014)$/.test(code);
}

const UNAVAILABLE_SQLITE_CODES = /^SQLITE_(BUSY|LOCKED|CANTOPEN|IOERR|FULL|READONLY|PROTOCOL)/;

function isUnavailableNode(node: Record<string, unknown>): boolean {
  const { code, originalCode, kind, severity, message } = node;
  if (typeof kind === 'string' && UNAVAILABLE_ADAPTER_KINDS.has(kind)) return true;
  for (const value of [code, originalCode]) {
    if (typeof value !== 'string') continue;
    if (UNAVAILABLE_PRISMA_CODES.has(value) || UNAVAILABLE_SOCKET_CODES.has(value)) return true;
    if (UNAVAILABLE_SQLITE_CODES.test(value)) return true;
    if (/^[0-9A-Z]{5}$/.test(value) && !/^P\d{4}$/.test(value) && isUnavailableSqlState(value, severity)) return true;
  }
  if (typeof message !== 'string') return false;
  // Prisma's transaction manager (P2028) gives up when the transaction cannot start in time (pool or
  // SQLite writer busy) or outlives its timeout; other P2028s are programming errors.
  if (code === 'P2028') return /in the given time|expired transaction/.test(message);
  return UNAVAILABLE_DRIVER_MESSAGES.test(message);
}

/** True when an error means the database cannot serve the request now (answer 503, not 500). */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (const node of errorChain(error)) if (isUnavailableNode(node)) return true;
  return false;
}

/** The headers beyond the API's of every 401: the node:http layer's (src/http/responses.ts) and a GraphQL error's. */
export const UNAUTHENTICATED_HEADERS: Readonly<Record<string, string>> = { 'www-authenticate': 'Bearer' };

/** The codes docs/api.md lets a client see. */
export const API_ERROR_CODES = new Set([
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'BAD_USER_INPUT',
  'RATE_LIMITED',
  'SERVICE_UNAVAILABLE',
  'INTERNAL_SERVER_ERROR',
]);

// Not `instanceof GraphQLError`: a test runner or bundler may load graphql twice, and an error made by
// one copy is then no instance of the other's class.
function isGraphQLError(error: unknown): error is GraphQLError {
  return error instanceof Error && error.name === 'GraphQLError' && 'extensions' in error;
}

/**
 * Turns whatever Yoga hands to maskError into what the client sees. `error` is usually a GraphQLError
 * whose originalError is what a resolver or scope threw.
 */
export function toClientError(error: unknown, errorId: string, log: (error: unknown) => void): GraphQLError {
  const wrapper = isGraphQLError(error) ? error : null;
  return withLocationsOf(wrapper, clientError(wrapper, error, errorId, log));
}

function clientError(
  wrapper: GraphQLError | null,
  error: unknown,
  errorId: string,
  log: (error: unknown) => void,
): GraphQLError {
  const original = wrapper ? wrapper.originalError : error;
  const at = { nodes: wrapper?.nodes, path: wrapper?.path };
  if (original instanceof KeygateError) {
    // UNAUTHENTICATED is HTTP 401 wherever it is found (docs/api.md), also inside a change's transaction
    // (a caller deleted, or its token rotated away, while the request was in flight).
    const extensions =
      original.code === 'UNAUTHENTICATED'
        ? { code: original.code, http: { status: 401, headers: UNAUTHENTICATED_HEADERS } }
        : { code: original.code };
    return new GraphQLError(original.message, { ...at, extensions });
  }
  if ((original as { name?: unknown } | undefined)?.name === 'ForbiddenError') {
    // scope-auth's own refusal (a scope that answered false instead of throwing a KeygateError).
    return new GraphQLError('Not allowed.', { ...at, extensions: { code: 'FORBIDDEN' } });
  }
  if (wrapper && (original == null || isGraphQLError(original))) {
    // Made by graphql or Yoga (parse, validation, variables, request shape): the client's input.
    // Their own codes (GRAPHQL_PARSE_FAILED, BAD_REQUEST, …) become BAD_USER_INPUT; the HTTP status stays.
    const source = isGraphQLError(original) ? original : wrapper;
    const code = source.extensions?.code;
    return new GraphQLError(wrapper.message, {
      nodes: wrapper.nodes,
      source: wrapper.source,
      positions: wrapper.positions,
      path: wrapper.path,
      extensions: {
        ...(source.extensions ?? {}),
        code: typeof code === 'string' && API_ERROR_CODES.has(code) ? code : 'BAD_USER_INPUT',
      },
    });
  }
  if (isDatabaseUnavailable(original)) {
    log(original);
    return new GraphQLError('The database is unavailable; try again shortly.', {
      path: at.path,
      extensions: { code: 'SERVICE_UNAVAILABLE', errorId, http: { status: 503 } },
    });
  }
  log(original);
  return new GraphQLError(`Unexpected error; quote error id ${errorId} when reporting it.`, {
    path: at.path,
    // HTTP 500, as docs/api.md says: a client that reads only the status must not take it for success.
    extensions: { code: 'INTERNAL_SERVER_ERROR', errorId, http: { status: 500 } },
  });
}

/**
 * graphql-jit's errors carry their `locations` but no AST nodes to compute them from: the client error
 * gets the wrapper's locations when its own constructor could not work them out.
 */
function withLocationsOf(wrapper: GraphQLError | null, error: GraphQLError): GraphQLError {
  if (wrapper?.locations?.length && !error.locations) {
    (error as { locations: GraphQLError['locations'] }).locations = wrapper.locations;
  }
  return error;
}

type ResultLike = { errors?: readonly unknown[] };

function withApiCode(error: unknown): unknown {
  const { originalError, ...rest } = (error as { extensions?: Record<string, unknown> }).extensions ?? {};
  const code = rest.code;
  // graphql quotes a variable's value in its error ('Variable "$input" got invalid value { token:
  // "keygate_…" }'): a token the client sent is not sent back, where a client library may log it.
  const sent = (error as { message?: unknown }).message;
  const message = typeof sent === 'string' ? scrubSecrets(sent) : sent;
  if (typeof code === 'string' && API_ERROR_CODES.has(code) && originalError === undefined && message === sent) {
    return error;
  }
  // Yoga describes some request errors with their internal cause; the client gets the message only.
  const extensions = { ...rest, code: typeof code === 'string' && API_ERROR_CODES.has(code) ? code : 'BAD_USER_INPUT' };
  if (isGraphQLError(error)) {
    return new GraphQLError(message as string, {
      nodes: error.nodes,
      source: error.source,
      positions: error.positions,
      path: error.path,
      originalError: error.originalError,
      extensions,
    });
  }
  return { ...(error as object), ...(message === sent ? {} : { message }), extensions };
}

/**
 * Errors that never pass through maskError (parse and validation failures, malformed requests) still
 * reach the client with one of docs/api.md's codes: whatever else Yoga or graphql named them, they are the
 * client's input errors. Their HTTP status is left as it was.
 */
export function apiErrorCodesPlugin(): Plugin {
  const fix = (result: ResultLike) =>
    result.errors?.length ? { ...result, errors: result.errors.map(withApiCode) } : result;
  return {
    // Yoga reads a GET request's `variables` and `extensions` with a bare JSON.parse: its SyntaxError
    // would be masked as INTERNAL_SERVER_ERROR, yet it is the client's mistake. (Its message quotes the
    // input, so it is not passed on.)
    onRequestParse({ request, requestParser, setRequestParser }) {
      if (!requestParser || request.method !== 'GET') return;
      setRequestParser(async (request) => {
        try {
          return await requestParser(request);
        } catch (error) {
          if (!(error instanceof SyntaxError)) throw error;
          throw new GraphQLError('The request could not be read: its variables or extensions are not valid JSON.', {
            extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } },
          });
        }
      });
    },
    onResultProcess({ result, setResult }) {
      if (Array.isArray(result)) setResult(result.map(fix) as typeof result);
      else if (!(Symbol.asyncIterator in (result as object))) setResult(fix(result as ResultLike) as typeof result);
    },
  };
}
