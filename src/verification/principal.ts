// Who a request authenticated as: an API key (the Caller of the domain) or a verifier token. The
// token's prefix says which; scope-auth decides what each may call (src/schema/builder.ts).
import type { TokenVerifier } from '../auth/verifier.ts';
import { isVerifierToken } from '../domain/tokens.ts';
import type { Caller } from '../domain/types.ts';
import type { VerifierCaller, VerifierTokens } from './verifier-tokens.ts';

export type Principal = Caller | VerifierCaller;

export const isVerifierCaller = (principal: Principal): principal is VerifierCaller => principal.kind === 'verifier';

/** Authenticates either kind of token (API keys through the token cache of src/auth/verifier.ts). */
export function principalOf(
  apiKeys: TokenVerifier,
  verifiers: VerifierTokens | undefined,
): (token: string | null) => Promise<Principal | null> {
  return (token) => (verifiers && isVerifierToken(token) ? verifiers.verify(token) : apiKeys.verify(token));
}

/** What is known synchronously (see TokenVerifier.known). */
export function knownPrincipal(
  apiKeys: TokenVerifier,
  verifiers: VerifierTokens | undefined,
  token: string | null,
): Principal | null | undefined {
  return verifiers && isVerifierToken(token) ? verifiers.known(token) : apiKeys.known(token);
}
