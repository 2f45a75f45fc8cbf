// Every error code of the API (docs/api.md, Errors) as a sentence a person can act on. The server's own
// message is kept where it says something specific (which grant, which value, which error id).
import { ApiError } from './api.ts';

export interface Problem {
  sentence: string;
  /** Worth offering a "Try again" button. */
  retry: boolean;
}

export function problemOf(error: unknown, doing: string): Problem {
  if (!(error instanceof ApiError)) {
    return { sentence: `Something went wrong while ${doing}: ${String(error)}`, retry: true };
  }
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
