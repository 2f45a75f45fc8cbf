// Verification (docs/rules.md, Verification): one engine behind verifyApiKey and POST /v1/verify.
// hash → the token cache shared with authentication (src/auth/verifier.ts, which drops a key's
// entries the moment it changes, here and through PostgreSQL LISTEN/NOTIFY) → at most one lookup →
// the checks in their order → one result. Nothing here knows GraphQL or HTTP.
import type { LastUsedRecorder } from '../auth/last-used.ts';
import type { TokenVerifier } from '../auth/verifier.ts';
import { isWellFormedToken } from '../domain/tokens.ts';
import type { Caller } from '../domain/types.ts';
import { signals, type VerificationVerdict } from '../observability/signals.ts';
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

/** A token's key and deadline as the token cache resolved it (src/auth/verifier.ts). */
type Resolved = Awaited<ReturnType<TokenVerifier['resolve']>>;

/** Another organization's key does not exist for a bound verifier. */
const outside = (verifier: VerifierRecord, found: NonNullable<Resolved>) =>
  verifier.organizationId !== null && found.caller.key.organizationId !== verifier.organizationId;

/** The metric's label of each verdict (keygate_verifications_total{verdict}). */
const VERDICT_LABELS: Record<VerificationCode, VerificationVerdict> = {
  VALID: 'valid',
  MALFORMED: 'malformed',
  UNKNOWN: 'unknown',
  EXPIRED: 'expired',
  RATE_LIMITED: 'rate_limited',
  INSUFFICIENT_SCOPES: 'insufficient_scopes',
};

export class VerificationEngine {
  readonly #options: EngineOptions;
  /** Scope lists by their Set (Access objects are shared by keys with the same grants). */
  readonly #scopeLists = new WeakMap<ReadonlySet<string>, readonly string[]>();
  /** What a verdict says about a key, by its record (records are replaced, never changed). */
  readonly #described = new WeakMap<object, VerifiedApiKey>();

  constructor(options: EngineOptions) {
    this.#options = options;
  }

  async verify(verifier: VerifierRecord, request: VerifyRequest): Promise<Verification> {
    const now = this.#options.now();
    const known = this.#known(request.token, now);
    if (known === 'malformed') return this.#counted(MALFORMED);
    const found = known === undefined ? await this.#options.tokens.resolve(request.token, now.getTime(), true) : known;
    if (!found || outside(verifier, found)) return this.#counted(UNKNOWN);
    const budget = this.#options.budget;
    const expired = found.deadline !== null && found.deadline <= now.getTime();
    const rateLimit = expired ? await budget.peek(found.caller.key.id) : await budget.take(found.caller.key.id);
    return this.#judge(request, found, now, expired, rateLimit);
  }

  /**
   * The same verdict as `verify`, when it can be given without waiting: the token is malformed, or its
   * answer is in the token cache, and there is no budget to count (KEYGATE_VERIFY_RATE_LIMIT_PER_KEY=0).
   * Undefined when only `verify` can tell. POST /v1/verify answers from here without a promise.
   */
  verifyNow(verifier: VerifierRecord, request: VerifyRequest): Verification | undefined {
    // With a budget, `verify` answers (once: the token cache counts each of its answers as a hit).
    if (this.#options.budget.active) return undefined;
    const now = this.#options.now();
    const known = this.#known(request.token, now);
    if (known === 'malformed') return this.#counted(MALFORMED);
    if (known === undefined) return undefined;
    if (known === null || outside(verifier, known)) return this.#counted(UNKNOWN);
    const expired = known.deadline !== null && known.deadline <= now.getTime();
    return this.#judge(request, known, now, expired, null);
  }

  /** MALFORMED, what the token cache knows (null: unknown), or undefined when a lookup must tell. */
  #known(token: string, now: Date): 'malformed' | Resolved | undefined {
    if (!isWellFormedToken(token)) return 'malformed';
    return this.#options.tokens.resolveKnown(token, now.getTime());
  }

  /** The checks in their order (docs/rules.md, Verification), after the key was found. */
  #judge(
    request: VerifyRequest,
    found: NonNullable<Resolved>,
    now: Date,
    expired: boolean,
    taken: { allowed: boolean; state: RateLimitState } | RateLimitState | null,
  ): Verification {
    const { caller, deadline } = found;
    const key = caller.key;
    const scopeSet = request.teamId ? caller.access.scopesInTeam(request.teamId) : caller.access.accountScopes;
    const apiKey = this.#describe(key);
    const scopes = this.#listOf(scopeSet);
    const tokenExpiresAt = deadline === null ? null : new Date(deadline);
    if (expired) {
      const rateLimit = taken as RateLimitState | null;
      return this.#counted({ valid: false, code: 'EXPIRED', apiKey, scopes, tokenExpiresAt, rateLimit });
    }
    const take = taken as { allowed: boolean; state: RateLimitState } | null;
    const rateLimit = take?.state ?? null;
    if (take && !take.allowed) {
      return this.#counted({ valid: false, code: 'RATE_LIMITED', apiKey, scopes, tokenExpiresAt, rateLimit });
    }
    for (const scope of request.requiredScopes ?? []) {
      if (!scopeSet.has(scope)) {
        return this.#counted({ valid: false, code: 'INSUFFICIENT_SCOPES', apiKey, scopes, tokenExpiresAt, rateLimit });
      }
    }
    this.#options.lastUsed?.record(key.id, now);
    return this.#counted({ valid: true, code: 'VALID', apiKey, scopes, tokenExpiresAt, rateLimit });
  }

  /** Every verdict is counted once (keygate_verifications_total{verdict}). */
  #counted(verification: Verification): Verification {
    signals.verification(VERDICT_LABELS[verification.code]);
    return verification;
  }

  #describe(key: Caller['key']): VerifiedApiKey {
    let apiKey = this.#described.get(key);
    if (!apiKey) {
      apiKey = {
        id: key.id,
        name: key.name,
        organizationId: key.organizationId,
        roleNames: key.grants.roleNames,
        teamIds: key.grants.teamIds,
        teamRoleNames: key.grants.teamRoleNames,
        expiresAt: key.expiresAt,
      };
      this.#described.set(key, apiKey);
    }
    return apiKey;
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
