// The security matrix: every query and mutation of the schema against the common ways of being
// denied (docs/rules.md "Managers", "Visibility", "Tokens"; docs/api.md "every operation needs a token").
// One row per operation says what each case must produce; one `it` is generated per (case, operation).
// Each test builds its own organizations, so a wrongly allowed mutation cannot leak into the next test.
// After every denied mutation, nothing may have changed: same keys, same grants, same tokens, and the
// target's token still authenticates.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateToken } from '../../src/domain/tokens.ts';
import { schema } from '../../src/schema/index.ts';
import { createTestApp, type GraphQLResponse, type Org, type TestApp } from '../helpers/app.ts';
import { providers } from '../helpers/databases.ts';
import { API_KEY_FIELDS, CURRENT_KEY } from '../helpers/documents.ts';

type OperationName =
  | 'currentApiKey'
  | 'apiKey'
  | 'apiKeys'
  | 'roles'
  | 'teams'
  | 'auditEvents'
  | 'createApiKey'
  | 'updateApiKey'
  | 'rotateApiKey'
  | 'deleteApiKey'
  | 'verifyApiKey';

type CaseName =
  | 'noToken'
  | 'garbageToken'
  | 'corruptedToken'
  | 'unknownToken'
  | 'deletedKeyToken'
  | 'rotatedAwayToken'
  | 'otherOrganization'
  | 'unmanagedTeam'
  | 'partlyUnmanagedTeams'
  | 'targetWithAccountRole'
  | 'targetWithoutGrants'
  | 'nonManagerWithEveryOtherRole'
  | 'nonManagerWithoutGrants'
  | 'nonManagerOtherOrganization'
  | 'accountManagerControl'
  | 'teamManagerControl';

type Outcome = 'allowed' | 'UNAUTHENTICATED' | 'FORBIDDEN' | 'NOT_FOUND' | 'BAD_USER_INPUT';

interface GrantsInput {
  roleNames: string[];
  teamIds: string[];
  teamRoleNames: string[];
}

/** What one case sets up: the caller, the target key, and the inputs sent to create and update. */
interface Scene {
  /** The token sent as the caller's (null: no Authorization header). */
  token: string | null;
  /** The key that authenticates, when the token is valid. */
  callerId: string | null;
  /** The key shown, updated, rotated or deleted. */
  target: { id: string; token: string };
  /** Valid input for every rule checked before the one under test, unless the case is about input. */
  createInput: GrantsInput;
  updateInput: GrantsInput;
  /** For BAD_USER_INPUT: the value the message must name. */
  rejectedValue?: string;
  /** Exactly the keys `apiKeys` must list (and whose events `auditEvents` must list), when allowed. */
  listing?: string[];
  /** Teams `teams` must list, and teams it must not. */
  ownTeams: string[];
  foreignTeams: string[];
}

const grants = (input: Partial<GrantsInput> = {}): GrantsInput => ({
  roleNames: input.roleNames ?? [],
  teamIds: input.teamIds ?? [],
  teamRoleNames: input.teamRoleNames ?? [],
});

/** The schema's operations, each sent with every field selected. */
const OPERATIONS: Record<
  OperationName,
  { mutation: boolean; send(t: TestApp, token: string | null, s: Scene): Promise<GraphQLResponse> }
