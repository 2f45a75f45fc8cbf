// ULIDs for the rows Keygate creates: sorting by id is sorting by creation time. ulidx asks its random
// source for one number per random character (16 per ULID), and its default source makes a
// crypto.getRandomValues call for each: ~8% of the CPU of a createApiKey. Here they are read from a
// buffer that the CSPRNG fills 4 KB at a time. ULIDs are identifiers, not secrets (tokens have their
// own randomness, src/domain/tokens.ts).
import { randomFillSync } from 'node:crypto';
import { monotonicFactory } from 'ulidx';

const pool = Buffer.alloc(4096);
let next = pool.length;

/** Uniform in [0, 1) in steps of 1/32: exactly one random base-32 character of a ULID. */
function random(): number {
  if (next === pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  return ((pool[next++] as number) & 0x1f) / 32;
}

/** Ids of keys, tokens, organizations, teams and users. */
export const newId = monotonicFactory(random);

/** Ids of audit events: a sequence of their own, so that they sort by the time of the event. */
export const newEventId = monotonicFactory(random);
