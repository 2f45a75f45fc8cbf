// Authentication comes first (docs/rules.md: "authentication, input validity, …"): every request to
// /graphql except the GraphiQL page and CORS preflights needs a valid token before its document is
// even parsed. The same answers are given by the node:http fast path (src/http/server.ts) and by the
// Yoga plugin below (which is what app.fetch exercises).
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Plugin } from 'graphql-yoga';
import { bearerToken } from '../auth/bearer.ts';
import type { LastUsedRecorder } from '../auth/last-used.ts';
import type { TokenVerifier } from '../auth/verifier.ts';
import { unauthenticated } from '../domain/errors.ts';
import type { Domain } from '../domain/types.ts';
import { isDatabaseUnavailable } from '../errors.ts';
import { clientAddress } from '../limits/client-address.ts';
import { RateLimits, rateLimitedBody } from '../limits/rate-limit.ts';
import { refusalOf, signals } from '../observability/signals.ts';
import { knownPrincipal, type Principal, principalOf } from '../verification/principal.ts';
import type { VerifierTokens } from '../verification/verifier-tokens.ts';
import { errorContentType, GRAPHQL_PATH, graphqlErrorBody, notFoundResponse } from './responses.ts';

/** GraphiQL (a browser GET asking for HTML) and preflights load without a token; nothing else does. */
export function needsToken(method: string | undefined, pathname: string, accept: string | null | undefined): boolean {
  if (pathname !== GRAPHQL_PATH) return false;
  if (method === 'OPTIONS') return false;
  return !(method === 'GET' && (accept ?? '').includes('text/html'));
}

export const UNAUTHENTICATED_BODY = graphqlErrorBody(unauthenticated().message, 'UNAUTHENTICATED');
export const UNAVAILABLE_BODY = graphqlErrorBody(
  'The database is unavailable; try again shortly.',
  'SERVICE_UNAVAILABLE',
);

export const UNAUTHENTICATED_HEADERS = { 'www-authenticate': 'Bearer' } as const;

const unauthenticatedResponse = (accept: string | null) =>
  new Response(UNAUTHENTICATED_BODY, {
    status: 401,
    headers: { 'content-type': errorContentType(accept), ...UNAUTHENTICATED_HEADERS },
  });

export interface AuthenticationOptions {
  domain: Domain;
  verifier: TokenVerifier;
  /** Verifier tokens (they may call verification only); refused like unknown tokens when not given. */
  verifierTokens?: VerifierTokens | undefined;
  lastUsed?: LastUsedRecorder | undefined;
  /** Callers the node:http layer already authenticated. */
  preAuthenticated?: WeakMap<IncomingMessage, Principal> | undefined;
  onLookupError?: (error: unknown) => void;
  /** Logs an unexpected failure while authenticating; the client sees only the error id. */
  onUnexpectedError?: (error: unknown, errorId: string) => void;
  /** Per-key and failed-authentication limits (src/limits/rate-limit.ts); none when not given. */
  rateLimits?: RateLimits | undefined;
  /** Header a trusted proxy sets to the client address (see src/limits/client-address.ts). */
  clientAddressHeader?: string | undefined;
}

/** Authenticates in Yoga's onRequest, before parsing; the context factory reads `callerOf`. */
export function authenticationPlugin(options: AuthenticationOptions): {
  plugin: Plugin<{ req?: IncomingMessage }>;
  callerOf(request: Request): Principal | undefined;
} {
  const callers = new WeakMap<Request, Principal>();
  const rateLimits = options.rateLimits ?? RateLimits.off();
  const verify = principalOf(options.verifier, options.verifierTokens);
  const admit = (request: Request, caller: Principal) => {
    callers.set(request, caller);
    if (caller.kind !== 'verifier') options.lastUsed?.record(caller.key.id, options.domain.now());
  };
  const plugin: Plugin<{ req?: IncomingMessage }> = {
    onRequest(payload) {
      const { request, serverContext, url } = payload;
      if (!needsToken(request.method, url.pathname, request.headers.get('accept'))) return;
      const req = (serverContext as { req?: IncomingMessage }).req;
      // Authenticated by the node:http layer already: settled synchronously.
      const authenticated = req ? options.preAuthenticated?.get(req) : undefined;
      if (authenticated) return admit(request, authenticated);
      return authenticate(payload, req);
    },
    // The last step before a body or query string is read: a request no plugin answered and no token
    // admitted goes no further. That is a look-alike path (/graphql/, //graphql, /x/graphql: Yoga's own
    // routing takes any URL ending in /graphql), or a /graphql request let through above for a page or
    // a preflight that nothing served. Nothing is parsed, and no token is looked up, for either. So any
    // other kind of caller (a verifier token, say) must be admitted through `admit` to reach the parser.
    onRequestParse({ request, url, endResponse }) {
      if (callers.has(request)) return;
      if (url.pathname !== GRAPHQL_PATH) return endResponse(notFoundResponse(url.pathname));
      endResponse(unauthenticatedResponse(request.headers.get('accept')));
    },
  };
  async function authenticate(
    { request, endResponse }: { request: Request; endResponse: (response: Response) => void },
    req: IncomingMessage | undefined,
  ): Promise<void> {
    const accept = request.headers.get('accept');
    let caller: Principal | undefined;
    let token: string | null = null;
    try {
      const address = clientAddress(request.headers, req?.socket?.remoteAddress, options.clientAddressHeader);
      token = bearerToken(request.headers.get('authorization'));
      const outcome = await rateLimits.authenticate(token, address, verify, (token) =>
        knownPrincipal(options.verifier, options.verifierTokens, token),
      );
      if (outcome.kind === 'rate-limited') {
        signals.authentication('rate_limited');
        endResponse(
          new Response(rateLimitedBody(outcome), {
            status: 429,
            headers: { 'content-type': errorContentType(accept), 'retry-after': String(outcome.retryAfterSeconds) },
          }),
        );
        return;
      }
      caller = outcome.kind === 'authenticated' ? outcome.caller : undefined;
    } catch (error) {
      if (isDatabaseUnavailable(error)) {
        options.onLookupError?.(error);
        endResponse(
          new Response(UNAVAILABLE_BODY, {
            status: 503,
            headers: { 'content-type': errorContentType(accept), 'retry-after': '1' },
          }),
        );
        return;
      }
      // Anything else is masked like an unexpected error during execution: an id, no details.
      const errorId = randomUUID();
      options.onUnexpectedError?.(error, errorId);
      endResponse(
        new Response(
          graphqlErrorBody(`Unexpected error; quote error id ${errorId} when reporting it.`, 'INTERNAL_SERVER_ERROR', {
            errorId,
          }),
          { status: 500, headers: { 'content-type': errorContentType(accept) } },
        ),
      );
      return;
    }
    signals.authentication(caller ? 'ok' : refusalOf(token));
    if (!caller) {
      endResponse(unauthenticatedResponse(accept));
      return;
    }
    admit(request, caller);
  }
  return { plugin, callerOf: (request) => callers.get(request) };
}
