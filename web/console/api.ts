// The transport: one POST to this origin's /graphql per document, with the signed-in token. Results
// and variables are typed by the document itself (./graphql.ts); errors become ApiError with the
// API's stable code, which ./errors.ts turns into a sentence.

import { print } from '@0no-co/graphql.web';
import type { TadaDocumentNode } from 'gql.tada';

export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

interface GraphQLResponse<T> {
  data?: T | null;
  errors?: Array<{ message: string; extensions?: { code?: string; retryAfter?: number } }>;
}

const printed = new WeakMap<object, string>();

export async function request<Result, Variables>(
  token: string,
  document: TadaDocumentNode<Result, Variables>,
  variables: Variables,
): Promise<Result> {
  let query = printed.get(document);
  if (!query) {
    query = print(document);
    printed.set(document, query);
  }
  let response: Response;
  try {
    // Relative to /console: the API of the server that served this page, wherever it is mounted.
    response = await fetch('graphql', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        authorization: `Bearer ${token}`,
      },
      body: JSON.stringify({ query, variables }),
    });
  } catch {
    throw new ApiError('The server could not be reached.', 'NETWORK');
  }
  let body: GraphQLResponse<Result>;
  try {
    body = (await response.json()) as GraphQLResponse<Result>;
  } catch {
    throw new ApiError(`The server answered ${response.status} without a GraphQL response.`, 'INTERNAL_SERVER_ERROR');
  }
  const error = body.errors?.[0];
  if (error) {
    const retryAfter = error.extensions?.retryAfter ?? Number(response.headers.get('retry-after') ?? Number.NaN);
    throw new ApiError(
      error.message,
      error.extensions?.code ?? 'INTERNAL_SERVER_ERROR',
      Number.isFinite(retryAfter) ? retryAfter : undefined,
    );
  }
  if (!body.data) throw new ApiError('The server answered without data.', 'INTERNAL_SERVER_ERROR');
  return body.data;
}
