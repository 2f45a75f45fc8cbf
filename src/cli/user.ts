// keygate user …: users of an organization (the people the CLI acts as).
import { prismaReader } from '../db/reader.ts';
import { createUser, findOrganization, listUsers, type UserRecord } from '../domain/organizations.ts';
import { type Command, text } from './command.ts';
import { withReader, withRuntime } from './database.ts';

const org = { type: 'string', value: 'ORG', required: true, help: 'organization id or name' } as const;

/** What the CLI prints of a user (its organization is the one asked about). */
const presentUser = (user: UserRecord) => ({
  id: user.id,
  email: user.email,
  name: user.name,
  role: user.role,
  slackUserId: user.slackUserId,
});

export const userCommands: Command[] = [
  {
    name: 'user create',
    summary: 'Create a user of an organization. Emails are unique within it (kept in lower case).',
    options: {
      org,
      email: { type: 'string', value: 'EMAIL', required: true, help: 'email address' },
      name: { type: 'string', value: 'NAME', required: true, help: 'display name' },
      role: { type: 'string', value: 'ROLE', help: 'role in the organization (default "member")' },
      'slack-user-id': { type: 'string', value: 'ID', help: 'Slack user id' },
    },
    run: (values) =>
      withRuntime(async ({ domain }) => {
        const organization = await findOrganization(prismaReader(domain.db), text(values, 'org'));
        const user = await createUser(domain.db, organization.id, {
          email: text(values, 'email'),
          name: text(values, 'name'),
          role: values.role === undefined ? undefined : text(values, 'role'),
          slackUserId: values['slack-user-id'] === undefined ? undefined : text(values, 'slack-user-id'),
        });
        return presentUser(user);
      }),
  },
  {
    name: 'user list',
    summary:
      'List the users of an organization, by email: {"users": [{"id", "email", "name", "role", "slackUserId"}]}.',
    options: { org },
    run: (values) =>
      withReader(async (read) => {
        const organization = await findOrganization(read, text(values, 'org'));
        return { users: (await listUsers(read, organization.id)).map(presentUser) };
      }),
  },
];
