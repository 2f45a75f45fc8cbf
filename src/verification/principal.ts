// Who a request authenticated as: an API key (the Caller of the domain) or a verifier token. The
// token's prefix says which (src/auth/authenticate.ts); scope-auth decides what each may call
// (src/schema/builder.ts).
import type { Caller } from '../domain/types.ts';
import type { VerifierCaller } from './verifier-tokens.ts';

export type Principal = Caller | VerifierCaller;

export const isVerifierCaller = (principal: Principal): principal is VerifierCaller => principal.kind === 'verifier';
