// Forward-only Relay pages: the domain returns a page and whether more follow; this shapes it.
export function forwardPage<T extends { id: string }>(
  nodes: readonly T[],
  hasNextPage: boolean,
  cursorOf: (id: string) => string,
) {
  const edges = nodes.map((node) => ({ cursor: cursorOf(node.id), node }));
  return {
    edges,
    pageInfo: {
      hasNextPage,
      hasPreviousPage: false,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  };
}
