// Authorization header → caller. Every failure looks the same to the client (UNAUTHENTICATED): a
// missing header, a malformed token (rejected by its checksum before any lookup), an unknown, expired
// or deleted one.
import { type Caller, callerFor, type Domain } from '../domain/api-keys.ts';
import { grantsInclude, toRecord } from '../domain/store.ts';
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
    select: { expiresAt: true, apiKey: { include: grantsInclude } },
  });
  if (!row || (row.expiresAt !== null && row.expiresAt.getTime() <= domain.now().getTime())) return null;
  const position = new Map(domain.catalogue.roles.map((role, index) => [role.name, index]));
  return callerFor(domain.catalogue, toRecord(row.apiKey, (name) => position.get(name) ?? 0));
}