> = {
  currentApiKey: { mutation: false, send: (t, token) => t.gql(token, CURRENT_KEY) },
  apiKey: {
    mutation: false,
    send: (t, token, s) =>
      t.gql(token, `query($id: ID!) { apiKey(id: $id) { ${API_KEY_FIELDS} } }`, { id: s.target.id }),
  },
  apiKeys: {
    mutation: false,
    send: (t, token) =>
      t.gql(
        token,
        `{ apiKeys(first: 250) { edges { cursor node { ${API_KEY_FIELDS} } } pageInfo { hasNextPage endCursor } } }`,
      ),
  },
  roles: { mutation: false, send: (t, token) => t.gql(token, '{ roles { name description scopes } }') },
  teams: { mutation: false, send: (t, token) => t.gql(token, '{ teams { id name } }') },
  auditEvents: {
    mutation: false,
    send: (t, token) =>
      t.gql(
        token,
        `{ auditEvents(first: 250) {
          edges { cursor node { id action createdAt target { id name } actor { apiKey { id } user { id } } } }
          pageInfo { hasNextPage }
        } }`,
      ),
  },
  createApiKey: {
    mutation: true,
    send: (t, token, s) =>
      t.gql(
        token,
        `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { token apiKey { ${API_KEY_FIELDS} } } }`,
        { input: { name: 'made by the matrix', ...s.createInput } },
      ),
  },
  updateApiKey: {
    mutation: true,
    send: (t, token, s) =>
      t.gql(
        token,
        `mutation($input: UpdateApiKeyInput!) { updateApiKey(input: $input) { apiKey { ${API_KEY_FIELDS} } } }`,
        { input: { id: s.target.id, name: 'renamed by the matrix', ...s.updateInput } },
      ),
  },
  rotateApiKey: {
    mutation: true,
    // No grace period: a wrongly allowed rotation would also show as the target's token failing.
    send: (t, token, s) =>
      t.gql(
        token,
        `mutation($input: RotateApiKeyInput!) {
          rotateApiKey(input: $input) { token previousTokenExpiresAt apiKey { ${API_KEY_FIELDS} } }
        }`,
        { input: { id: s.target.id, gracePeriodMinutes: 0 } },
      ),
  },
  deleteApiKey: {
    mutation: true,
    send: (t, token, s) =>
      t.gql(token, 'mutation($input: DeleteApiKeyInput!) { deleteApiKey(input: $input) { deletedApiKeyId } }', {
        input: { id: s.target.id },
      }),
  },
  verifyApiKey: {
    mutation: true,
    send: (t, token, s) =>
      t.gql(token, 'mutation($input: VerifyApiKeyInput!) { verifyApiKey(input: $input) { valid code } }', {
        input: { token: s.target.token },
      }),
  },
};

const A: Outcome = 'allowed';
const U: Outcome = 'UNAUTHENTICATED';
const F: Outcome = 'FORBIDDEN';
const N: Outcome = 'NOT_FOUND';
const B: Outcome = 'BAD_USER_INPUT';

/** The matrix: one row per operation, one column per case. */
const MATRIX: Array<{ operation: OperationName } & Record<CaseName, Outcome>> = [
  row('currentApiKey', { denials: U, otherOrg: A, unmanaged: A, nonManager: A, nonManagerOtherOrg: A }),
  row('apiKey', { denials: U, otherOrg: N, unmanaged: N, nonManager: F, nonManagerOtherOrg: F }),
  row('apiKeys', { denials: U, otherOrg: A, unmanaged: A, nonManager: F, nonManagerOtherOrg: F }),
  row('roles', { denials: U, otherOrg: A, unmanaged: A, nonManager: A, nonManagerOtherOrg: A }),
  row('teams', { denials: U, otherOrg: A, unmanaged: A, nonManager: A, nonManagerOtherOrg: A }),
  // Not in docs/rules.md: read like apiKeys (managers only; only events of keys the caller can see).
  row('auditEvents', { denials: U, otherOrg: A, unmanaged: A, nonManager: F, nonManagerOtherOrg: F }),
  // Another organization's team id is an unknown team: input validity comes before every other check.
  // A team manager creating a key it could not see is FORBIDDEN (docs/rules.md "create").
  row('createApiKey', { denials: U, otherOrg: B, unmanaged: F, nonManager: F, nonManagerOtherOrg: B }),
  row('updateApiKey', { denials: U, otherOrg: N, unmanaged: N, nonManager: F, nonManagerOtherOrg: F }),
  row('rotateApiKey', { denials: U, otherOrg: N, unmanaged: N, nonManager: F, nonManagerOtherOrg: F }),
  row('deleteApiKey', { denials: U, otherOrg: N, unmanaged: N, nonManager: F, nonManagerOtherOrg: F }),
  // Verification is for verifier tokens only (test/api/verification.test.ts): every API key is refused.
  {
    ...row('verifyApiKey', { denials: U, otherOrg: F, unmanaged: F, nonManager: F, nonManagerOtherOrg: F }),
    accountManagerControl: F,
    teamManagerControl: F,
  },
];

