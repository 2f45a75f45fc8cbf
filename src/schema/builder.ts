// The one schema builder: plugins, scalars and the authorization scopes. No types are defined here.
// Every authorization decision goes through scope-auth; the scope loaders call the domain rules,
// which throw KeygateErrors carrying the exact code and message of docs/rules.md.
import SchemaBuilder from '@pothos/core';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { GraphQLScalarType } from 'graphql';
import { DateTimeResolver } from 'graphql-scalars';
import type { Context } from '../context.ts';
import {
  checkCreate,
  checkDelete,
  checkRotate,
  checkShow,
  checkUpdate,
  type KeyInput,
  type RotateInput,
  requireManager,
  type UpdateInput,
} from '../domain/api-keys.ts';
import { decodeAuditCursor, requireAuditReader } from '../domain/audit.ts';
import { forbidden } from '../domain/errors.ts';
import { parsePageSize } from '../domain/input.ts';
import { type ListArgs, parseListArgs } from '../domain/key-list.ts';
import type { ApiKeyRecord } from '../domain/store.ts';
import { isoString } from './date-time.ts';

const dateTimeConfig = DateTimeResolver.toConfig();

const DateTime = new GraphQLScalarType({
  ...dateTimeConfig,
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

/** The target of a change's check. */
const targetOf = ({ target }: { target: ApiKeyRecord }) => target;

/** A scope passes when the domain check resolves; a failed check rejects with its KeygateError. */
const passes = (check: Promise<unknown>) => check.then(() => true);

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
    mayListAuditEvents: { first?: number | null; after?: string | null };
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
      const { domain, caller, checked } = context;
      /** Passes when the check finds the key visible, keeping what it read for the resolver. */
      const keep = async (id: string, check: Promise<ApiKeyRecord>) => {
        checked.set(id, await check);
        return true;
      };
      return {
        authenticated: true,
        mayListApiKeys: (args) => {
          parseListArgs(args);
          requireManager(caller);
          return true;
        },
        mayShowApiKey: (id) => keep(id, checkShow(domain, caller, id)),
        mayCreateApiKey: (input) => passes(checkCreate(domain, caller, input)),
        // The target a change's check read is kept for the change (see lockApiKey).
        mayUpdateApiKey: (input) => keep(input.id, checkUpdate(domain, caller, input).then(targetOf)),
        mayRotateApiKey: (input) => keep(input.id, checkRotate(domain, caller, input).then(targetOf)),
        mayDeleteApiKey: (id) => keep(id, checkDelete(domain, caller, id)),
        mayListAuditEvents: (args) => {
          parsePageSize(args.first);
          if (args.after != null) decodeAuditCursor(args.after);
          requireAuditReader(caller);
          return true;
        },
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
