// How errors leave the GraphQL layer: domain errors keep their code and message; errors the client
// caused (parse, validation, variable coercion) become BAD_USER_INPUT; database outages become
// SERVICE_UNAVAILABLE; anything else is masked and logged with an error id that the client also sees.
import { GraphQLError } from 'graphql';
import { KeygateError } from './domain/errors.ts';

export function isDatabaseUnavailable(error: unknown): boolean {
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current && typeof current === 'object' && !seen.has(current)) {
    seen.add(current);
    const { code, name, message } = current as { code?: unknown; name?: unknown; message?: unknown };
    if (
      typeof code === 'string' &&
      /^(P1001|P1002|P1017|P2024|ECONNREFUSED|ECONNRESET|ETIMEDOUT|57P01|57P03|08006|08001|08003)$/.test(code)
    )
      return true;
    if (name === 'DriverAdapterError' && typeof message === 'string' && /connect|terminat|closed/i.test(message))
      return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

export function toClientError(error: GraphQLError, errorId: string, log: (error: unknown) => void): GraphQLError {
  const original = error.originalError;
  const keygate = original instanceof KeygateError ? original : null;
  if (keygate) {
    return new GraphQLError(keygate.message, {
      nodes: error.nodes,
      path: error.path,
      extensions: { code: keygate.code },
    });
  }
  if (original === undefined || original instanceof GraphQLError) {
    const code = error.extensions.code ?? 'BAD_USER_INPUT';
    return new GraphQLError(error.message, {
      nodes: error.nodes,
      source: error.source,
      positions: error.positions,
      path: error.path,
      extensions: { ...error.extensions, code },
    });
  }
  if (isDatabaseUnavailable(original)) {
    log(original);
    return new GraphQLError('The database is unavailable; try again shortly.', {
      path: error.path,
      extensions: { code: 'SERVICE_UNAVAILABLE', errorId, http: { status: 503 } },
    });
  }
  log(original);
  return new GraphQLError(`Unexpected error; quote error id ${errorId} when reporting it.`, {
    path: error.path,
    extensions: { code: 'INTERNAL_SERVER_ERROR', errorId },
  });
}
