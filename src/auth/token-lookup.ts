// The hot lookup: token hash → key and grants. Its SQL and decoding live in the store
// (src/store/tokens.ts), prepared once per driver.
import type { RawDriver } from '../db/client.ts';
import { type TokenMatch, tokenFinder } from '../store/tokens.ts';

export type { TokenMatch };

export interface TokenLookup {
  find(hash: string): Promise<TokenMatch | null>;
}

export function createTokenLookup(raw: RawDriver): TokenLookup {
  return { find: tokenFinder(raw) };
}
