// Which client a request comes from, for the failed-authentication limit.
//
// By default only the TCP peer address counts: a header is something the client writes, so trusting
// one would let a token guesser pick a fresh "address" for every attempt. Behind a reverse proxy every
// request has the proxy's address; then KEYGATE_CLIENT_ADDRESS_HEADER names the header the proxy sets
// (it must overwrite or append to any value the client sent), and its last entry is the address the
// proxy saw.

/** The bucket of requests whose address is unknown (app.fetch without a socket and no trusted header). */
export const UNKNOWN_ADDRESS = 'unknown';

export function clientAddress(
  headers: { get(name: string): string | null },
  socketAddress: string | undefined,
  trustedHeader: string | undefined,
): string {
  if (trustedHeader) {
    const value = headers.get(trustedHeader);
    const last = value?.split(',').at(-1)?.trim();
    if (last) return normalize(last);
  }
  return socketAddress ? normalize(socketAddress) : UNKNOWN_ADDRESS;
}

/** node:http headers as a `get` like the Fetch API's. */
export function nodeHeaders(headers: Record<string, string | string[] | undefined>): {
  get(name: string): string | null;
} {
  return {
    get(name) {
      const value = headers[name.toLowerCase()];
      if (value === undefined) return null;
      return Array.isArray(value) ? value.join(', ') : value;
    },
  };
}

/** An IPv4 client seen on a dual-stack socket ("::ffff:1.2.3.4") is the same client as "1.2.3.4". */
function normalize(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
