import type { Grants } from '../domain/access.ts';
import { type AuditDetails, type AuditEventRecord, encodeAuditCursor, listAuditEvents } from '../domain/audit.ts';
import { builder } from './builder.ts';
import { forwardPage } from './connection.ts';

const GrantsRef = builder.objectRef<Grants>('Grants').implement({
  description: 'The grants of a key at one moment: account-level roles, teams, and roles in every one of those teams.',
  fields: (t) => ({
    roleNames: t.stringList({ resolve: (grants) => [...grants.roleNames] }),
    teamIds: t.idList({ resolve: (grants) => [...grants.teamIds] }),
    teamRoleNames: t.stringList({ resolve: (grants) => [...grants.teamRoleNames] }),
  }),
});

const AuditActorApiKeyRef = builder.objectRef<{ id: string; name: string }>('AuditActorApiKey').implement({
  description: 'The key that made the change, as it was then (readable after it is deleted).',
  fields: (t) => ({ id: t.exposeID('id'), name: t.exposeString('name') }),
});

const AuditActorUserRef = builder.objectRef<{ id: string; email: string; name: string }>('AuditActorUser').implement({
  description: 'The user of the administration CLI who made the change, as they were then.',
  fields: (t) => ({ id: t.exposeID('id'), email: t.exposeString('email'), name: t.exposeString('name') }),
});

const AuditActorRef = builder.objectRef<AuditEventRecord['actor']>('AuditActor').implement({
  description: 'Exactly one of apiKey and user is set.',
  fields: (t) => ({
    apiKey: t.field({ type: AuditActorApiKeyRef, nullable: true, resolve: (actor) => actor.apiKey }),
    user: t.field({ type: AuditActorUserRef, nullable: true, resolve: (actor) => actor.user }),
  }),
});

const AuditTargetRef = builder.objectRef<AuditEventRecord['target']>('AuditTarget').implement({
  description: 'The key that was changed: its id, and its name after the change (at deletion, for a deletion).',
  fields: (t) => ({ id: t.exposeID('id'), name: t.exposeString('name') }),
});

const AuditDetailsRef = builder.objectRef<AuditDetails>('AuditEventDetails').implement({
  description: 'Facts only some actions have; null where they do not apply.',
  fields: (t) => ({
    previousName: t.exposeString('previousName', {
      nullable: true,
      description:
        "Updates: the name before; null for a team manager when the key was not in the manager's teams before.",
    }),
    gracePeriodMinutes: t.exposeInt('gracePeriodMinutes', {
      nullable: true,
      description: 'Rotations: how long the token that was current kept working.',
    }),
    previousTokenExpiresAt: t.expose('previousTokenExpiresAt', {
      type: 'DateTime',
      nullable: true,
      description: 'Rotations: when the token that was current stopped working.',
    }),
    expiresAt: t.expose('expiresAt', {
      type: 'DateTime',
      nullable: true,
      description: 'Creations and updates: the expiresAt the change gave the key (null: never expires).',
    }),
    previousExpiresAt: t.expose('previousExpiresAt', {
      type: 'DateTime',
      nullable: true,
      description:
        'Updates: the expiresAt the key had before (null: never expired; also null for a team manager when the update moved the key into its teams).',
    }),
  }),
});

const AuditEventRef = builder.objectRef<AuditEventRecord>('AuditEvent').implement({
  description: 'One change to an API key. Never contains a token or a token hash.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'A ULID.' }),
    action: t.exposeString('action', {
      description: 'api_key.created, api_key.updated, api_key.rotated or api_key.deleted.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    actor: t.field({ type: AuditActorRef, resolve: (event) => event.actor }),
    target: t.field({ type: AuditTargetRef, resolve: (event) => event.target }),
    grantsBefore: t.field({
      type: GrantsRef,
      nullable: true,
      description:
        "null for a creation, and, for a team manager, when the key was not in the manager's teams before the change.",
      resolve: (event) => event.grantsBefore,
    }),
    grantsAfter: t.field({
      type: GrantsRef,
      nullable: true,
      description: 'null for a deletion.',
      resolve: (event) => event.grantsAfter,
    }),
    details: t.field({
      type: AuditDetailsRef,
      nullable: true,
      description: 'Set for updates and rotations.',
      resolve: (event) => event.details,
    }),
  }),
});

const AuditEventConnection = builder.connectionObject(
  { type: AuditEventRef, name: 'AuditEventConnection' },
  { name: 'AuditEventEdge' },
);

builder.queryField('auditEvents', (t) =>
  t.field({
    description:
      "Changes to API keys, newest first (Relay cursor connection). Account managers read their organization's " +
      'events; team managers the events of keys of their teams (as the key was after the change, or before a deletion), ' +
      'without the state before a change that moved the key into their teams.',
    type: AuditEventConnection,
    args: {
      first: t.arg.int({ defaultValue: 25, description: '1 to 250.' }),
      after: t.arg.string({ description: 'An endCursor or edge cursor from an earlier page.' }),
    },
    authScopes: (_root, args) => ({ mayListAuditEvents: args }),
    resolve: async (_root, args, { domain, caller }) => {
      const { events, hasNextPage } = await listAuditEvents(domain, caller, args);
      return forwardPage(events, hasNextPage, encodeAuditCursor);
    },
  }),
);
