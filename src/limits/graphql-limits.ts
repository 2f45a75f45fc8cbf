// GraphQL abuse limits as Yoga plugins: graphql-armor for the document (depth, aliases, tokens,
// directives, cost; field suggestions hidden in production), Yoga's CSRF prevention, and a request body
// limit that names itself. Batched requests and mutations over GET are refused by Yoga's defaults
// (batching off, usePreventMutationViaGET); createApp keeps them that way.
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
  return [bodySizeLimit(limits.maxBodyBytes), csrfPrevention(), armor(limits, options.production)];
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

/**
 * Refuses a body whose declared length is over the limit, naming the limit. A body without a length
 * (chunked) is cut off by Yoga's own maxRequestBodySize, set to the same limit in createApp.
 */
function bodySizeLimit(maxBytes: number): Plugin {
  return {
    onRequestParse({ request }) {
      const length = Number(request.headers.get('content-length') ?? 0);
      if (length > maxBytes) {
        throw createGraphQLError(`Request body too large: the limit is ${maxBytes} bytes.`, {
          extensions: { code: 'BAD_USER_INPUT', http: { status: 413 } },
        });
      }
    },
  };
}
