// createApp → the Yoga instance (tests call app.fetch; main.ts hands it to node:http).
import { randomUUID } from 'node:crypto';
import { useGraphQlJit } from '@envelop/graphql-jit';
import { type ExecutionArgs, GraphQLError, getOperationAST, Kind } from 'graphql';
import { type CORSOptions, createYoga, type Plugin } from 'graphql-yoga';
import { Authenticator } from './auth/authenticate.ts';
import type { LastUsedRecorder } from './auth/last-used.ts';
import { createTokenLookup } from './auth/token-lookup.ts';
import { TokenVerifier } from './auth/verifier.ts';
import { type Config, DEFAULT_LIMITS, DEFAULT_RATE_LIMITS } from './config.ts';
import { type Context, createContext } from './context.ts';
import type { Database } from './db/client.ts';
import { bindDeadline } from './db/deadline.ts';
import { unauthenticated } from './domain/errors.ts';
import type { Domain } from './domain/types.ts';
import { apiErrorCodesPlugin, toClientError } from './errors.ts';
import { authenticationPlugin, type ServerContext } from './http/authentication.ts';
import { pagesFor } from './http/console.ts';
import { graphiqlPlugin } from './http/graphiql.ts';
import { malformedRequestStatus } from './http/malformed-request.ts';
import { deadlineOf } from './http/request-deadline.ts';
import { responseHeaders } from './http/response-headers.ts';
import { bodySizeLimit, graphqlLimits } from './limits/graphql-limits.ts';
import { RateLimits } from './limits/rate-limit.ts';
import type { Logger } from './logger.ts';
import { accessLogPlugin, keepCause } from './observability/access-log.ts';
import { signals } from './observability/signals.ts';
import { schema } from './schema/index.ts';
import { releaseRequestCaches } from './schema/request-caches.ts';
import { DEFAULT_VERIFY_PER_KEY, VerifyBudget } from './verification/budget.ts';
import { VerificationEngine } from './verification/engine.ts';
import { VerifierTokens } from './verification/verifier-tokens.ts';

