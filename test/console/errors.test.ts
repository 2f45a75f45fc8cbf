// Every error code the API answers (docs/api.md, Errors) becomes a sentence that says what to do, and
// keeps the server's specifics (which grant, which value, when to retry, the error id).
import { describe, expect, it } from 'vitest';
import type { ApiErrorCode } from '../../src/http/responses.ts';
import { ApiError } from '../../web/console/api.ts';
import { problemOf } from '../../web/console/errors.ts';

const CODES: Record<ApiErrorCode, { message: string; says: RegExp; retry: boolean }> = {
  UNAUTHENTICATED: { message: 'Invalid or missing API key.', says: /sign in with a valid token/i, retry: false },
  FORBIDDEN: {
    message: 'The caller cannot grant role incident_editor.',
    says: /not allowed.*cannot grant role incident_editor/,
    retry: false,
  },
  NOT_FOUND: { message: 'API key not found.', says: /no longer exists.*Reload the list/, retry: false },
  BAD_USER_INPUT: {
    message: 'name must be 1 to 200 characters.',
    says: /correct the form: name must be/,
    retry: false,
  },
  RATE_LIMITED: { message: 'Rate limit exceeded.', says: /try again in 17 seconds/, retry: true },
  SERVICE_UNAVAILABLE: { message: 'The database is unavailable.', says: /Try again in a moment/, retry: true },
  INTERNAL_SERVER_ERROR: {
    message: 'Unexpected error; quote error id 1234 when reporting it.',
    says: /failed while creating the key.*error id 1234.*Try again/,
    retry: true,
  },
};

describe('the console turns every API error code into a sentence', () => {
  it.each(Object.entries(CODES))('%s', (code, { message, says, retry }) => {
    const problem = problemOf(
      new ApiError(message, code, code === 'RATE_LIMITED' ? 17 : undefined),
      'creating the key',
    );
    expect(problem.sentence).toMatch(says);
    expect(problem.retry).toBe(retry);
  });

  it('says so when the server cannot be reached', () => {
    expect(problemOf(new ApiError('x', 'NETWORK'), 'loading the keys').sentence).toMatch(/could not be reached/);
  });
});
