// keygate team …: teams of an organization.
import { prismaReader } from '../db/reader.ts';
import { createTeam, findOrganization, readTeams } from '../domain/organizations.ts';
import { type Command, text } from './command.ts';
import { withReader, withRuntime } from './database.ts';

const org = { type: 'string', value: 'ORG', required: true, help: 'organization id or name' } as const;

export const teamCommands: Command[] = [
  {
    name: 'team create',
    summary: 'Create a team in an organization. Team names are unique within it.',
    options: { org, name: { type: 'string', value: 'NAME', required: true, help: 'team name' } },
    run: (values) =>
      withRuntime(async ({ domain }) => {
        const organization = await findOrganization(prismaReader(domain.db), text(values, 'org'));
        return createTeam(domain.db, organization.id, { name: text(values, 'name') });
      }),
  },
  {
    name: 'team list',
    summary: 'List the teams of an organization, by name: {"teams": [{"id", "name"}]}.',
    options: { org },
    run: (values) =>
      withReader(async (read) => {
        const organization = await findOrganization(read, text(values, 'org'));
        return { teams: await readTeams(read, organization.id) };
      }),
  },
];
