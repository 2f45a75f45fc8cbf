// docs/rules.md "Expiry" as pure functions: the lifetime rule (no key hands out a longer life than its own)
// and when a token stops working (the earlier of its own expiry and its key's).
import { describe, expect, it } from 'vitest';
import { outlivesCaller, tokenDeadline } from '../../src/domain/access.ts';

const at = (iso: string) => new Date(iso);

describe('outlivesCaller', () => {
  it('a caller that never expires may hand out any life', () => {
    expect(outlivesCaller(null, null)).toBe(false);
    expect(outlivesCaller(null, at('2999-01-01T00:00:00Z'))).toBe(false);
  });

  it('a caller with an expiry may hand out no key without one, nor one expiring later', () => {
    const own = at('2030-06-01T00:00:00Z');
    expect(outlivesCaller(own, null)).toBe(true);
    expect(outlivesCaller(own, at('2030-06-01T00:00:00.001Z'))).toBe(true);
  });

  it('the same instant or earlier is within its life', () => {
    const own = at('2030-06-01T00:00:00Z');
    expect(outlivesCaller(own, at('2030-06-01T00:00:00Z'))).toBe(false);
    expect(outlivesCaller(own, at('2020-01-01T00:00:00Z'))).toBe(false);
  });
});

describe('tokenDeadline', () => {
  it('is the earlier of the token expiry and the key expiry, null when neither is set', () => {
    const early = at('2030-01-01T00:00:00Z');
    const late = at('2031-01-01T00:00:00Z');
    expect(tokenDeadline(null, null)).toBeNull();
    expect(tokenDeadline(early, null)).toBe(early.getTime());
    expect(tokenDeadline(null, late)).toBe(late.getTime());
    expect(tokenDeadline(early, late)).toBe(early.getTime());
    expect(tokenDeadline(late, early)).toBe(early.getTime());
  });
});
