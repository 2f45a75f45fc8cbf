// GraphQL abuse limits as Yoga plugins: graphql-armor for the document (depth, aliases, tokens,
// directives; field suggestions hidden in production), Yoga's CSRF prevention, a request body limit
// that names itself (bodySizeLimit, which createApp puts last), and the limits of the operation a
// request runs, which need its variables (operationLimits: at most one root field in a mutation, the
// cost estimate, the key's cost budget). Batched requests and mutations over GET are refused by Yoga's
// defaults (batching off, usePreventMutationViaGET); createApp keeps them that way.
// Every refusal is a GraphQL error that src/errors.ts turns into BAD_USER_INPUT, but for the cost
// budget's RATE_LIMITED.
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { type DocumentNode, type ExecutionResult, GraphQLError, getOperationAST } from 'graphql';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import type { Limits } from '../config.ts';
import type { Context } from '../context.ts';
import { isVerifierCaller } from '../verification/principal.ts';
import { type OperationCost, operationCost, rootFields } from './operation-cost.ts';
import type { RateLimits } from './rate-limit.ts';

/**
 * Headers that prove a request is not a "simple" cross-site request (a browser sends them only after
 * a CORS preflight). A content type other than a form's or text/plain proves it too. Authorization is
 * one of them: every operation needs it anyway, and scripts sending GET queries with only a bearer
 * token keep working.
 */
export const CSRF_HEADERS = ['authorization', 'x-graphql-yoga-csrf'];

export function graphqlLimits(
  limits: Limits,
  options: { production: boolean; costBudget?: Pick<RateLimits, 'chargeCost'> },
): Plugin[] {
  return [csrfPrevention(), armor(limits, options.production), operationLimits(limits, options.costBudget)];
}

/**
 * Operations cheaper than this are not charged to the key's cost budget: currentApiKey, apiKey(id) and
 * the mutations (all well under it) cost the budget nothing, not even a Redis round trip. The per-key
 * request limit bounds them: 1,200 requests a minute at under 1,000 each stay under the default budget.
 */
export const COST_CHARGED_FROM = 1_000;

const refused = (message: string, extensions: Record<string, unknown>): ExecutionResult => ({
  errors: [new GraphQLError(message, { extensions })],
});

/**
 * The limits of the operation a request runs, checked before it runs, with its variables:
 * - a mutation may select one root field (after fragments and aliases): its fields would run one after
 *   the other, each committing on its own, so a failing second field left the first one's change
 *   committed and its token never delivered; it also ends alias amplification of writes;
 * - its cost estimate (operation-cost.ts) is at most `maxCost`;
 * - the caller's key is charged that cost (when over COST_CHARGED_FROM) against its budget per minute.
 * The estimate of an operation with no variable multiplier is kept with its (cached) document.
 */
export function operationLimits(limits: Limits, costBudget?: Pick<RateLimits, 'chargeCost'>): Plugin {
  const costs = new WeakMap<DocumentNode, Map<string, OperationCost>>();
  return {
    // Synchronous unless the budget is charged: a promise here would cost every request a tick.
    onExecute({ args, setResultAndStopExecution }) {
      const operation = getOperationAST(args.document, args.operationName);
      // No such operation: execution answers that itself.
      if (!operation) return;
      if (operation.operation === 'mutation') {
        const fields = rootFields(args.document, operation);
        if (fields.length > 1) {
          setResultAndStopExecution(
            refused(
              `A request may run at most one mutation field; this one selects ${fields.length} (${fields.join(', ')}). ` +
                'Send each change as a request of its own: nothing was run.',
              { code: 'BAD_USER_INPUT' },
            ),
          );
          return;
        }
      }
      const name = args.operationName ?? '';
      let estimate = costs.get(args.document)?.get(name);
      if (!estimate) {
        estimate = operationCost(args.schema, args.document, operation, args.variableValues);
        if (!estimate.variable) {
          const byName = costs.get(args.document) ?? new Map<string, OperationCost>();
          byName.set(name, estimate);
          costs.set(args.document, byName);
        }
      }
      if (estimate.cost > limits.maxCost) {
        setResultAndStopExecution(
          refused(
            `Cost limit of ${limits.maxCost} exceeded: this operation is estimated at ${Math.ceil(estimate.cost)} with its variables applied; ask for fewer items or fields.`,
            { code: 'BAD_USER_INPUT' },
          ),
        );
        return;
      }
      // The context createApp makes (a wiring mistake would leave it without a principal: nothing to
      // charge). A verifier token has a budget of its own, apart from every key's: it has no caller key
      // (reading one throws, src/context.ts), and may still send what costs (introspection, or fields it
      // is then refused).
      const principal = (args.contextValue as Partial<Context> | undefined)?.principal;
      if (!costBudget || !principal || estimate.cost < COST_CHARGED_FROM) return;
      const charged = isVerifierCaller(principal) ? `verifier:${principal.verifier.id}` : principal.key.id;
      return costBudget.chargeCost(charged, Math.ceil(estimate.cost)).then((refusal) => {
        if (!refusal) return;
        setResultAndStopExecution(
          refused(refusal.message, {
            code: 'RATE_LIMITED',
            retryAfter: refusal.retryAfterSeconds,
            http: { status: 429, headers: { 'Retry-After': String(refusal.retryAfterSeconds) } },
          }),
        );
      });
    },
  };
}

function armor(limits: Limits, production: boolean): Plugin {
  return EnvelopArmorPlugin({
    // Fields are levels, fragments are not: a document is as deep as it would be written out, so the
    // console's documents with fragments pass as their written-out form would (README, Limits).
    maxDepth: { n: limits.maxDepth, flattenFragments: true },
    maxAliases: { n: limits.maxAliases },
    maxTokens: { n: limits.maxTokens },
    maxDirectives: { n: limits.maxDirectives },
    // The cost limit is operationLimits', which applies the variables.
    costLimit: { enabled: false },
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
