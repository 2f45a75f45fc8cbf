// GraphQL abuse limits as Yoga plugins: graphql-armor for the document (depth, aliases, tokens,
// directives, cost; field suggestions hidden in production), Yoga's CSRF prevention, and a request body
// limit that names itself (bodySizeLimit, which createApp puts last). Batched requests and mutations
// over GET are refused by Yoga's defaults (batching off, usePreventMutationViaGET); createApp keeps
// them that way.
// Every refusal is a GraphQL error that src/errors.ts turns into BAD_USER_INPUT.
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import type { Limits } from '../config.ts';

/**
 * Headers that prove a request is not a "simple" cross-site request (a browser sends them only after
 * a CORS preflight). A content type other than a form's or text/plain proves it too. Authorization is
 * one of them: every operation needs it anyway, and scripts sending GET queries with only a bearer
 * token keep working.
 */
export const CSRF_HEADERS = ['authorization', 'x-graphql-yoga-csrf'];

export function graphqlLimits(limits: Limits, options: { production: boolean }): Plugin[] {
  return [csrfPrevention(), armor(limits, options.production)];
}

function armor(limits: Limits, production: boolean): Plugin {
  return EnvelopArmorPlugin({
    maxDepth: { n: limits.maxDepth },
    maxAliases: { n: limits.maxAliases },
    maxTokens: { n: limits.maxTokens },
    maxDirectives: { n: limits.maxDirectives },
    costLimit: { maxCost: limits.maxCost },
    // "Did you mean …?" helps a developer and maps the schema for an attacker.
    blockFieldSuggestion: { enabled: production, mask: '' },
  }) as Plugin;
}

/** Yoga's CSRF prevention, with a message that says what to send. */
function csrfPrevention(): Plugin {
  const plugin = useCSRFPrevention({ requestHeaders: CSRF_HEADERS });
  return {
    onRequestParse(payload) {
      try {
        plugin.onRequestParse?.(payload);
      } catch {
        throw createGraphQLError(
          'Possible cross-site request refused: send an Authorization header, a Content-Type of ' +
            'application/json, or an x-graphql-yoga-csrf header.',
          { extensions: { code: 'BAD_USER_INPUT', http: { status: 403 } } },
        );
      }
    },
  };
}

const tooLarge = (maxBytes: number) =>
  createGraphQLError(`Request body too large: the limit is ${maxBytes} bytes.`, {
    extensions: { code: 'BAD_USER_INPUT', http: { status: 413 } },
  });

const DECIMAL = /^\d+$/;

/**
 * The request body limit (createApp turns Yoga's own off: this one replaces it). A declared length
 * over the limit is refused before anything is read. A body is counted as it is read, and cut off
 * past the limit, unless node:http already bounds it: over node:http (`serverContext.req`) a body
 * with a valid Content-Length is exactly that long (Node's parser reads no more), so piping it
 * through a counting stream, as Yoga does for every body, would cost every request a stream and an
 * abort for nothing. Bodies without a length (chunked), and every body given to `app.fetch`, whose
 * headers nothing enforces, are counted.
 */
export function bodySizeLimit(maxBytes: number): Plugin<Record<string, never>, { req?: unknown }> {
  return {
    onRequestParse({ request, serverContext, requestParser, setRequestParser, fetchAPI }) {
      const declared = request.headers.get('content-length');
      if (declared !== null && !DECIMAL.test(declared)) {
        throw createGraphQLError('Content-Length header is invalid.', {
          extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } },
        });
      }
      if (declared !== null && Number(declared) > maxBytes) throw tooLarge(maxBytes);
      if (!requestParser || !request.body || (declared !== null && serverContext.req !== undefined)) return;
      const parse = requestParser;
      setRequestParser((original) => parse(counted(original, maxBytes, fetchAPI)));
    },
  };
}

/** The request with its body cut off (a 413 error) once more than maxBytes have been read. */
function counted(
  request: Request,
  maxBytes: number,
  fetchAPI: { Request: typeof Request; TransformStream: typeof TransformStream },
): Request {
  let read = 0;
  // A native stream needs the native TransformStream (Yoga does the same; graphql-yoga#4583).
  const Transform = request.body instanceof ReadableStream ? globalThis.TransformStream : fetchAPI.TransformStream;
  const body = (request.body as ReadableStream<Uint8Array>).pipeThrough(
    new Transform<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        read += chunk.byteLength;
        if (read > maxBytes) controller.error(tooLarge(maxBytes));
        else controller.enqueue(chunk);
      },
    }),
  );
  return new fetchAPI.Request(request.url, {
    method: request.method,
    headers: request.headers,
    signal: request.signal,
    body,
    duplex: 'half',
  } as RequestInit);
}
