// x-request-id: the client's own when it sent a well-formed one (so a proxy's or a caller's id follows the
// request through our log), else a new one. Well-formed: 1–128 characters of [A-Za-z0-9._:-], nothing
// that could break a log line or a header, and nothing that may be a token (a run of as many letters
// and digits as a token's secret part): the id is repeated in the answer's headers, which proxies log.
import { randomUUID } from 'node:crypto';
import { TOKEN_SECRET_RUN } from '../domain/tokens.ts';

export const REQUEST_ID_HEADER = 'x-request-id';

const WELL_FORMED = /^[A-Za-z0-9._:-]{1,128}$/;

// A process prefix and a counter: unique across processes and restarts, and cheaper than a UUID each.
const PREFIX = randomUUID().slice(0, 8);
let counter = 0;

/** A new id, e.g. "3f2a9c1e-1a" (process prefix, base-36 counter). */
export function newRequestId(): string {
  counter = counter === Number.MAX_SAFE_INTEGER ? 0 : counter + 1;
  return `${PREFIX}-${counter.toString(36)}`;
}

/** The id a request goes by: its header's when well-formed, else a new one. */
export function requestIdOf(header: string | string[] | null | undefined): string {
  return typeof header === 'string' && WELL_FORMED.test(header) && !TOKEN_SECRET_RUN.test(header)
    ? header
    : newRequestId();
}
