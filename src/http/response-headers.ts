// The last word on every response that leaves Yoga (the node:http fast path adds the same headers to
// its own 401 and 429): the security headers of src/http/responses.ts, and a JSON error body with a code
// for the answers Yoga gives without one (404 of an unknown path, 406, 415, …).
import type { Plugin } from 'graphql-yoga';
import { defaultError, errorBodyFor, JSON_CONTENT_TYPE, SECURITY_HEADERS } from './responses.ts';

const ALWAYS = Object.entries(SECURITY_HEADERS);

/** An error status without a body of its own, with the JSON body and code it means. */
function withErrorBody(request: Request, response: Response, fetchAPI: { Response: typeof Response }): Response {
  const [code, message] = defaultError(response.status);
  const headers = new Headers(response.headers);
  headers.set('content-type', JSON_CONTENT_TYPE);
  headers.delete('content-length');
  return new fetchAPI.Response(errorBodyFor(new URL(request.url).pathname, code, message), {
    status: response.status,
    headers,
  });
}

export function responseHeaders(): Plugin {
  return {
    onResponse({ request, response, setResponse, fetchAPI }) {
      let answer = response;
      if (answer.status >= 400 && !answer.headers.has('content-type')) {
        answer = withErrorBody(request, answer, fetchAPI);
        setResponse(answer);
      }
      const headers = answer.headers;
      for (const [name, value] of ALWAYS) headers.set(name, value);
      const contentType = headers.get('content-type') ?? '';
      // A response that states its own caching or policy (GraphiQL's page and assets) keeps it; Yoga's
      // "no-cache" on a subscription-style stream (which still lets a cache store the answer) becomes
      // no-store like every API answer.
      const cacheControl = headers.get('cache-control');
      if (cacheControl === null || (cacheControl === 'no-cache' && contentType.startsWith('text/event-stream'))) {
        headers.set('cache-control', 'no-store');
      }
      // A page without a policy of its own may still not be framed (clickjacking). Only pages: the headers
      // are sent with every API answer, where they would cost time and protect nothing.
      if (contentType.startsWith('text/html') && !headers.has('content-security-policy')) {
        headers.set('content-security-policy', "frame-ancestors 'none'");
        headers.set('x-frame-options', 'DENY');
      }
    },
  };
}
