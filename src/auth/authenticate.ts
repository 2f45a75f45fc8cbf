// Authorization header → caller. Every failure looks the same to the client (UNAUTHENTICATED): a
// missing header, a malformed token (rejected by its checksum before any lookup), an unknown, expired
// or deleted one.
import { type Caller, callerFor, type Domain } from '../domain/api-keys.ts';
import { loadGrants } from '../domain/store.ts';
import { hashToken, isWellFormedToken } from '../domain/tokens.ts';

export function bearerToken(header: string | null | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? null;
}

export async function authenticate(domain: Domain, token: string | null): Promise<Caller | null> {
  if (token === null || !isWellFormedToken(token)) return null;
  const row = await domain.db.apiKeyToken.findUnique({
    where: { hash: hashToken(token) },
    select: { expiresAt: true, apiKey: true },
  });
  if (!row || (row.expiresAt !== null && row.expiresAt.getTime() <= domain.now().getTime())) return null;
  const [key] = await loadGrants(domain.db, [row.apiKey], domain.catalogue);
  return key ? callerFor(domain.catalogue, key) : null;
}
