// One JSON line per request (docs/observability.md, Access log), and the request's x-request-id on every
// response. Served through node:http, the request's record lives on its ServerResponse (a subclass with
// the fields, so the hot path neither allocates a record nor changes an object's shape) and the line is
// written when the response closes; served through app.fetch (no node:http), the Yoga plugin below
// keeps the record and writes the line. Either way the line carries what the Yoga plugin learnt:
// operation name, caller key id, outcome, and the cause of a masked server error.
import { type IncomingMessage, type OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { ExecutionArgs } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { API_ERROR_CODES } from '../errors.ts';
import type { DeadlineTracked, InFlight } from '../http/request-deadline.ts';
import { pathOf } from '../http/responses.ts';
import { clientAddress, nodeHeaders } from '../limits/client-address.ts';
import type { Logger } from '../logger.ts';
import { REQUEST_ID_HEADER, requestIdOf } from './request-id.ts';
import { signals } from './signals.ts';

/** What a request's log line and metrics need, filled in as the request goes. */
export interface RequestRecord {
  requestId: string;
  /** performance.now() at arrival. */
  startedAt: number;
  /** GraphQL operation name; '' before (or without) one, 'anonymous' when unnamed. */
  operation: string;
  keyId: string | null;
  /** The first error code of the answer, when it had one. */
  errorCode: string | null;
  /** A masked server error: the id the client saw and what really happened. */
  errorId: string | null;
  cause: unknown;
}

/** node:http's response with the request's record on it (createServer's ServerResponse option). */
export class ObservedResponse extends ServerResponse<IncomingMessage> implements RequestRecord, DeadlineTracked {
  requestId = '';
  startedAt = 0;
  operation = '';
  keyId: string | null = null;
  errorCode: string | null = null;
  errorId: string | null = null;
  cause: unknown = undefined;
  /** The request's entry in the deadline's list, let go of once answered (src/http/request-deadline.ts). */
  inFlight: InFlight | null = null;

  /**
   * Adds x-request-id to the headers writeHead is given (Yoga's, the fast path's own): a setHeader
   * beforehand would send every response down node's slower merging path (~0.5 µs a request).
   */
  override writeHead(statusCode: number, reasonOrHeaders?: unknown, headers?: unknown): this {
    if (this.inFlight) {
      this.inFlight.res = null;
      this.inFlight = null;
    }
    const given = typeof reasonOrHeaders === 'string' ? headers : reasonOrHeaders;
    if (this.requestId) {
      if (given && typeof given === 'object' && !Array.isArray(given) && Object.isExtensible(given)) {
        (given as Record<string, unknown>)[REQUEST_ID_HEADER] = this.requestId;
      } else if (!this.headersSent) this.setHeader(REQUEST_ID_HEADER, this.requestId);
    }
    return super.writeHead(statusCode, reasonOrHeaders as string, headers as OutgoingHttpHeaders);
  }
}

// Answers made before GraphQL (authentication, rate limits, probes) carry no result to read a code from.
const CODE_OF_STATUS: Record<number, string> = {
  401: 'UNAUTHENTICATED',
  429: 'RATE_LIMITED',
  503: 'SERVICE_UNAVAILABLE',
};

function outcomeOf(record: RequestRecord, status: number): string {
  if (record.errorCode) return record.errorCode;
  return status < 400 ? 'ok' : (CODE_OF_STATUS[status] ?? `http_${status}`);
}

export interface AccessLogOptions {
  /** Header a trusted proxy sets to the client address (see src/limits/client-address.ts). */
  clientAddressHeader?: string | undefined;
  /** The caller a request was authenticated as, from Yoga's server context (src/http/authentication.ts). */
  callerOf?: (serverContext: unknown) => { key: { id: string } } | undefined;
}

const INFO = 30;

/** What the line of a request needs beyond its record; read only when the line is written. */
interface Described {
  method: string | undefined;
  path: string;
  client: string;
  aborted: boolean;
}

/** Counts the finished request; writes its line when the level asks for it (`describe` is called then). */
function finish<T>(
  logger: Logger,
  record: RequestRecord,
  status: number,
  describe: (source: T) => Described,
  source: T,
): void {
  const ms = performance.now() - record.startedAt;
  const outcome = outcomeOf(record, status);
  signals.request(record.operation, outcome, ms / 1000);
  const failed = record.cause !== undefined || status >= 500;
  // Below info (LOG_LEVEL=warn): no line to build for a request that went well or was the client's fault.
  if (!failed && logger.levelVal > INFO) return;
  const { method, path, client, aborted } = describe(source);
  const line = {
    reqId: record.requestId,
    method,
    path,
    status,
    ms: Math.round(ms * 1000) / 1000,
    operation: record.operation || undefined,
    keyId: record.keyId ?? undefined,
    client,
    code: outcome === 'ok' ? undefined : outcome,
    aborted: aborted || undefined,
  };
  // Server errors (masked, or a 5xx) once at error level, with their cause; everything else at info.
  if (failed) {
    logger.error({ ...line, errorId: record.errorId ?? undefined, err: record.cause }, 'request failed');
  } else logger.info(line, 'request');
}

/**
 * Starts observing a node:http request: its id (returned in x-request-id), its start time, and the log
 * line and metrics when its response closes. Call first thing in the request handler.
 */
export function nodeAccessLog(logger: Logger, options: AccessLogOptions = {}) {
  const header = options.clientAddressHeader;
  const describe = (res: ObservedResponse): Described => {
    const req = res.req;
    return {
      method: req.method,
      path: pathOf(req.url),
      client: header
        ? clientAddress(nodeHeaders(req.headers), req.socket?.remoteAddress, header)
        : (req.socket?.remoteAddress ?? 'unknown'),
      aborted: !res.writableFinished,
    };
  };
  function closed(this: ObservedResponse) {
    finish(logger, this, this.statusCode, describe, this);
  }
  return (req: IncomingMessage, res: ObservedResponse): void => {
    res.startedAt = performance.now();
    res.requestId = requestIdOf(req.headers[REQUEST_ID_HEADER]);
    res.on('close', closed);
  };
}

// Causes of masked errors by error id, from maskError (which sees no request) to the request's
// record. Bounded: a cause no request claims is logged on its own when pushed out.
const causes = new Map<string, unknown>();
const MAX_CAUSES = 1_000;

/** Keeps what a masked error really was, for its request's log line (see src/app.ts maskedErrors). */
export function keepCause(errorId: string, cause: unknown, logger: Logger): void {
  if (causes.size >= MAX_CAUSES) {
    for (const [id, err] of causes) {
      causes.delete(id);
      logger.error({ err, errorId: id }, 'request failed');
      break;
    }
  }
  causes.set(errorId, cause);
}

type ResultLike = { errors?: ReadonlyArray<{ extensions?: Record<string, unknown> }> };

function noteResult(record: RequestRecord, result: ResultLike): void {
  const errors = result.errors;
  if (!errors?.length) return;
  const code = errors[0]?.extensions?.code;
  // Read before apiErrorCodesPlugin renames graphql's and Yoga's own codes: the same renaming.
  record.errorCode = typeof code === 'string' && API_ERROR_CODES.has(code) ? code : 'BAD_USER_INPUT';
  for (const error of errors) {
    const errorId = error.extensions?.errorId;
    if (typeof errorId === 'string' && causes.has(errorId)) {
      record.errorId = errorId;
      record.cause = causes.get(errorId);
      causes.delete(errorId);
    }
  }
}

/** The record of a request served through node:http (Yoga's server context holds its `res`). */
function observed(serverContext: unknown): ObservedResponse | undefined {
  const res = (serverContext as { res?: unknown } | undefined)?.res;
  return res instanceof ObservedResponse ? res : undefined;
}

/** The operation's name: the request's operationName, else the document's; 'anonymous' when unnamed. */
export function operationNameOf(args: ExecutionArgs): string {
  if (args.operationName) return args.operationName;
  for (const definition of args.document.definitions) {
    if (definition.kind === 'OperationDefinition') return definition.name?.value ?? 'anonymous';
  }
  return 'anonymous';
}

/**
 * The Yoga side: fills the record of a request served through node:http (its ObservedResponse), or
 * keeps its own record, sets x-request-id and writes the line for one served through app.fetch.
 */
export function accessLogPlugin(logger: Logger, options: AccessLogOptions = {}): Plugin {
  const describeFetched = (request: Request): Described => ({
    method: request.method,
    path: new URL(request.url).pathname,
    client: clientAddress(request.headers, undefined, options.clientAddressHeader),
    aborted: false,
  });
  const fetched = new WeakMap<Request, RequestRecord>();
  const recordOf = (serverContext: unknown, request: Request) => observed(serverContext) ?? fetched.get(request);
  return {
    onRequest({ request, serverContext }) {
      if (observed(serverContext)) return;
      fetched.set(request, {
        requestId: requestIdOf(request.headers.get(REQUEST_ID_HEADER)),
        startedAt: performance.now(),
        operation: '',
        keyId: null,
        errorCode: null,
        errorId: null,
        cause: undefined,
      });
    },
    onExecute({ args }) {
      const record = recordOf(args.contextValue, (args.contextValue as { request: Request }).request);
      if (record) record.operation = operationNameOf(args);
    },
    onResultProcess({ request, result, serverContext }) {
      const record = recordOf(serverContext, request);
      if (!record) return;
      if (record.keyId === null) {
        record.keyId = options.callerOf?.(serverContext)?.key.id ?? null;
      }
      if (Array.isArray(result)) for (const one of result) noteResult(record, one as ResultLike);
      else noteResult(record, result as ResultLike);
    },
    onResponse({ request, response, serverContext }) {
      if (observed(serverContext)) return;
      const record = fetched.get(request);
      if (!record) return;
      response.headers.set(REQUEST_ID_HEADER, record.requestId);
      finish(logger, record, response.status, describeFetched, request);
    },
  };
}
