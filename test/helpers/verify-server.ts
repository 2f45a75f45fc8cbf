// A real node:http server (src/http/server.ts) on a test app, in this process: with POST /v1/verify
// wired as in `keygate serve` and small clients for both faces of verification, or in front of a new
// app with rate limits of its own.
import { createApp } from '../../src/app.ts';
import type { TokenVerifier } from '../../src/auth/verifier.ts';
import { createHttpServer } from '../../src/http/server.ts';
import type { RateLimits } from '../../src/limits/rate-limit.ts';
import { createLogger } from '../../src/logger.ts';
import { verifyHandler } from '../../src/verification/http.ts';
import { createVerifier } from '../../src/verification/verifier-tokens.ts';
import type { TestApp } from './app.ts';
import { type Listening, listenOnFreePort } from './ports.ts';

/** A 200 answer (a Verification) or an error answer ({error}); tests read what they expect. */
export interface VerifyAnswer {
  valid: boolean;
  code: string;
  scopes: string[];
  tokenExpiresAt: string | null;
  apiKey: Record<string, unknown> | null;
  rateLimit: { limit: number; remaining: number; resetAt: string } | null;
  error: { code: string; message: string };
}

export interface VerifyServer {
  url: string;
  /** POST /v1/verify with `auth` as the bearer token (none when null). */
  post(auth: string | null, body: unknown, init?: { raw?: string }): Promise<{ status: number; body: VerifyAnswer }>;
  close(): Promise<void>;
}

export async function startVerifyServer(t: TestApp): Promise<VerifyServer> {
  const server = createHttpServer(t.app, t.verifier, () => {}, {
    rateLimits: t.rateLimits,
    verifierTokens: t.verifierTokens,
    verify: verifyHandler({ engine: t.verification, verifierTokens: t.verifierTokens, rateLimits: t.rateLimits }),
  });
  const { url, close } = await listenOnFreePort(server);
  return {
    url,
    async post(auth, body, init = {}) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (auth !== null) headers.authorization = `Bearer ${auth}`;
      const response = await fetch(`${url}/v1/verify`, {
        method: 'POST',
        headers,
        body: init.raw ?? JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as VerifyAnswer };
    },
    close,
  };
}

export interface HttpServerOptions {
  rateLimits: RateLimits;
  verifier: TokenVerifier;
  /** The app's GraphQL abuse limits (DEFAULT_LIMITS when not given). */
  limits?: Parameters<typeof createApp>[0]['config']['limits'];
  /** The trusted header that names the client's address (none when not given). */
  clientAddressHeader?: string;
}

/**
 * A node:http server in front of a new app on the test app's database, with its own rate limits and
 * verifier, as `keygate serve` wires them. Closing it closes the rate limits too.
 */
export async function startHttpServer(t: TestApp, options: HttpServerOptions): Promise<Listening> {
  const { rateLimits, verifier, clientAddressHeader } = options;
  const app = createApp({
    domain: t.domain,
    database: t.db.database,
    config: {
      corsOrigins: [],
      production: false,
      ...(options.limits ? { limits: options.limits } : {}),
      ...(clientAddressHeader ? { rateLimits: { clientAddressHeader } } : {}),
    },
    logger: createLogger('silent'),
    verifier,
    rateLimits,
  });
  const server = createHttpServer(app, verifier, () => {}, {
    rateLimits,
    ...(clientAddressHeader ? { clientAddressHeader } : {}),
  });
  const listening = await listenOnFreePort(server);
  return {
    ...listening,
    async close() {
      await listening.close();
      await rateLimits.close();
    },
  };
}

/** A verifier token made as `keygate verifier create` makes it (bound to `organizationId` if given). */
export async function verifierToken(t: TestApp, organizationId: string | null = null): Promise<string> {
  const { token } = await createVerifier(t.domain.db, { name: 'test service', organizationId }, t.clock.now());
  return token;
}

export const VERIFY = `mutation($input: VerifyApiKeyInput!) { verifyApiKey(input: $input) {
  valid code scopes tokenExpiresAt
  apiKey { id name organizationId roleNames teamIds teamRoleNames expiresAt }
  rateLimit { limit remaining resetAt }
} }`;
