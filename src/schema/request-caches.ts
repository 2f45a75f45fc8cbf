// Scope-auth's per-request cache let go of as soon as the operation has been executed.
//
// Pothos keeps each request's scope-auth cache (RequestCache: the scopes, the grants judged, the
// context itself) in a module-wide WeakMap keyed by the GraphQL context. A WeakMap created at start-up
// lives in V8's old generation, and V8's young-generation collection (the scavenge) treats the values
// of such a map's entries as reachable whatever their key: only a full collection removes the entry of
// a context nobody holds any more. Each RequestCache holds its context, and the context everything of
// the request (its Request, headers, body, loaders, the caller's records), so every request's objects
// outlived two scavenges and were moved to the old generation, to be freed by the next full
// collection. Measured with currentApiKey alone on the embedded database: 0.84 MB moved up each
// scavenge and a full collection every 0.3 s (pauses of 6 to 24 ms); with the entry deleted once the
// result is ready, 300 bytes a scavenge, no full collection in the run, and a third less CPU per
// request (docs/operations.md, "Garbage collection").

import { RequestCache } from '@pothos/plugin-scope-auth';
import type { Plugin } from 'graphql-yoga';

/**
 * Deletes the request's scope-auth cache once its result is ready: nothing of it is read after that
 * (Keygate has no subscriptions, and no incremental delivery whose later parts would resolve fields;
 * were there any, a field resolved later would only make a new cache and judge its scopes again). A
 * request whose execution throws keeps its entry until a full collection, as before.
 */
export function releaseRequestCaches(): Plugin {
  return {
    onExecute: () => ({
      onExecuteDone: ({ args }) => {
        RequestCache.clearForContext(args.contextValue as object);
      },
    }),
  };
}
