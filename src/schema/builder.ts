// The one schema builder: plugins, scalars and the authorization scopes. No types are defined here.
// Every field is gated by scope-auth; the scope loaders call the domain's gates (src/domain/manager-gate.ts),
// which judge what the caller alone decides and throw KeygateErrors carrying the exact code and message
// of docs/rules.md. The rules about a target are the operation's, judged once, where it reads the target
// (inside its transaction, for a change): nothing passes from a gate to its resolver.
import SchemaBuilder from '@pothos/core';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { GraphQLError, GraphQLScalarType } from 'graphql';
import { DateTimeResolver } from 'graphql-scalars';
import type { Context } from '../context.ts';
import {
  type KeyInput,
  mayCreateApiKey,
  mayDeleteApiKey,
  mayRotateApiKey,
  mayShowApiKey,
  mayUpdateApiKey,
  type RotateInput,
  type UpdateInput,
} from '../domain/api-keys.ts';
import { mayListAuditEvents, type PageArgs } from '../domain/audit.ts';
import { forbidden } from '../domain/errors.ts';
import { type ListArgs, mayListApiKeys } from '../domain/key-list.ts';
import { isoString } from './date-time.ts';

const dateTimeConfig = DateTimeResolver.toConfig();

/** The instants a DateTime may be: the years 0001 to 9999 in UTC (see `inRange`). */
const MIN_INSTANT = Date.parse('0001-01-01T00:00:00.000Z');
const MAX_INSTANT = Date.parse('9999-12-31T23:59:59.999Z');

/**
 * A DateTime given as input, refused outside the years 0001 to 9999 in UTC: PostgreSQL has no year 0,
 * and SQLite keeps times as ISO-8601 text with four-digit years, so either database would fail on such a
 * time, or compare it wrongly. RFC 3339 allows "0000-01-01T00:00:00Z", and offsets move the edges of its
 * range out of these years.
 */
function inRange(date: Date): Date {
  const ms = date.getTime();
  if (ms >= MIN_INSTANT && ms <= MAX_INSTANT) return date;
  throw new GraphQLError(
    `DateTime must be between ${new Date(MIN_INSTANT).toISOString()} and ${new Date(MAX_INSTANT).toISOString()} (UTC); got ${date.toISOString()}.`,
  );
}

const DateTime = new GraphQLScalarType({
  ...dateTimeConfig,
  parseValue: (value) => inRange(dateTimeConfig.parseValue(value) as Date),
  parseLiteral: (ast, variables) => inRange(dateTimeConfig.parseLiteral(ast, variables) as Date),
  // Dates leave as strings: a Date in the result would make JSON.stringify call its toJSON, on every
  // date of every page. Anything else (never produced by Keygate) goes through graphql-scalars.
  serialize: (value) =>
    value instanceof Date && !Number.isNaN(value.getTime()) ? isoString(value) : dateTimeConfig.serialize(value),
  description: 'A point in time, RFC 3339 in UTC, e.g. "2021-08-17T13:28:57.801Z".',
  specifiedByURL: null,
});

const refuseVerifier = () => {
  throw forbidden('A verifier token can only call verifyApiKey.');
};

/** What a verifier token may do: verification, and nothing else (every other scope is FORBIDDEN). */
const VERIFIER_SCOPES = {
  authenticated: refuseVerifier,
  mayListApiKeys: refuseVerifier,
  mayShowApiKey: refuseVerifier,
  mayCreateApiKey: refuseVerifier,
  mayUpdateApiKey: refuseVerifier,
  mayRotateApiKey: refuseVerifier,
  mayDeleteApiKey: refuseVerifier,
  mayListAuditEvents: refuseVerifier,
  verifier: true,
};

export const builder = new SchemaBuilder<{
  Context: Context;
  Scalars: { DateTime: { Input: Date; Output: Date }; ID: { Input: string; Output: string } };
  DefaultFieldNullability: false;
  DefaultEdgesNullability: false;
  DefaultNodeNullability: false;
  AuthScopes: {
    /** Any valid key (authentication itself happens before execution). */
    authenticated: boolean;
    mayListApiKeys: ListArgs;
    mayShowApiKey: string;
    mayCreateApiKey: KeyInput;
    mayUpdateApiKey: UpdateInput;
    mayRotateApiKey: RotateInput;
    mayDeleteApiKey: string;
    mayListAuditEvents: PageArgs;
    /** A verifier token: the only callers of verification, which may call nothing else. */
    verifier: boolean;
  };
}>({
  plugins: [ScopeAuthPlugin, RelayPlugin],
  defaultFieldNullability: false,
  scopeAuth: {
    // Loaders throw KeygateErrors (FORBIDDEN, NOT_FOUND, BAD_USER_INPUT) so the client learns which rule
    // failed; they must reach the client as they are, not as a generic "Unauthorized".
    treatErrorsAsUnauthorized: false,
    authScopes: (context) => {
      if (context.principal.kind === 'verifier') return VERIFIER_SCOPES;
      const { domain, caller } = context;
      // A manager passes each of these at once, without a promise; the operation then parses its
      // arguments and judges its target, once.
      return {
        authenticated: true,
        mayListApiKeys: (args) => mayListApiKeys(caller, args),
        mayShowApiKey: (id) => mayShowApiKey(caller, id),
        mayCreateApiKey: (input) => mayCreateApiKey(domain, caller, input),
        mayUpdateApiKey: (input) => mayUpdateApiKey(domain, caller, input),
        mayRotateApiKey: (input) => mayRotateApiKey(caller, input),
        mayDeleteApiKey: (id) => mayDeleteApiKey(caller, id),
        mayListAuditEvents: (args) => mayListAuditEvents(caller, args),
        verifier: () => {
          throw forbidden(
            'Only verifier tokens may verify API keys; an API key cannot (see `keygate verifier create`).',
          );
        },
      };
    },
  },
  relay: {
    cursorType: 'String',
    nodeQueryOptions: false,
    nodesQueryOptions: false,
    clientMutationId: 'omit',
    edgesFieldOptions: { nullable: false },
    nodeFieldOptions: { nullable: false },
  },
});

builder.addScalarType('DateTime', DateTime);
builder.queryType({});
builder.mutationType({});
