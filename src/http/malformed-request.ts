// A request that is no GraphQL request (a body that is not JSON, an empty body, no query) is malformed:
// HTTP 400 whatever media type the client accepts (docs/api.md, Errors), as a batch, a `null` body or an
// unknown parameter already were. Yoga marks these refusals `http.spec`, and then answers a client that
// accepts application/json with 200 (GraphQL over HTTP lets legacy clients read request errors so).
// The hooks below act where such a refusal arises, so that only it changes: errors about the document
// (syntax, validation, the limits), which Yoga marks the same way, keep their 200. The input broke a
// rule there; the request itself was read. A JSON body that is not UTF-8 (RFC 8259) is malformed too:
// decoded as it came, its invalid bytes became U+FFFD, and a key was stored with a name it was not sent.
import { isUtf8 } from 'node:buffer';
import { isPromise } from '@whatwg-node/server';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import { NOT_UTF8_MESSAGE } from './responses.ts';

type RequestParser = NonNullable<Parameters<NonNullable<Plugin['onRequestParse']>>[0]['requestParser']>;

interface HttpExtension {
  status?: number;
  spec?: boolean;
}

/** The error, with its own HTTP status for every client (the error is the request's own, made by Yoga). */
function unwaived(error: unknown): never {
  const http = (error as { extensions?: { http?: HttpExtension } } | null)?.extensions?.http;
  if (http?.spec) http.spec = false;
  throw error;
}

/** One wrapper per parser (Yoga's are module functions): no closure is made per request. */
const wrapped = new WeakMap<RequestParser, RequestParser>();

const notUtf8 = () =>
  createGraphQLError(NOT_UTF8_MESSAGE, {
    extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } },
  });

const JSON_TYPE = /^application\/(?:graphql\+)?json\s*(?:;|$)/i;

/**
 * `parse(request)` once the body of a JSON request is known to be UTF-8. The body is read whole first;
 * the Request of Yoga's fetch API keeps what it read, so the parser reads it again from memory. A body
 * that cannot be read twice (no such buffer) is left to the parser as it is.
 */
function utf8Checked(request: Request, parse: RequestParser): ReturnType<RequestParser> {
  const read = (request as Request & { buffer?: () => Promise<Uint8Array> }).buffer;
  if (
    request.method !== 'POST' ||
    typeof read !== 'function' ||
    !JSON_TYPE.test(request.headers.get('content-type') ?? '')
  ) {
    return parse(request);
  }
  return read.call(request).then((bytes) => {
    if (!isUtf8(bytes)) throw notUtf8();
    return parse(request);
  });
}

function strictParser(parse: RequestParser): RequestParser {
  let strict = wrapped.get(parse);
  if (!strict) {
    strict = (request) => {
      try {
        const parsed = utf8Checked(request, parse);
        return isPromise(parsed) ? parsed.then(undefined, unwaived) : parsed;
      } catch (error) {
        return unwaived(error);
      }
    };
    wrapped.set(parse, strict);
  }
  return strict;
}

/** Yoga's own check of the same (useCheckGraphQLQueryParams) runs after this one, with the mark. */
const noQuery = () =>
  createGraphQLError('Must provide query string.', {
    extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } },
  });

export function malformedRequestStatus(): Pick<Plugin, 'onRequestParse' | 'onParams'> {
  return {
    onRequestParse({ requestParser, setRequestParser }) {
      if (requestParser) setRequestParser(strictParser(requestParser));
    },
    onParams({ params }) {
      if (params.query == null) throw noQuery();
    },
  };
}
