// keygate org …: organizations.
import { createOrganization, listOrganizations } from '../domain/organizations.ts';
import { type Command, text } from './command.ts';
import { withReader, withRuntime } from './database.ts';

export const orgCommands: Command[] = [
  {
    name: 'org create',
    summary: 'Create an organization. Names are unique, regardless of case.',
    options: { name: { type: 'string', value: 'NAME', required: true, help: 'organization name' } },
    run: (values) => withRuntime(({ domain }) => createOrganization(domain.db, { name: text(values, 'name') })),
  },
  {
    name: 'org list',
    summary: 'List every organization, by name: {"organizations": [{"id", "name"}]}.',
    options: {},
    run: () => withReader(async (read) => ({ organizations: await listOrganizations(read) })),
  },
];
