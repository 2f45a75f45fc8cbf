// The body of POST /v1/verify is built from parts serialized once (src/verification/json.ts): it must be
// exactly what JSON.stringify gives for every shape of verdict, and the parts must not go stale when a
// key's record is replaced.
import { describe, expect, it } from 'vitest';
import type { Verification, VerifiedApiKey } from '../../src/verification/engine.ts';
import { verificationJson } from '../../src/verification/json.ts';

const apiKey = (name: string, extra: Partial<VerifiedApiKey> = {}): VerifiedApiKey => ({
  id: '01HV0000000000000000000KEY',
  name,
  organizationId: '01HV0000000000000000000ORG',
  roleNames: ['viewer', 'api_keys_manage'],
  teamIds: ['01HV0000000000000000000AAA'],
  teamRoleNames: ['team_memberships_manage'],
  expiresAt: null,
  ...extra,
});

const nothing = (code: 'MALFORMED' | 'UNKNOWN'): Verification => ({
  valid: false,
  code,
  apiKey: null,
  scopes: [],
  tokenExpiresAt: null,
  rateLimit: null,
});

const scopes = ['api_keys.view', 'incidents.view'];
const rateLimit = { limit: 1_200, remaining: 7, resetAt: new Date('2026-12-06T00:01:00Z') };
const expiry = new Date('2027-01-01T12:00:00.123Z');

const verdicts: [string, Verification][] = [
  ['MALFORMED', nothing('MALFORMED')],
  ['UNKNOWN', nothing('UNKNOWN')],
  ['VALID', { valid: true, code: 'VALID', apiKey: apiKey('ci'), scopes, tokenExpiresAt: null, rateLimit: null }],
  [
    'VALID with budget and expiry',
    {
      valid: true,
      code: 'VALID',
      apiKey: apiKey('ci', { expiresAt: expiry }),
      scopes,
      tokenExpiresAt: expiry,
      rateLimit,
    },
  ],
  [
    'name with quotes, backslashes and non-ASCII',
    {
      valid: true,
      code: 'VALID',
      apiKey: apiKey('"dé\\ploy" ✓ 鍵'),
      scopes: [],
      tokenExpiresAt: null,
      rateLimit: null,
    },
  ],
  ['EXPIRED', { valid: false, code: 'EXPIRED', apiKey: apiKey('old'), scopes, tokenExpiresAt: expiry, rateLimit }],
  [
    'RATE_LIMITED',
    { valid: false, code: 'RATE_LIMITED', apiKey: apiKey('busy'), scopes, tokenExpiresAt: null, rateLimit },
  ],
  [
    'INSUFFICIENT_SCOPES',
    {
      valid: false,
      code: 'INSUFFICIENT_SCOPES',
      apiKey: apiKey('narrow'),
      scopes: [],
      tokenExpiresAt: null,
      rateLimit: null,
    },
  ],
];

describe('verificationJson', () => {
  it.each(verdicts)('%s is JSON.stringify of the verdict, twice in a row', (_name, verdict) => {
    expect(verificationJson(verdict)).toBe(JSON.stringify(verdict));
    expect(verificationJson(verdict)).toBe(JSON.stringify(verdict));
  });

  it('a replaced key record is serialized afresh', () => {
    const before: Verification = { ...(verdicts[2]?.[1] as Verification) };
    expect(verificationJson(before)).toContain('"name":"ci"');
    const after = { ...before, apiKey: apiKey('renamed') } as Verification;
    expect(verificationJson(after)).toBe(JSON.stringify(after));
    expect(verificationJson(after)).toContain('"name":"renamed"');
  });
});