export interface AppOptions {
  domain: Domain;
  database: Database;
  /** `limits` default to DEFAULT_LIMITS; `rateLimits.clientAddressHeader` to none. */
  config: Pick<Config, 'corsOrigins' | 'production'> & {
    limits?: Config['limits'];
    rateLimits?: Pick<Config['rateLimits'], 'clientAddressHeader'>;
  };
  logger: Logger;
  lastUsed?: LastUsedRecorder;
  /** Shared with the HTTP server; one is made from the database when not given. */
  verifier?: TokenVerifier;
  /** Shared with the HTTP server; one is made from the database when not given. */
  verifierTokens?: VerifierTokens;
  /** Shared with the HTTP server (POST /v1/verify); in-memory budgets with the default limit when not given. */
  verification?: VerificationEngine;
  /** Shared with the HTTP server; in-memory limits with the default numbers when not given. */
  rateLimits?: RateLimits;
  /** Extra plugins placed first (tracing: src/observability/tracing.ts). */
  plugins?: Plugin[];
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

/**
 * /healthz and /readyz answer before GraphQL is involved. Not Yoga's health and readiness plugins: they
 * match any URL ending in their path (`/x/readyz`, `/?next=/readyz`, which must be 404 here), answer
 * health with an empty body and an x-yoga-id header, and a failed check with the error's message as
 * text (a database error's message is no client's business).
 */
function probes(database: Database): Plugin {
  return {
    async onRequest({ url, endResponse }) {
      if (url.pathname === '/healthz') return endResponse(json(200, { status: 'ok' }));
      if (url.pathname === '/readyz') {
        try {
          await database.ping();
          return endResponse(json(200, { status: 'ready' }));
        } catch {
          return endResponse(json(503, { status: 'unavailable', reason: 'database is not answering' }));
        }
      }
    },
  };
}

/**
 * CORS_ORIGINS: a listed origin is answered, reflected with Vary: Origin (also when only one is listed: the
 * answer depends on the Origin header either way);
 * any other gets no CORS headers at all, never "null" (the origin of sandboxed frames and file: pages).
 * No credentials: tokens travel in Authorization, and Keygate sets no cookies.
 */
function corsFor(origins: readonly string[]): false | ((request: Request) => CORSOptions) {
  if (origins.length === 0) return false;
  const listed = new Set(origins);
  // No origin list in the options: the request's origin, already checked against the list below, is
  // reflected with Vary: Origin (a one-origin list would be sent as is, without Vary).
  const options: CORSOptions = {
    origin: [],
    credentials: false,
    allowedHeaders: ['authorization', 'content-type'],
    methods: ['GET', 'POST'],
  };
  return (request: Request) => (listed.has(request.headers.get('origin') ?? '') ? options : false);
}

/**
 * The mutations graphql-jit executes: those whose input has no field where absent and null differ (see
 * the plugin's comment below; test/api/absent-variables.test.ts holds each). updateApiKey runs on
 * graphql-js.
 */
const COMPILED_MUTATIONS: ReadonlySet<string> = new Set([
  'verifyApiKey',
  'createApiKey',
  'rotateApiKey',
  'deleteApiKey',
]);

/** Whether graphql-jit executes a request: queries, and the mutations of COMPILED_MUTATIONS. */
function compiled(args: ExecutionArgs): boolean {
  const operation = getOperationAST(args.document, args.operationName);
  if (operation?.operation === 'query') return true;
  const fields = operation?.selectionSet.selections;
  return (
    operation?.operation === 'mutation' &&
    fields?.length === 1 &&
    fields[0]?.kind === Kind.FIELD &&
    COMPILED_MUTATIONS.has(fields[0].name.value)
  );
}

export function createApp(options: AppOptions) {
  const { database, config, logger, lastUsed } = options;
  const verifier = options.verifier ?? new TokenVerifier(options.domain, createTokenLookup(database.raw));
  // Changes made through this app drop the changed key's cached tokens at once.
  const domain: Domain = {
    ...options.domain,
    onChange: (change) => {
      verifier.invalidateKey(change.apiKeyId);
      options.domain.onChange?.(change);
    },
  };
  const rateLimits = options.rateLimits ?? new RateLimits({ ...DEFAULT_RATE_LIMITS, now: domain.now });
  const verifierTokens = options.verifierTokens ?? new VerifierTokens(domain.db, domain.now);
  const verification =
    options.verification ??
    new VerificationEngine({
      tokens: verifier,
      budget: new VerifyBudget({ perKeyPerMinute: DEFAULT_VERIFY_PER_KEY, now: domain.now }),
      now: domain.now,
      lastUsed,
    });
  const authentication = authenticationPlugin({
    domain,
    authenticator: new Authenticator({ apiKeys: verifier, verifierTokens, rateLimits }),
    lastUsed,
    // Counted by the pipeline (keygate_database_unavailable_total); logged here.
    onLookupError: () => logger.warn('database unavailable during authentication'),
    onUnexpectedError: (err, errorId) => logger.error({ err, errorId }, 'authentication failed unexpectedly'),
    clientAddressHeader: config.rateLimits?.clientAddressHeader,
  });
  const limits = config.limits ?? DEFAULT_LIMITS;
  return createYoga<ServerContext, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    healthCheckEndpoint: null as unknown as string,
    // GraphiQL and the console are static files served from memory by graphiqlPlugin below
    // (src/http/graphiql.ts, src/http/console.ts), never rendered per request.
    graphiql: false,
    cors: corsFor(config.corsOrigins),
    // Yoga logs at debug on every request: its arguments are only turned into text when that level is on.
    // Yoga's `error` is every error it hands to maskError (client mistakes included, parse errors
    // twice): debug too. What matters is logged once by the access log: a server error at error level
    // with its cause, a client error as the request's code (src/observability/access-log.ts).
    logging: {
      debug: (...args) => logger.isLevelEnabled('debug') && logger.debug(args.map(String).join(' ')),
      info: (...args) => logger.info(args.map(String).join(' ')),
      warn: (...args) => logger.warn(args.map(String).join(' ')),
      error: (...args) => logger.isLevelEnabled('debug') && logger.debug(args.map(String).join(' ')),
    },
    maskedErrors: {
      // Every masked error gets an id that is in the response and in the request's log line (with the
      // cause), never the details.
      maskError: (error) => {
        const errorId = randomUUID();
        const masked = toClientError(error, errorId, (original) => keepCause(errorId, original, logger));
        if (masked.extensions.code === 'SERVICE_UNAVAILABLE') signals.databaseUnavailable();
        return masked;
      },
    },
    // Stated although it is Yoga's default: one operation per request.
    batching: false,
    // Yoga's body limit pipes every body through a counting stream; bodySizeLimit (last plugin below)
    // enforces the same limit and skips the stream where node:http already bounds the body.
    maxRequestBodySize: false,
    plugins: [
      ...(options.plugins ?? []),
      accessLogPlugin(logger, {
        clientAddressHeader: config.rateLimits?.clientAddressHeader,
        // The access log names the API key of a request; a verifier token is no key.
        callerOf: (serverContext) => {
          const principal = (serverContext as ServerContext).principal;
          return principal?.kind === 'verifier' ? undefined : principal;
        },
      }),
      responseHeaders(),
      // HTTP 400 for a malformed request, whatever media type the client accepts.
      malformedRequestStatus(),
      graphiqlPlugin(pagesFor(schema)),
      probes(database),
      authentication,
      ...graphqlLimits(limits, { production: config.production, costBudget: rateLimits }),
      apiErrorCodesPlugin(),
      // Each distinct query is compiled once into a plain function (the parse cache keeps the
      // document, the compiled query is cached on it): execution costs a fraction of graphql-js's.
      // Queries, and the mutations but updateApiKey (see `compiled`): graphql-jit passes a declared but
      // absent variable inside an input object as null, where graphql-js leaves the field out, and for
      // updateApiKey's expiresAt absent means "unchanged" while null means "never expires". In the
      // other mutations' inputs absent and null mean the same (no grants, never expires, the default
      // grace period), and test/api/absent-variables.test.ts holds each. Compiled, a creation costs
      // about 5% less CPU. Subscriptions (none) are graphql-js's to refuse.
      useGraphQlJit({}, { enableIf: compiled }),
      // Scope-auth's cache of the request is dropped once the result is ready (see request-caches.ts).
      releaseRequestCaches(),
      // Last: it wraps whichever request parser the plugins before it chose.
      bodySizeLimit(limits.maxBodyBytes),
    ],
    context: ({ principal: caller, req }) => {
      // The authentication plugin answered 401 already; this only guards against a wiring mistake.
      if (!caller) throw new GraphQLError(unauthenticated().message, { extensions: { code: 'UNAUTHENTICATED' } });
      // Served by the HTTP server: nothing of the request commits once it has been answered.
      const deadline = deadlineOf(req);
      return createContext(
        deadline ? { ...domain, db: bindDeadline(domain.db, deadline) } : domain,
        caller,
        verification,
      );
    },
  });
}

export type App = ReturnType<typeof createApp>;