/** Spreads the outcomes of an operation over the cases (`unmanaged`: the four team-manager cases). */
function row(
  operation: OperationName,
  o: {
    denials: Outcome;
    otherOrg: Outcome;
    unmanaged: Outcome;
    nonManager: Outcome;
    nonManagerOtherOrg: Outcome;
  },
): { operation: OperationName } & Record<CaseName, Outcome> {
  return {
    operation,
    noToken: o.denials,
    garbageToken: o.denials,
    corruptedToken: o.denials,
    unknownToken: o.denials,
    deletedKeyToken: o.denials,
    rotatedAwayToken: o.denials,
    otherOrganization: o.otherOrg,
    unmanagedTeam: o.unmanaged,
    partlyUnmanagedTeams: o.unmanaged,
    targetWithAccountRole: o.unmanaged,
    targetWithoutGrants: o.unmanaged,
    nonManagerWithEveryOtherRole: o.nonManager,
    nonManagerWithoutGrants: o.nonManager,
    nonManagerOtherOrganization: o.nonManagerOtherOrg,
    accountManagerControl: A,
    teamManagerControl: A,
  };
}

describe.each(providers)('security matrix on %s', (provider) => {
  let t: TestApp;
  let unauthenticatedMessage: string;
  let accountRoles: string[];

  beforeAll(async () => {
    t = await createTestApp(provider);
    accountRoles = t.domain.catalogue.roles.filter((r) => r.accountLevel).map((r) => r.name);
    const reference = await t.gql(null, '{ roles { name } }');
    unauthenticatedMessage = reference.errors?.[0]?.message ?? '';
    expect(unauthenticatedMessage).not.toBe('');
  });
  afterAll(() => t.close());

  const gqlOk = async <T>(token: string, query: string, variables?: Record<string, unknown>) => {
    const response = await t.gql<T>(token, query, variables);
    expect(response.errors).toBeUndefined();
    return response.data as T;
  };

  // ---- fixtures ------------------------------------------------------------------------------------

  /** Every account-level role: the bootstrap admin's grants. */
  const accountManager = (org: Org) => org.key({ roles: accountRoles }, 'account manager');

  /** A team manager of team M that also holds schedules_editor at account level, so that it covers
   * schedules_* everywhere: its denials in the team-manager cases come from visibility alone. */
  const teamManager = (org: Org, managed: string) =>
    org.key(
      { roles: ['viewer', 'schedules_editor'], teams: [managed], teamRoles: ['api_keys_manage', 'schedules_editor'] },
      'team manager',
    );

  const inTeams = (...teams: string[]) => grants({ teamIds: teams, teamRoleNames: ['schedules_reader'] });

  /** An organization with a manager and a target key in team M; the caller is chosen by the case. */
  async function basicWorld() {
    const org = await t.org();
    const m = await org.team('M');
    const admin = await accountManager(org);
    const target = await org.key({ teams: [m], teamRoles: ['schedules_reader'] }, 'target');
    return { org, m, admin, target };
  }

  async function withBadToken(
    token: (w: Awaited<ReturnType<typeof basicWorld>>) => Promise<string | null>,
  ): Promise<Scene> {
    const w = await basicWorld();
    return {
      token: await token(w),
      callerId: null,
      target: w.target,
      createInput: inTeams(w.m),
      updateInput: inTeams(w.m),
      ownTeams: [w.m],
      foreignTeams: [],
    };
  }

  /** A team manager of M in an organization that also has team U; the target has `targetGrants`. */
  async function teamManagerWorld(
    targetGrants: (m: string, u: string) => { roles?: string[]; teams?: string[]; teamRoles?: string[] },
    createInput: (m: string, u: string) => GrantsInput,
  ): Promise<Scene> {
    const org = await t.org();
    const m = await org.team('M');
    const u = await org.team('U');
    const caller = await teamManager(org, m);
    const visible = await org.key({ teams: [m], teamRoles: ['schedules_reader'] }, 'visible to the team manager');
    const target = await org.key(targetGrants(m, u), 'target');
    return {
      token: caller.token,
      callerId: caller.id,
      target,
      createInput: createInput(m, u),
      updateInput: inTeams(m),
      // The caller holds an account-level role, so it does not see itself.
      listing: [visible.id],
      ownTeams: [m, u],
      foreignTeams: [],
    };
  }

  async function nonManagerWorld(
    callerGrants: (m: string) => { roles?: string[]; teams?: string[]; teamRoles?: string[] },
  ) {
    const org = await t.org();
    const m = await org.team('M');
    const caller = await org.key(callerGrants(m), 'non-manager');
    const target = await org.key({ teams: [m], teamRoles: ['schedules_reader'] }, 'target');
    return { org, m, caller, target };
  }

  const SCENES: Record<CaseName, { title: string; setup(): Promise<Scene> }> = {
    noToken: {
      title: 'without an Authorization header',
      setup: () => withBadToken(async () => null),
    },
    garbageToken: {
      title: 'with a token that is not a Keygate token',
      setup: () => withBadToken(async () => 'not-a-token'),
    },
    corruptedToken: {
      title: "with a manager's real token with one character changed",
      setup: () =>
        withBadToken(async (w) => {
          const i = 'keygate_'.length + 5;
          const c = w.admin.token[i] === 'A' ? 'B' : 'A';
          return `${w.admin.token.slice(0, i)}${c}${w.admin.token.slice(i + 1)}`;
        }),
    },
    unknownToken: {
      title: 'with a well-formed token that was never issued',
      setup: () => withBadToken(async () => generateToken()),
    },
    deletedKeyToken: {
      title: 'with the token of a deleted manager key',
      setup: () =>
        withBadToken(async (w) => {
          const doomed = await accountManager(w.org);
          await gqlOk(w.admin.token, `mutation { deleteApiKey(input: { id: "${doomed.id}" }) { deletedApiKeyId } }`);
          return doomed.token;
        }),
    },
    rotatedAwayToken: {
      title: 'with the token of a manager key rotated without a grace period',
      setup: () =>
        withBadToken(async (w) => {
          const rotated = await accountManager(w.org);
          await gqlOk(
            w.admin.token,
            `mutation { rotateApiKey(input: { id: "${rotated.id}", gracePeriodMinutes: 0 }) { token } }`,
          );
          return rotated.token;
        }),
    },
    otherOrganization: {
      title: 'an account manager, target and team of another organization',
      async setup() {
        const mine = await t.org();
        const myTeam = await mine.team('M');
        const caller = await accountManager(mine);
        const theirs = await t.org();
        const theirTeam = await theirs.team('M');
        await accountManager(theirs);
        const target = await theirs.key(
          { roles: ['viewer'], teams: [theirTeam], teamRoles: ['schedules_reader'] },
          'target',
        );
        return {
          token: caller.token,
          callerId: caller.id,
          target,
          createInput: inTeams(theirTeam),
          rejectedValue: theirTeam,
          updateInput: inTeams(myTeam),
          listing: [caller.id],
          ownTeams: [myTeam],
          foreignTeams: [theirTeam],
        };
      },
    },
    unmanagedTeam: {
      title: 'a team manager, target in a team it does not manage',
      setup: () =>
        teamManagerWorld(
          (_m, u) => ({ teams: [u], teamRoles: ['schedules_reader'] }),
          (_m, u) => inTeams(u),
        ),
    },
    partlyUnmanagedTeams: {
      title: 'a team manager, target in a team it manages and one it does not',
      setup: () =>
        teamManagerWorld(
          (m, u) => ({ teams: [m, u], teamRoles: ['schedules_reader'] }),
          (m, u) => inTeams(m, u),
        ),
    },
    targetWithAccountRole: {
      title: 'a team manager, target in its team but with an account-level role',
      setup: () =>
        teamManagerWorld(
          (m) => ({ roles: ['viewer'], teams: [m], teamRoles: ['schedules_reader'] }),
          (m) => ({ ...inTeams(m), roleNames: ['viewer'] }),
        ),
    },
    targetWithoutGrants: {
      title: 'a team manager, target with no grants at all',
      setup: () =>
        teamManagerWorld(
          () => ({}),
          () => grants(),
        ),
    },
    nonManagerWithEveryOtherRole: {
      title: 'a non-manager holding every other role, at account level and in the team',
      async setup() {
        const w = await nonManagerWorld((m) => ({
          roles: accountRoles.filter((r) => r !== 'api_keys_manage'),
          teams: [m],
          teamRoles: t.domain.catalogue.roles.filter((r) => r.teamLevel && r.grantableViaApi).map((r) => r.name),
        }));
        return {
          token: w.caller.token,
          callerId: w.caller.id,
          target: w.target,
          createInput: inTeams(w.m),
          updateInput: inTeams(w.m),
          ownTeams: [w.m],
          foreignTeams: [],
        };
      },
    },
    nonManagerWithoutGrants: {
      title: 'a non-manager with no grants',
      async setup() {
        const w = await nonManagerWorld(() => ({}));
        return {
          token: w.caller.token,
          callerId: w.caller.id,
          target: w.target,
          createInput: inTeams(w.m),
          updateInput: inTeams(w.m),
          ownTeams: [w.m],
          foreignTeams: [],
        };
      },
    },
    nonManagerOtherOrganization: {
      title: 'a non-manager, target and team of another organization (manager check before visibility)',
      async setup() {
        const w = await nonManagerWorld((m) => ({ roles: ['viewer'], teams: [m], teamRoles: ['schedules_editor'] }));
        const theirs = await t.org();
        const theirTeam = await theirs.team('M');
        const target = await theirs.key({ teams: [theirTeam], teamRoles: ['schedules_reader'] }, 'target');
        return {
          token: w.caller.token,
          callerId: w.caller.id,
          target,
          createInput: inTeams(theirTeam),
          rejectedValue: theirTeam,
          updateInput: inTeams(w.m),
          ownTeams: [w.m],
          foreignTeams: [theirTeam],
        };
      },
    },
    accountManagerControl: {
      title: 'control: an account manager, target in its organization',
      async setup() {
        const w = await basicWorld();
        return {
          token: w.admin.token,
          callerId: w.admin.id,
          target: w.target,
          createInput: { ...inTeams(w.m), roleNames: ['viewer'] },
          updateInput: { ...inTeams(w.m), roleNames: ['incident_editor'] },
          listing: [w.target.id, w.admin.id],
          ownTeams: [w.m],
          foreignTeams: [],
        };
      },
    },
    teamManagerControl: {
      title: 'control: a team manager, target in the team it manages',
      async setup() {
        const org = await t.org();
        const m = await org.team('M');
        const u = await org.team('U');
        const caller = await teamManager(org, m);
        const target = await org.key({ teams: [m], teamRoles: ['schedules_reader'] }, 'target');
        return {
          token: caller.token,
          callerId: caller.id,
          target,
          createInput: inTeams(m),
          updateInput: grants({ teamIds: [m], teamRoleNames: ['schedules_editor'] }),
          listing: [target.id],
          // Teams lists every team of the organization, managed or not.
          ownTeams: [m, u],
          foreignTeams: [],
        };
      },
    },
  };

  // ---- what "nothing changed" means ----------------------------------------------------------------

  /** Every key with its grants and tokens (lastUsedAt aside: authenticating is allowed to touch it). */
  async function snapshot() {
    const keys = await t.domain.db.apiKey.findMany({
      orderBy: { id: 'asc' },
      select: {
        id: true,
        organizationId: true,
        name: true,
        createdAt: true,
        tokenLastIssuedAt: true,
        creatorKeyId: true,
        creatorUserId: true,
        roles: { select: { roleName: true }, orderBy: { roleName: 'asc' } },
        teams: { select: { teamId: true }, orderBy: { teamId: 'asc' } },
        teamRoles: { select: { roleName: true }, orderBy: { roleName: 'asc' } },
        tokens: { select: { id: true, hash: true, expiresAt: true }, orderBy: { id: 'asc' } },
      },
    });
    return { keys, teams: await t.domain.db.team.count(), auditEvents: await t.domain.db.auditEvent.count() };
  }

  async function expectTokenWorks(key: { id: string; token: string }) {
    const response = await t.gql<{ currentApiKey: { id: string } }>(key.token, '{ currentApiKey { id } }');
    expect(response.status).toBe(200);
    expect(response.data?.currentApiKey.id).toBe(key.id);
  }

  async function expectTokenRejected(token: string) {
    const response = await t.gql(token, '{ currentApiKey { id } }');
    expect(response.status).toBe(401);
    expect(response.code).toBe('UNAUTHENTICATED');
  }

  // ---- what "allowed" means, per operation -----------------------------------------------------------

  type Data = Record<string, unknown>;
  const ids = (list: Array<{ id: string }>) => list.map((item) => item.id);

  const ALLOWED: Record<OperationName, (data: Data, s: Scene) => Promise<void>> = {
    async currentApiKey(data, s) {
      expect((data.currentApiKey as { id: string }).id).toBe(s.callerId);
    },
    async apiKey(data, s) {
      expect((data.apiKey as { id: string }).id).toBe(s.target.id);
    },
    async apiKeys(data, s) {
      const listed = (data.apiKeys as { edges: Array<{ node: { id: string } }> }).edges.map((e) => e.node.id);
      expect(listed).toEqual([...(s.listing ?? [])].sort().reverse());
      if (s.listing && !s.listing.includes(s.target.id)) expect(listed).not.toContain(s.target.id);
    },
    async roles(data) {
      const names = (data.roles as Array<{ name: string }>).map((r) => r.name);
      expect(names).toEqual(t.domain.catalogue.roles.map((r) => r.name));
    },
    async teams(data, s) {
      const listed = ids(data.teams as Array<{ id: string }>);
      expect([...listed].sort()).toEqual([...s.ownTeams].sort());
      for (const foreign of s.foreignTeams) expect(listed).not.toContain(foreign);
    },
    async auditEvents(data, s) {
      // Every key of the scene was created, so each visible key has an event, and no other key does.
      const targets = (data.auditEvents as { edges: Array<{ node: { target: { id: string } } }> }).edges.map(
        (e) => e.node.target.id,
      );
      expect([...new Set(targets)].sort()).toEqual([...(s.listing ?? [])].sort());
    },
    async createApiKey(data, s) {
      const payload = data.createApiKey as { token: string; apiKey: { id: string; teamIds: string[]; creator: Data } };
      expect([...payload.apiKey.teamIds].sort()).toEqual([...s.createInput.teamIds].sort());
      expect(payload.apiKey.creator).toMatchObject({ apiKey: { id: s.callerId }, user: null });
      await expectTokenWorks({ id: payload.apiKey.id, token: payload.token });
    },
    async updateApiKey(data, s) {
      const key = (data.updateApiKey as { apiKey: { id: string; name: string; teamIds: string[] } }).apiKey;
      expect(key).toMatchObject({ id: s.target.id, name: 'renamed by the matrix' });
      expect([...key.teamIds].sort()).toEqual([...s.updateInput.teamIds].sort());
      await expectTokenWorks(s.target); // editing grants never changes the token
    },
    async rotateApiKey(data, s) {
      const payload = data.rotateApiKey as { token: string; apiKey: { id: string } };
      expect(payload.apiKey.id).toBe(s.target.id);
      await expectTokenWorks({ id: s.target.id, token: payload.token });
      await expectTokenRejected(s.target.token);
    },
    async deleteApiKey(data, s) {
      expect(data.deleteApiKey).toEqual({ deletedApiKeyId: s.target.id });
      await expectTokenRejected(s.target.token);
    },
    async verifyApiKey() {
      throw new Error('no API key may call verifyApiKey');
    },
  };

  // ---- the generated tests -------------------------------------------------------------------------

  it('the matrix has a row for every query and mutation of the schema', () => {
    const rootFields = [schema.getQueryType(), schema.getMutationType()].flatMap((type) =>
      Object.keys(type?.getFields() ?? {}),
    );
    expect(MATRIX.map((r) => r.operation).sort()).toEqual(rootFields.sort());
  });

  const caseNames = Object.keys(SCENES) as CaseName[];
  describe.each(caseNames.map((name) => [SCENES[name].title, name] as const))('%s', (_title, caseName) => {
    it.each(MATRIX.map((r) => [r.operation, r[caseName]] as const))('%s → %s', async (operation, outcome) => {
      const scene = await SCENES[caseName].setup();
      const op = OPERATIONS[operation];
      const before = op.mutation ? await snapshot() : null;

      const response = await op.send(t, scene.token, scene);

      if (outcome === 'allowed') {
        expect(response.errors).toBeUndefined();
        expect(response.status).toBe(200);
        await ALLOWED[operation](response.data as Data, scene);
        return;
      }

      expect(response.code).toBe(outcome);
      expect(response.data).toBeNull();
      expect(response.errors).toHaveLength(1);
      const message = response.errors?.[0]?.message ?? '';
      if (outcome === 'UNAUTHENTICATED') {
        expect(response.status).toBe(401);
        // No hint of which check failed: one message for every authentication failure.
        expect(message).toBe(unauthenticatedMessage);
      } else {
        expect(response.status).not.toBe(401);
      }
      if (outcome === 'NOT_FOUND') expect(message).toBe(`API key "${scene.target.id}" was not found.`);
      if (outcome === 'BAD_USER_INPUT') expect(message).toContain(scene.rejectedValue);
      if (outcome === 'FORBIDDEN' && operation === 'verifyApiKey') expect(message).toMatch(/Only verifier tokens/);
      else if (outcome === 'FORBIDDEN' && caseName.startsWith('nonManager'))
        expect(message).toContain('api_keys_manage');

      if (before) {
        expect(await snapshot()).toEqual(before);
        await expectTokenWorks(scene.target);
      }
    });
  });
});
