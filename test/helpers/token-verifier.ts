// A token's answer from the TokenVerifier, as authentication gets it (src/auth/authenticate.ts): the
// cache first (`cached`), then the database (`lookUpCaller`). The verifier itself works on hashes.
import type { TokenVerifier } from '../../src/auth/verifier.ts';
import { hashToken, isWellFormedToken } from '../../src/domain/tokens.ts';
import type { Caller } from '../../src/domain/types.ts';

/** The cache's answer: the caller, null (missing, malformed or known unknown), undefined (look it up). */
export function knownCaller(verifier: TokenVerifier, token: string | null): Caller | null | undefined {
  if (token === null || !isWellFormedToken(token)) return null;
  return verifier.cached(hashToken(token));
}

/** The caller of a token, from the cache or else the database; null for any token that is refused. */
export async function verifyToken(verifier: TokenVerifier, token: string | null): Promise<Caller | null> {
  const known = knownCaller(verifier, token);
  if (known !== undefined) return known;
  const found = await verifier.lookUpCaller(hashToken(token as string));
  return found === 'expired' ? null : found;
}
