// verifyApiKey: the GraphQL face of the verification engine (src/verification/engine.ts). Callers:
// verifier tokens only (scope `verifier`); the same verdicts as POST /v1/verify.
import type { RateLimitState } from '../verification/budget.ts';
import type { Verification, VerifiedApiKey } from '../verification/engine.ts';
import { builder } from './builder.ts';

const VerificationCode = builder.enumType('VerificationCode', {
  values: ['VALID', 'MALFORMED', 'UNKNOWN', 'EXPIRED', 'RATE_LIMITED', 'INSUFFICIENT_SCOPES'] as const,
});

const VerifyApiKeyInput = builder.inputType('VerifyApiKeyInput', {
  fields: (t) => ({
    token: t.string({ required: true }),
    requiredScopes: t.stringList({
      defaultValue: [],
      description:
        'The scopes the service needs for this request; the answer is valid only if the key holds all of them.',
    }),
    teamId: t.id({
      description:
        "Judge the key's scopes in this team (account scopes plus its team roles' scopes if it has the team).",
    }),
  }),
});

const VerifiedApiKeyRef = builder.objectRef<VerifiedApiKey>('VerifiedApiKey').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    organizationId: t.exposeID('organizationId'),
    roleNames: t.stringList({ resolve: (key) => key.roleNames }),
    teamIds: t.idList({ resolve: (key) => key.teamIds }),
    teamRoleNames: t.stringList({ resolve: (key) => key.teamRoleNames }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true }),
  }),
});

const RateLimitStateRef = builder.objectRef<RateLimitState>('RateLimitState').implement({
  description: "The key's verification budget in the current minute.",
  fields: (t) => ({
    limit: t.exposeInt('limit'),
    remaining: t.exposeInt('remaining'),
    resetAt: t.expose('resetAt', { type: 'DateTime' }),
  }),
});

const VerificationRef = builder.objectRef<Verification>('Verification').implement({
  fields: (t) => ({
    valid: t.exposeBoolean('valid', { description: 'True exactly when code is VALID.' }),
    code: t.field({ type: VerificationCode, resolve: (v) => v.code }),
    apiKey: t.field({
      type: VerifiedApiKeyRef,
      nullable: true,
      description: 'null for MALFORMED and UNKNOWN.',
      resolve: (v) => v.apiKey,
    }),
    scopes: t.stringList({
      description: "The key's scopes (in teamId when given); [] when apiKey is null.",
      resolve: (v) => v.scopes,
    }),
    tokenExpiresAt: t.expose('tokenExpiresAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When this token stops working: the end of a rotation grace period, or expiresAt.',
    }),
    rateLimit: t.field({
      type: RateLimitStateRef,
      nullable: true,
      description: 'null for MALFORMED and UNKNOWN.',
      resolve: (v) => v.rateLimit,
    }),
  }),
});

builder.mutationField('verifyApiKey', (t) =>
  t.field({
    description: "Checks a token presented to one of the platform's services. Callers: verifier tokens only.",
    type: VerificationRef,
    args: { input: t.arg({ type: VerifyApiKeyInput, required: true }) },
    authScopes: { verifier: true },
    resolve: (_root, { input }, { principal, verification }) => {
      // Scope-auth let only verifier tokens through.
      if (principal.kind !== 'verifier') throw new Error('verifyApiKey reached without a verifier token');
      // Answered at once when the token cache knows the token (no promise), else after its lookup.
      return verification.verifyNow(principal.verifier, input) ?? verification.verify(principal.verifier, input);
    },
  }),
);
