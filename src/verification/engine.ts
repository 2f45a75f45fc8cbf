// Verification (docs/rules.md, Verification): one engine behind verifyApiKey and POST /v1/verify.
// hash → the token cache shared with authentication (src/auth/verifier.ts, which drops a key's
// entries the moment it changes, here and through PostgreSQL LISTEN/NOTIFY) → at most one lookup →
// the checks in their order → one result. Nothing here knows GraphQL or HTTP.
import type { LastUsedRecorder } from '../auth/last-used.ts';
import type { TokenVerifier } from '../auth/verifier.ts';
import { isWellFormedToken } from '../domain/tokens.ts';
import type { RateLimitState, VerifyBudget } from './budget.ts';
import type { VerifierRecord } from './verifier-tokens.ts';

export type VerificationCode = 'VALID' | 'MALFORMED' | 'UNKNOWN' | 'EXPIRED' | 'RATE_LIMITED' | 'INSUFFICIENT_SCOPES';

export interface VerifiedApiKey {
  id: string;
  name: string;
  organizationId: string;
  roleNames: readonly string[];
  teamIds: readonly string[];
  teamRoleNames: readonly string[];
  expiresAt: Date | null;
}

export type Verification =
  | {
      valid: false;
      code: 'MALFORMED' | 'UNKNOWN';
      apiKey: null;
      scopes: readonly string[];
      tokenExpiresAt: null;
      rateLimit: null;
    }
  | {
      valid: boolean;
      code: 'VALID' | 'EXPIRED' | 'RATE_LIMITED' | 'INSUFFICIENT_SCOPES';
      apiKey: VerifiedApiKey;
      scopes: readonly string[];
      tokenExpiresAt: Date | null;
      rateLimit: RateLimitState | null;
    };

export interface VerifyRequest {
  token: string;
  requiredScopes?: readonly string[] | null;
  teamId?: string | null;
}

const NOTHING = (code: 'MALFORMED' | 'UNKNOWN'): Verification => ({
  valid: false,
  code,
  apiKey: null,
  scopes: [],
  tokenExpiresAt: null,
  rateLimit: null,
});
const MALFORMED = NOTHING('MALFORMED');
const UNKNOWN = NOTHING('UNKNOWN');

export interface EngineOptions {
  tokens: TokenVerifier;
  budget: VerifyBudget;
  now: () => Date;
  lastUsed?: LastUsedRecorder | undefined;
}

export class VerificationEngine {
  readonly #options: EngineOptions;
  /** Scope lists by their Set (Access objects are shared by keys with the same grants). */
  readonly #scopeLists = new WeakMap<ReadonlySet<string>, readonly string[]>();

  constructor(options: EngineOptions) {
    this.#options = options;
  }

  async verify(verifier: VerifierRecord, request: VerifyRequest): Promise<Verification> {
    const { token } = request;
    if (!isWellFormedToken(token)) return MALFORMED;
    const now = this.#options.now();
    const found = await this.#options.tokens.resolve(token, now.getTime());
    if (!found) return UNKNOWN;
    const { caller, deadline } = found;
    const key = caller.key;
    // Another organization's key does not exist for a bound verifier.
    if (verifier.organizationId !== null && key.organizationId !== verifier.organizationId) return UNKNOWN;

    const scopeSet = request.teamId ? caller.access.scopesInTeam(request.teamId) : caller.access.accountScopes;
    const apiKey: VerifiedApiKey = {
      id: key.id,
      name: key.name,
      organizationId: key.organizationId,
      roleNames: key.grants.roleNames,
      teamIds: key.grants.teamIds,
      teamRoleNames: key.grants.teamRoleNames,
      expiresAt: key.expiresAt,
    };
    const scopes = this.#listOf(scopeSet);
    const tokenExpiresAt = deadline === null ? null : new Date(deadline);
    if (deadline !== null && deadline <= now.getTime()) {
      const rateLimit = await this.#options.budget.peek(key.id);
      return { valid: false, code: 'EXPIRED', apiKey, scopes, tokenExpiresAt, rateLimit };
    }
    const taken = await this.#options.budget.take(key.id);
    const rateLimit = taken?.state ?? null;
    if (taken && !taken.allowed) {
      return { valid: false, code: 'RATE_LIMITED', apiKey, scopes, tokenExpiresAt, rateLimit };
    }
    for (const scope of request.requiredScopes ?? []) {
      if (!scopeSet.has(scope)) {
        return { valid: false, code: 'INSUFFICIENT_SCOPES', apiKey, scopes, tokenExpiresAt, rateLimit };
      }
    }
    this.#options.lastUsed?.record(key.id, now);
    return { valid: true, code: 'VALID', apiKey, scopes, tokenExpiresAt, rateLimit };
  }

  #listOf(set: ReadonlySet<string>): readonly string[] {
    let list = this.#scopeLists.get(set);
    if (!list) {
      list = [...set].sort();
      this.#scopeLists.set(set, list);
    }
    return list;
  }
}
