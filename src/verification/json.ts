// A verdict as JSON (the body of POST /v1/verify), the same text JSON.stringify gives, built from parts
// that are serialized once: the key's description and the scope lists are shared objects (the engine
// keeps one per key record and one per scope set), so a busy key's answer is a few string joins.
import type { Verification } from './engine.ts';

const serialized = new WeakMap<object, string>();

function once(value: object): string {
  let text = serialized.get(value);
  if (text === undefined) {
    text = JSON.stringify(value);
    serialized.set(value, text);
  }
  return text;
}

/** JSON.stringify(verification), field for field (test/unit/verification-json.test.ts holds them equal). */
export function verificationJson(verification: Verification): string {
  // MALFORMED and UNKNOWN are constants: serialized once each.
  if (verification.apiKey === null) return once(verification);
  const { valid, code, apiKey, scopes, tokenExpiresAt, rateLimit } = verification;
  return `{"valid":${valid},"code":"${code}","apiKey":${once(apiKey)},"scopes":${once(scopes)},"tokenExpiresAt":${
    tokenExpiresAt === null ? 'null' : JSON.stringify(tokenExpiresAt)
  },"rateLimit":${rateLimit === null ? 'null' : JSON.stringify(rateLimit)}}`;
}
