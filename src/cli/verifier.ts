// `keygate verifier create | list | delete`: verifier tokens, the operator's credentials for
// verification (docs/rules.md, Verification). Each command: its options, its usage line, and what it
// does with the parsed values; src/cli.ts parses and opens the database.
import type { Domain } from '../domain/api-keys.ts';
import { findOrganization } from '../domain/organizations.ts';
import { createVerifier, deleteVerifier, listVerifiers, type VerifierRecord } from '../verification/verifier-tokens.ts';

type Options = Record<string, { type: 'string'; required?: boolean; help: string }>;

interface VerifierCommand {
  options: Options;
  usage: string;
  run(domain: Domain, values: Record<string, string | undefined>): Promise<unknown>;
}

const present = (verifier: VerifierRecord) => ({
  id: verifier.id,
  name: verifier.name,
  organizationId: verifier.organizationId,
  createdAt: verifier.createdAt.toISOString(),
});

export const VERIFIER_COMMANDS: Record<string, VerifierCommand> = {
  'verifier create': {
    options: {
      name: { type: 'string', required: true, help: 'verifier name (which service uses it)' },
      org: { type: 'string', help: 'organization id or name: verify only its keys (default: every organization)' },
    },
    usage: 'keygate verifier create --name N [--org ORG]',
    async run(domain, values) {
      const organizationId = values.org === undefined ? null : (await findOrganization(domain.db, values.org)).id;
      const { verifier, token } = await createVerifier(
        domain.db,
        { name: values.name as string, organizationId },
        domain.now(),
      );
      return { verifier: present(verifier), token };
    },
  },
  'verifier list': {
    options: {},
    usage: 'keygate verifier list',
    async run(domain) {
      return { verifiers: (await listVerifiers(domain.db)).map(present) };
    },
  },
  'verifier delete': {
    options: { id: { type: 'string', required: true, help: 'the verifier id' } },
    usage: 'keygate verifier delete --id ID',
    async run(domain, values) {
      return { deletedVerifierId: await deleteVerifier(domain.db, values.id as string) };
    },
  },
};

export const VERIFIER_HELP = `  verifier create --name N [--org ORG]    create a verifier token (verification only); prints it once
  verifier list / verifier delete --id ID list or delete verifier tokens`;
