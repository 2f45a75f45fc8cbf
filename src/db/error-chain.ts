// Where a driver's error hides inside what reaches us: Error.cause, Prisma's meta.driverAdapterError,
// AggregateError's errors (a connection attempt to every address of a host). Both the 503 decision
// (src/errors.ts) and the messages that name a connection problem (connection-errors.ts) walk it.

/** Every error object in the chain of `error`, each once, the outermost first. */
export function* errorChain(error: unknown): Generator<Record<string, unknown>> {
  const seen = new Set<unknown>();
  const pending: unknown[] = [error];
  while (pending.length > 0) {
    const current = pending.pop();
    if (!current || typeof current !== 'object' || seen.has(current)) continue;
    seen.add(current);
    const node = current as Record<string, unknown>;
    yield node;
    pending.push(node.cause, (node.meta as Record<string, unknown> | undefined)?.driverAdapterError);
    if (Array.isArray(node.errors)) pending.push(...node.errors);
  }
}
