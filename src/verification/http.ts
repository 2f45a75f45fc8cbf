// POST /v1/verify: the verification engine over plain HTTP, for services that speak no GraphQL and for
// the fastest path (docs/api.md, Verification). The verdict about the customer's token is always in
// the 200 body; the status only says whether the verifier's own request was good: 401 for a missing or
// bad verifier token (counted per client address like a bad API key), 400 for a body that is not the
// expected JSON, 503 while the database is unreachable. The verifier token goes through the one
// authentication pipeline (src/auth/authenticate.ts), which takes only verifier tokens here; refusals
// are answered by src/http/responses.ts.
import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Authentication, Authenticator, isRefusal } from '../auth/authenticate.ts';
import { isDatabaseUnavailable } from '../errors.ts';
import { API_HEADERS, ErrorAnswers, JSON_CONTENT_TYPE, NOT_UTF8_MESSAGE } from '../http/responses.ts';
import { clientAddress, nodeHeaders } from '../limits/client-address.ts';
import type { RateLimits } from '../limits/rate-limit.ts';
import type { VerificationEngine, VerifyRequest } from './engine.ts';
import { verificationJson } from './json.ts';
import type { VerifierRecord, VerifierTokens } from './verifier-tokens.ts';

export const VERIFY_PATH = '/v1/verify';
const MAX_BODY_BYTES = 16 * 1_024;

export interface VerifyHttpOptions {
  engine: VerificationEngine;
  verifierTokens: VerifierTokens;
  rateLimits: RateLimits;
  clientAddressHeader?: string | undefined;
  /** Logs an unexpected failure; the client sees only its id. */
  onError?: (error: unknown, errorId: string) => void;
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'content-type': JSON_CONTENT_TYPE,
    'content-length': Buffer.byteLength(body),
    ...API_HEADERS,
    ...headers,
  });
  res.end(body);
}

/** A 200 answer, its headers written out (no spread): the hot path of verification. */
function sendVerdict(res: ServerResponse, body: string): void {
  res.writeHead(200, {
    'content-type': JSON_CONTENT_TYPE,
    'content-length': Buffer.byteLength(body),
    'x-content-type-options': API_HEADERS['x-content-type-options'],
    'referrer-policy': API_HEADERS['referrer-policy'],
    'cache-control': API_HEADERS['cache-control'],
  });
  res.end(body);
}

const ANSWERS = new ErrorAnswers(
  'http',
  'Authentication required: send a verifier token as "Authorization: Bearer <token>" (made by `keygate verifier create`).',
);

/** A body that is no verification request: 400, or the status given (413 for one too large). */
class BadBody extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** The body as a verification request, or BadBody naming what is wrong. */
export function parseVerifyBody(text: string): VerifyRequest {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new BadBody('The body must be JSON: {"token": "...", "requiredScopes": [...], "teamId": "..."}.');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new BadBody('The body must be a JSON object with a "token" string.');
  }
  const { token, requiredScopes, teamId, ...rest } = body as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0)
    throw new BadBody(`Unknown field ${JSON.stringify(unknown[0])}; expected token, requiredScopes, teamId.`);
  if (typeof token !== 'string') throw new BadBody('"token" must be a string.');
  if (
    requiredScopes !== undefined &&
    requiredScopes !== null &&
    !(Array.isArray(requiredScopes) && requiredScopes.every((scope) => typeof scope === 'string'))
  ) {
    throw new BadBody('"requiredScopes" must be an array of strings.');
  }
  if (teamId !== undefined && teamId !== null && typeof teamId !== 'string') {
    throw new BadBody('"teamId" must be a string.');
  }
  return { token, requiredScopes: (requiredScopes as string[] | null | undefined) ?? [], teamId: teamId ?? null };
}

