// A real node:http server (src/http/server.ts) on a test app, with POST /v1/verify wired as in
// `keygate serve`, and small clients for both faces of verification.
import type { AddressInfo } from 'node:net';
import { createHttpServer } from '../../src/http/server.ts';
import { verifyHandler } from '../../src/verification/http.ts';
import { createVerifier } from '../../src/verification/verifier-tokens.ts';
import type { TestApp } from './app.ts';

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
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
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
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
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
