// Middlewares protecting a service's routes with Keygate: one for Node's http / Express-style
// handlers ((req, res, next)), one for Fetch-API handlers (Request → Response). Both read the bearer
// token, verify it, and either hand the verified key to the handler or answer with a JSON error:
// 401 (no token, MALFORMED, UNKNOWN, EXPIRED), 403 (INSUFFICIENT_SCOPES), 429 (RATE_LIMITED, with
// Retry-After), 503 (Keygate unreachable: fail closed).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Verification, VerifiedApiKey, VerifyOptions } from './types.ts';
import { KeygateUnavailableError, type KeygateVerifier } from './verifier.ts';

export interface ProtectOptions<R> {
  requiredScopes?: readonly string[];
  /** The team to judge scopes in, fixed or taken from the request. */
  teamId?: string | ((request: R) => string | undefined);
}

/** What the middlewares hand to the handler. */
export interface Verified {
  apiKey: VerifiedApiKey;
  verification: Verification;
}

interface Refusal {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const refusal = (status: number, code: string, message: string, headers: Record<string, string> = {}): Refusal => ({
  status,
  headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  body: JSON.stringify({ error: { code, message } }),
});

const MESSAGES: Record<string, string> = {
  MALFORMED: 'The API key is malformed.',
  UNKNOWN: 'The API key is not valid.',
  EXPIRED: 'The API key has expired.',
};

/** The answer to a request whose verification is not VALID. */
export function refusalFor(verification: Verification, requiredScopes: readonly string[] = []): Refusal {
  switch (verification.code) {
    case 'RATE_LIMITED': {
      const reset = verification.rateLimit ? Date.parse(verification.rateLimit.resetAt) : Date.now() + 60_000;
      const seconds = Math.max(1, Math.ceil((reset - Date.now()) / 1000));
      return refusal(429, 'RATE_LIMITED', `This API key has used up its requests; retry after ${seconds} seconds.`, {
        'retry-after': String(seconds),
      });
    }
    case 'INSUFFICIENT_SCOPES': {
      const missing = requiredScopes.filter((scope) => !verification.scopes.includes(scope));
      return refusal(403, 'INSUFFICIENT_SCOPES', `This API key lacks the scopes: ${missing.join(', ')}.`);
    }
    default:
      return refusal(401, verification.code, MESSAGES[verification.code] ?? 'The API key is not valid.', {
        'www-authenticate': 'Bearer',
      });
  }
}

const MISSING = refusal(401, 'UNAUTHENTICATED', 'Send an API key as "Authorization: Bearer <token>".', {
  'www-authenticate': 'Bearer',
});
const UNAVAILABLE = refusal(503, 'SERVICE_UNAVAILABLE', 'API keys cannot be checked right now; try again shortly.', {
  'retry-after': '1',
});

function bearer(header: string | null | undefined): string | null {
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match?.[1] ?? null;
}

/** Verifies the request's token: the verified key, or the answer to send instead. */
async function judge(
  verifier: KeygateVerifier,
  token: string | null,
  options: VerifyOptions,
): Promise<Verified | Refusal> {
  if (token === null) return MISSING;
  let verification: Verification;
  try {
    verification = await verifier.verify(token, options);
  } catch (error) {
    if (error instanceof KeygateUnavailableError) return UNAVAILABLE;
    throw error;
  }
  if (!verification.valid || !verification.apiKey) return refusalFor(verification, options.requiredScopes);
  return { apiKey: verification.apiKey, verification };
}

const teamOf = <R>(options: ProtectOptions<R>, request: R) =>
  typeof options.teamId === 'function' ? options.teamId(request) : options.teamId;

/** Node http / Express-style: on success sets `req.apiKey` and `req.verification` and calls next(). */
export function expressMiddleware<Req extends IncomingMessage>(
  verifier: KeygateVerifier,
  options: ProtectOptions<Req> = {},
): (req: Req & Partial<Verified>, res: ServerResponse, next: (error?: unknown) => void) => void {
  return (req, res, next) => {
    const verifyOptions: VerifyOptions = { requiredScopes: options.requiredScopes ?? [] };
    const teamId = teamOf(options, req);
    if (teamId) verifyOptions.teamId = teamId;
    judge(verifier, bearer(req.headers.authorization), verifyOptions).then((outcome) => {
      if ('status' in outcome) {
        res.writeHead(outcome.status, outcome.headers);
        res.end(outcome.body);
        return;
      }
      req.apiKey = outcome.apiKey;
      req.verification = outcome.verification;
      next();
    }, next);
  };
}

/** Fetch-API: wraps a handler that receives the request and the verified key. */
export function fetchMiddleware(
  verifier: KeygateVerifier,
  handler: (request: Request, verified: Verified) => Response | Promise<Response>,
  options: ProtectOptions<Request> = {},
): (request: Request) => Promise<Response> {
  return async (request) => {
    const verifyOptions: VerifyOptions = { requiredScopes: options.requiredScopes ?? [] };
    const teamId = teamOf(options, request);
    if (teamId) verifyOptions.teamId = teamId;
    const outcome = await judge(verifier, bearer(request.headers.get('authorization')), verifyOptions);
    if ('status' in outcome) return new Response(outcome.body, { status: outcome.status, headers: outcome.headers });
    return handler(request, outcome);
  };
}