/** Reads the body (at most MAX_BODY_BYTES) and calls `done` with its text, or with what went wrong. */
function readBody(req: IncomingMessage, done: (failure: Error | null, text: string) => void): void {
  let first: Buffer | null = null;
  let rest: Buffer[] | null = null;
  let size = 0;
  let failed = false;
  req.on('data', (chunk: Buffer) => {
    if (failed) return;
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      failed = true;
      done(new BadBody(`The body is larger than ${MAX_BODY_BYTES} bytes.`, 413), '');
      return;
    }
    if (first === null) first = chunk;
    else if (rest === null) rest = [first, chunk];
    else rest.push(chunk);
  });
  req.on('end', () => {
    if (failed) return;
    const body: Buffer | null = rest ? Buffer.concat(rest) : first;
    // Decoded as it came, bytes that are not UTF-8 would become U+FFFD (JSON text is UTF-8: RFC 8259).
    if (body !== null && !isUtf8(body)) done(new BadBody(NOT_UTF8_MESSAGE), '');
    else done(null, body?.toString() ?? '');
  });
  req.on('error', (failure) => {
    if (failed) return;
    failed = true;
    done(failure, '');
  });
}

export function verifyHandler(options: VerifyHttpOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { engine } = options;
  // Verifier tokens only: an API key's token is refused here like a malformed one, without a lookup.
  const authenticator = new Authenticator({ verifierTokens: options.verifierTokens, rateLimits: options.rateLimits });
  const addressOf = (req: IncomingMessage) =>
    clientAddress(nodeHeaders(req.headers), req.socket.remoteAddress, options.clientAddressHeader);

  function fail(res: ServerResponse, failure: unknown): void {
    if (res.headersSent) return;
    if (failure instanceof BadBody) {
      send(res, failure.status, ANSWERS.body('BAD_USER_INPUT', failure.message));
    } else if (isDatabaseUnavailable(failure)) {
      ANSWERS.write(res, undefined, { refused: true, kind: 'unavailable', error: failure });
    } else {
      const errorId = randomUUID();
      options.onError?.(failure, errorId);
      ANSWERS.write(res, undefined, { refused: true, kind: 'failed', error: failure, errorId });
    }
  }

  /** The verdict for a verifier whose request body has arrived: at once when the engine knows it. */
  function answer(res: ServerResponse, verifier: VerifierRecord, text: string): void {
    const request = parseVerifyBody(text);
    const now = engine.verifyNow(verifier, request);
    if (now) {
      sendVerdict(res, verificationJson(now));
      return;
    }
    engine.verify(verifier, request).then(
      (verification) => sendVerdict(res, verificationJson(verification)),
      (failure: unknown) => fail(res, failure),
    );
  }

  function readAndAnswer(req: IncomingMessage, res: ServerResponse, verifier: VerifierRecord): void {
    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
      req.resume(); // discard the body
      fail(res, new BadBody('Unsupported Content-Encoding: send the JSON body uncompressed ("identity").', 415));
      return;
    }
    readBody(req, (failure, text) => {
      if (failure) {
        fail(res, failure);
        return;
      }
      try {
        answer(res, verifier, text);
      } catch (thrown) {
        fail(res, thrown);
      }
    });
  }

  function settle(req: IncomingMessage, res: ServerResponse, outcome: Authentication): void {
    if (!isRefusal(outcome)) {
      if (outcome.kind === 'verifier') readAndAnswer(req, res, outcome.verifier);
      return;
    }
    req.resume(); // discard the body
    if (outcome.kind === 'failed') options.onError?.(outcome.error, outcome.errorId);
    ANSWERS.write(res, undefined, outcome);
  }

  return (req, res) => {
    if (req.method !== 'POST') {
      req.resume();
      send(res, 405, ANSWERS.body('BAD_USER_INPUT', `Use POST ${VERIFY_PATH} with a JSON body.`), { allow: 'POST' });
      return;
    }
    // A verifier token cached as good needs no lookup and no count (verifier tokens have no per-key
    // limit): settled synchronously, like a refused one while the failed-authentication limit is off.
    const outcome = authenticator.authenticate(req.headers.authorization, req, addressOf);
    if (outcome instanceof Promise) outcome.then((settled) => settle(req, res, settled));
    else settle(req, res, outcome);
  };
}
