// keygate verifier …: verifier tokens, the operator's credentials for verification (docs/rules.md,
// Verification). They belong to no organization's keys; `--org` binds one to an organization.
import { prismaReader } from '../db/reader.ts';
import { findOrganization } from '../domain/organizations.ts';
import type { VerifierRecord } from '../verification/verifier-tokens.ts';
import { type Command, text } from './command.ts';
import { withRuntime } from './database.ts';

const present = (verifier: VerifierRecord) => ({
  id: verifier.id,
  name: verifier.name,
  organizationId: verifier.organizationId,
  createdAt: verifier.createdAt.toISOString(),
});

export const verifierCommands: Command[] = [
  {
    name: 'verifier create',
    summary:
      'Create a verifier token, which can call verification and nothing else. ' +
      'Prints {"verifier", "token"}: the token is shown this once.',
    options: {
      name: { type: 'string', value: 'NAME', required: true, help: 'verifier name (which service uses it)' },
      org: {
        type: 'string',
        value: 'ORG',
        help: 'organization id or name: verify only its keys (default: every organization)',
      },
    },
    run: (values) =>
      withRuntime(async ({ domain }) => {
        const { createVerifier } = await import('../verification/verifier-tokens.ts');
        const org =
          values.org === undefined ? null : await findOrganization(prismaReader(domain.db), text(values, 'org'));
        const { verifier, token } = await createVerifier(
          domain.db,
          { name: text(values, 'name'), organizationId: org?.id ?? null },
          domain.now(),
        );
        return { verifier: present(verifier), token };
      }),
  },
  {
    name: 'verifier list',
    summary: 'List every verifier: {"verifiers": [{"id", "name", "organizationId", "createdAt"}]}.',
    options: {},
    run: () =>
      withRuntime(async ({ domain }) => {
        const { listVerifiers } = await import('../verification/verifier-tokens.ts');
        return { verifiers: (await listVerifiers(domain.db)).map(present) };
      }),
  },
  {
    name: 'verifier delete',
    summary: 'Delete a verifier: its token stops working within a second. Prints {"deletedVerifierId"}.',
    options: { id: { type: 'string', value: 'ID', required: true, help: 'the verifier id' } },
    run: (values) =>
      withRuntime(async ({ domain }) => {
        const { deleteVerifier } = await import('../verification/verifier-tokens.ts');
        return { deletedVerifierId: await deleteVerifier(domain.db, text(values, 'id')) };
      }),
  },
];
