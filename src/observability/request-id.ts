// x-request-id: the client's own when it sent a well-formed one (so a proxy's or a caller's id follows the
// request through our log), else a new one. Well-formed: 1–128 characters of [A-Za-z0-9._:-], nothing
// that could break a log line or a header, and nothing that may be a token (a run of as many letters
// and digits as a token's secret part): the id is repeated in the answer's headers, which proxies log.
import { randomFillSync } from 'node:crypto';
import { TOKEN_SECRET_RUN } from '../domain/tokens.ts';

export const REQUEST_ID_HEADER = 'x-request-id';

const WELL_FORMED = /^[A-Za-z0-9._:-]{1,128}$/;

// 12 random bytes (96 bits) as 16 base64url characters: unique in practice across processes and
// restarts, unguessable, and telling nothing of how many requests came before (a process prefix and a
// counter, as ids were, told both). The bytes are taken from a pool the CSPRNG fills in batches, so an
// id costs a slice of a buffer and its encoding, not a call into the system each.
const ID_BYTES = 12;
const pool = Buffer.allocUnsafe(ID_BYTES * 512);
let next = pool.length;

/** A new id, e.g. "q3Xv_9kLm2Tz-a0B": 16 base64url characters, random. */
export function newRequestId(): string {
  if (next === pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  const start = next;
  next += ID_BYTES;
  return pool.toString('base64url', start, next);
}

/** The id a request goes by: its header's when well-formed, else a new one. */
export function requestIdOf(header: string | string[] | null | undefined): string {
  return typeof header === 'string' && WELL_FORMED.test(header) && !TOKEN_SECRET_RUN.test(header)
    ? header
    : newRequestId();
}
