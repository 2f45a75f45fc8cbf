// The answers of POST /v1/verify, as the schema's Verification type describes them (schema.graphql;
// test/e2e/client.test.ts holds the two equal). Times are RFC 3339 strings, as on the wire.

export type VerificationCode = 'VALID' | 'MALFORMED' | 'UNKNOWN' | 'EXPIRED' | 'RATE_LIMITED' | 'INSUFFICIENT_SCOPES';

export const VERIFICATION_CODES: readonly VerificationCode[] = [
  'VALID',
  'MALFORMED',
  'UNKNOWN',
  'EXPIRED',
  'RATE_LIMITED',
  'INSUFFICIENT_SCOPES',
];

export interface VerifiedApiKey {
  id: string;
  name: string;
  organizationId: string;
  roleNames: string[];
  teamIds: string[];
  teamRoleNames: string[];
  expiresAt: string | null;
}

export interface RateLimitState {
  limit: number;
  remaining: number;
  resetAt: string;
}

export interface Verification {
  /** True exactly when code is VALID. */
  valid: boolean;
  code: VerificationCode;
  /** null for MALFORMED and UNKNOWN. */
  apiKey: VerifiedApiKey | null;
  /** The key's scopes (in teamId when given); [] when apiKey is null. */
  scopes: string[];
  /** When this token stops working: the end of a rotation grace period, or expiresAt. */
  tokenExpiresAt: string | null;
  /** null for MALFORMED and UNKNOWN (and when budgets are off). */
  rateLimit: RateLimitState | null;
}

export interface VerifyOptions {
  /** The scopes this request needs; the answer is VALID only if the key holds all of them. */
  requiredScopes?: readonly string[];
  /** Judge the key's scopes in this team. */
  teamId?: string;
}
