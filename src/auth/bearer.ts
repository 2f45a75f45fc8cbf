// The token an Authorization header carries: "Bearer <token>" (scheme case-insensitive), else null.
// What a missing or odd header means is decided by the verifier: always the same UNAUTHENTICATED.
export function bearerToken(header: string | null | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? null;
}
