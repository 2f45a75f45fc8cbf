// Every error code of the API (docs/api.md, Errors) as a sentence a person can act on. The server's own
// message is kept where it says something specific (which grant, which value, which error id).
import type { CombinedError } from 'urql';

export interface Problem {
  sentence: string;
  /** Worth offering a "Try again" button. */
  retry: boolean;
}

/** What the API said, from what urql reports: its error code, message and when to retry. */
export interface ApiError {
  code: string;
  message: string;
  retryAfterSeconds?: number | undefined;
}

/**
 * The API's answer inside urql's CombinedError. Refusals before GraphQL runs (401, 429, 503) are GraphQL
 * responses too, so urql reads them into graphQLErrors with their extensions; a network error is either
 * no answer at all or one that is not GraphQL (a proxy's error page).
 */
export function apiErrorOf(error: CombinedError): ApiError {
  const [first] = error.graphQLErrors;
  const status = error.response instanceof Response ? error.response : undefined;
  if (first) {
    const retryAfter = Number(first.extensions.retryAfter ?? status?.headers.get('retry-after') ?? Number.NaN);
    return {
      code: typeof first.extensions.code === 'string' ? first.extensions.code : 'INTERNAL_SERVER_ERROR',
      message: first.message,
      retryAfterSeconds: Number.isFinite(retryAfter) ? retryAfter : undefined,
    };
  }
  if (status) {
    return {
      code: 'INTERNAL_SERVER_ERROR',
      message: `The server answered ${status.status} without a GraphQL response.`,
    };
  }
  return { code: 'NETWORK', message: 'The server could not be reached.' };
}

/** The sentence for `error`; `forbidden` replaces the one for FORBIDDEN where the view knows better. */
export function problemOf(combined: CombinedError, doing: string, forbidden?: string): Problem {
  const error = apiErrorOf(combined);
  if (error.code === 'FORBIDDEN' && forbidden) return { sentence: forbidden, retry: false };
  switch (error.code) {
    case 'UNAUTHENTICATED':
      return {
        sentence: `The token was refused (unknown, expired, rotated away or deleted). Sign out and sign in with a valid token.`,
        retry: false,
      };
    case 'FORBIDDEN':
      return { sentence: `This key is not allowed to do that: ${error.message}`, retry: false };
    case 'NOT_FOUND':
      return {
        sentence: `That key no longer exists, or this key may not see it. Reload the list.`,
        retry: false,
      };
    case 'BAD_USER_INPUT':
      return { sentence: `Please correct the form: ${error.message}`, retry: false };
    case 'RATE_LIMITED':
      return {
        sentence: `Too many requests for now; try again in ${error.retryAfterSeconds ?? 60} seconds.`,
        retry: true,
      };
    case 'SERVICE_UNAVAILABLE':
      return { sentence: 'Keygate cannot reach its database right now. Try again in a moment.', retry: true };
    case 'NETWORK':
      return { sentence: 'The server could not be reached. Check your connection and try again.', retry: true };
    default:
      return {
        sentence: `The server failed while ${doing}. ${error.message} Try again; if it persists, report it with the error id.`,
        retry: true,
      };
  }
}

/** The list's own refusal: a key that manages no keys. */
export const NOT_ALLOWED_TO_LIST =
  'This key is not allowed to list API keys: only a key holding api_keys_manage (for the account or for its teams) may manage keys. Sign in with a manager key.';
