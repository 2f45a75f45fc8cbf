// `keygate/client`: verify the API keys Keygate issues from a service (docs/verifying.md).
export { expressMiddleware, fetchMiddleware, type ProtectOptions, refusalFor, type Verified } from './middleware.ts';
export type {
  RateLimitState,
  Verification,
  VerificationCode,
  VerifiedApiKey,
  VerifyOptions,
} from './types.ts';
export { VERIFICATION_CODES } from './types.ts';
export {
  createVerifier,
  KeygateRequestError,
  KeygateUnavailableError,
  type KeygateVerifier,
  type VerifierOptions,
} from './verifier.ts';
