// Domain errors carry the stable codes of docs/api.md; the GraphQL layer and the CLI translate them.
// Messages are written for a person and never contain a token, hash or connection string.
export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'BAD_USER_INPUT'
  | 'RATE_LIMITED'
  | 'SERVICE_UNAVAILABLE';

export class KeygateError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'KeygateError';
    this.code = code;
  }
}

export const badInput = (message: string) => new KeygateError('BAD_USER_INPUT', message);
export const forbidden = (message: string) => new KeygateError('FORBIDDEN', message);
export const notFound = (message: string) => new KeygateError('NOT_FOUND', message);

/** One message for every authentication failure: no hint of which check failed. */
export const unauthenticated = () =>
  new KeygateError(
    'UNAUTHENTICATED',
    'Authentication required: send a valid API key as "Authorization: Bearer <token>".',
  );

export const apiKeyNotFound = (id: string) => notFound(`API key "${id}" was not found.`);
