// Races (issue 4): many concurrent rotate, update and delete requests on one key end in a state that
// some serial order of the successful ones produces. The audit log, written in each change's
// transaction, gives that order; replaying it through a small model of docs/rules.md ("Tokens", update's
// PUT semantics, delete) must give exactly what the database holds and what the API answers:
// exactly one current token, every earlier token expiring when the rotation that replaced it said,
// the grants and name of the last update, nothing left of a deleted key. Every successful mutation is
// in that order (no write lost) and nothing else is (a refused one wrote nothing).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../src/domain/tokens.ts';
import { createTestApp, type GraphQLResponse, type Org, type TestApp } from '../helpers/app.ts';
import { providers } from '../helpers/databases.ts';
import { DELETE, WHOAMI } from '../helpers/documents.ts';

const MINUTE = 60_000;
const CONCURRENT = 50;
const ROUNDS = 3;

const UPDATE = `mutation($input: UpdateApiKeyInput!) {
  updateApiKey(input: $input) { apiKey { id name roles { name } teamIds teamRoles { name } } }
}`;
const ROTATE = `mutation($input: RotateApiKeyInput!) {
  rotateApiKey(input: $input) { token previousTokenExpiresAt apiKey { tokenLastIssuedAt } }
}`;
const SHOW = `query($id: ID!) {
  apiKey(id: $id) { name roles { name } teamIds teamRoles { name } tokenLastIssuedAt }
}`;
const AUDIT = `query($after: String) {
  auditEvents(first: 250, after: $after) {
    edges { node {
      id action createdAt target { id name }
      grantsAfter { roleNames teamIds teamRoleNames }
      details { previousName gracePeriodMinutes previousTokenExpiresAt }
    } }
    pageInfo { hasNextPage endCursor }
  }
}`;

interface Grants {
  roleNames: string[];
  teamIds: string[];
  teamRoleNames: string[];
}

interface Shown {
  name: string;
  roles: Array<{ name: string }>;
  teamIds: string[];
  teamRoles: Array<{ name: string }>;
  tokenLastIssuedAt: string;
}

interface AuditNode {
  id: string;
  action: string;
  createdAt: string;
  target: { id: string; name: string };
  grantsAfter: Grants | null;
  details: { previousName: string | null; gracePeriodMinutes: number | null; previousTokenExpiresAt: string | null };
}

interface AuditPage {
  auditEvents: { edges: Array<{ node: AuditNode }>; pageInfo: { hasNextPage: boolean; endCursor: string } };
}

type Op =
  | { kind: 'update'; input: { id: string; name: string } & Grants }
  | { kind: 'rotate'; input: { id: string; gracePeriodMinutes: number } }
  | { kind: 'delete'; input: { id: string } };

interface Outcome {
  op: Op;
  response: GraphQLResponse;
}

const sorted = (values: readonly string[]) => [...values].sort();
const canonical = (grants: Grants): Grants => ({
  roleNames: sorted(grants.roleNames),
  teamIds: sorted(grants.teamIds),
  teamRoleNames: sorted(grants.teamRoleNames),
});
const shownGrants = (shown: Shown): Grants =>
  canonical({
    roleNames: shown.roles.map((role) => role.name),
    teamIds: shown.teamIds,
    teamRoleNames: shown.teamRoles.map((role) => role.name),
  });

describe.each(providers)('concurrent changes to one key on %s', (provider) => {
  /** Figures of every storm on this provider, for the closing note of issue 4. */
  const figures = { sent: 0, answers: {} as Record<string, number>, writesLost: 0, phantomWrites: 0 };
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(provider);
  });
  afterAll(async () => {
    await t.close();
    console.info(
      `races on ${provider}: ${figures.sent} requests sent; answers ${JSON.stringify(figures.answers)}; ` +
        `writes lost ${figures.writesLost}; writes of refused requests ${figures.phantomWrites}`,
    );
  });

  interface Setup {
    org: Org;
    manager: { id: string; token: string };
    target: { id: string; token: string };
    original: { name: string } & Grants;
    variants: Grants[];
  }

  async function setup(): Promise<Setup> {
    const org = await t.org();
    const teams = [await org.team('Team A'), await org.team('Team B'), await org.team('Team C')];
    // Account-level roles that cover every grant below, in any team.
    const manager = await org.key(
      { roles: ['api_keys_manage', 'viewer', 'incident_creator', 'catalog_viewer', 'schedules_editor'] },
      'race manager',
    );
    const [a, b, c] = teams as [string, string, string];
    const variants: Grants[] = [
      { roleNames: ['viewer'], teamIds: [], teamRoleNames: [] },
      { roleNames: ['incident_creator'], teamIds: [a], teamRoleNames: ['schedules_editor'] },
      { roleNames: [], teamIds: [a, b], teamRoleNames: ['schedules_reader'] },
      {
        roleNames: ['viewer', 'catalog_viewer'],
        teamIds: [b, c],
        teamRoleNames: ['schedules_editor', 'schedules_reader'],
      },
      { roleNames: [], teamIds: [a, b, c], teamRoleNames: ['schedules_editor'] },
      { roleNames: ['incident_creator', 'catalog_viewer'], teamIds: [], teamRoleNames: [] },
      { roleNames: ['viewer', 'incident_creator'], teamIds: [c], teamRoleNames: ['schedules_reader'] },
    ].map(canonical);
    const original = { name: 'race target', roleNames: ['viewer'], teamIds: [a], teamRoleNames: ['schedules_reader'] };
    const target = await org.key(
      { roles: original.roleNames, teams: original.teamIds, teamRoles: original.teamRoleNames },
      original.name,
    );
    return { org, manager, target, original: { ...original, ...canonical(original) }, variants };
  }

  /** `pattern` spells the mix: u = update, r = rotate, d = delete. Names and grace periods are unique. */
  function operations(s: Setup, pattern: string): Op[] {
    let updates = 0;
    let rotations = 0;
    return [...pattern].map((letter): Op => {
      const id = s.target.id;
      if (letter === 'u') {
        const n = updates++;
        return { kind: 'update', input: { id, name: `update ${n}`, ...(s.variants[n % s.variants.length] as Grants) } };
      }
      if (letter === 'r') {
        // 0..60 minutes, all different (7 and 61 are coprime); some 0, so earlier tokens also expire.
        return { kind: 'rotate', input: { id, gracePeriodMinutes: (rotations++ * 7) % 61 } };
      }
      return { kind: 'delete', input: { id } };
    });
  }

  function send(token: string, op: Op): Promise<GraphQLResponse> {
    const query = op.kind === 'update' ? UPDATE : op.kind === 'rotate' ? ROTATE : DELETE;
    return t.gql(token, query, { input: op.input });
  }

  async function storm(s: Setup, ops: Op[]): Promise<Outcome[]> {
    const responses = await Promise.all(ops.map((op) => send(s.manager.token, op)));
    const outcomes = ops.map((op, i) => ({ op, response: responses[i] as GraphQLResponse }));
    for (const { response } of outcomes) {
      figures.sent++;
      const answer = `${response.status} ${response.code ?? 'OK'}`;
      figures.answers[answer] = (figures.answers[answer] ?? 0) + 1;
    }
    return outcomes;
  }

  async function auditOf(s: Setup): Promise<AuditNode[]> {
    const nodes: AuditNode[] = [];
    let after: string | null = null;
    for (;;) {
      const page: GraphQLResponse<AuditPage> = await t.gql<AuditPage>(s.manager.token, AUDIT, { after });
      expect(page.errors).toBeUndefined();
      const events = page.data?.auditEvents;
      if (!events) throw new Error('no audit events');
      nodes.push(...events.edges.map((edge) => edge.node));
      if (!events.pageInfo.hasNextPage) break;
      after = events.pageInfo.endCursor;
    }
    // Newest first through the API; the replay wants the order in which the changes committed.
    return nodes.filter((node) => node.target.id === s.target.id).reverse();
  }

  interface ModelToken {
    token: string;
    expiresAt: number | null;
  }

  interface Model {
    name: string;
    grants: Grants;
    tokens: ModelToken[];
    tokenLastIssuedAt: number | null;
    deleted: boolean;
    /** Every token handed out: the original and one per successful rotation. */
    issued: string[];
  }

  /**
   * Replays the committed changes (audit order) with the requests that made them and checks that each
   * one is a successful request, and each successful request is exactly one of them.
   */
  function replay(s: Setup, outcomes: Outcome[], events: AuditNode[]): Model {
    const model: Model = {
      name: s.original.name,
      grants: canonical(s.original),
      tokens: [{ token: s.target.token, expiresAt: null }],
      tokenLastIssuedAt: null,
      deleted: false,
      issued: [s.target.token],
    };
    const succeeded = outcomes.filter((outcome) => outcome.response.errors === undefined);
    const matched = new Set<Outcome>();
    const claim = (found: Outcome | undefined, event: AuditNode): Outcome => {
      if (!found || matched.has(found)) {
        figures.phantomWrites++;
        throw new Error(`audit event ${event.action} ${event.id} matches no successful request`);
      }
      matched.add(found);
      return found;
    };
    expect(events[0]?.action).toBe('api_key.created');
    for (const event of events.slice(1)) {
      expect(model.deleted, 'nothing happens to a key after its deletion').toBe(false);
      if (event.action === 'api_key.updated') {
        const outcome = claim(
          succeeded.find((o) => o.op.kind === 'update' && o.op.input.name === event.target.name),
          event,
        );
        const input = outcome.op.input as Op['input'] & Grants & { name: string };
        // The update saw the state the previous change left: no two updates worked from one state.
        expect(event.details.previousName).toBe(model.name);
        model.name = input.name;
        model.grants = canonical(input);
        expect(event.grantsAfter && canonical(event.grantsAfter)).toEqual(model.grants);
      } else if (event.action === 'api_key.rotated') {
        const outcome = claim(
          succeeded.find(
            (o) => o.op.kind === 'rotate' && o.op.input.gracePeriodMinutes === event.details.gracePeriodMinutes,
          ),
          event,
        );
        const payload = (outcome.response.data as { rotateApiKey: RotatePayload }).rotateApiKey;
        const at = Date.parse(payload.apiKey.tokenLastIssuedAt);
        const previousExpiresAt = Date.parse(payload.previousTokenExpiresAt);
        expect(previousExpiresAt).toBe(at + (event.details.gracePeriodMinutes ?? -1) * MINUTE);
        expect(event.details.previousTokenExpiresAt && Date.parse(event.details.previousTokenExpiresAt)).toBe(
          previousExpiresAt,
        );
        // docs/rules.md "Tokens": the current one keeps working until now + grace; earlier ones keep
        // their own expiry. Those that no longer work are gone (the current one too, with no grace).
        for (const token of model.tokens) if (token.expiresAt === null) token.expiresAt = previousExpiresAt;
        model.tokens = model.tokens.filter((token) => token.expiresAt === null || token.expiresAt > at);
        model.tokens.push({ token: payload.token, expiresAt: null });
        model.issued.push(payload.token);
        model.tokenLastIssuedAt = at;
      } else if (event.action === 'api_key.deleted') {
        claim(
          succeeded.find((o) => o.op.kind === 'delete'),
          event,
        );
        model.deleted = true;
        model.tokens = [];
      } else {
        throw new Error(`unexpected audit action ${event.action}`);
      }
    }
    const lost = succeeded.filter((outcome) => !matched.has(outcome));
    figures.writesLost += lost.length;
    expect(
      lost.map((outcome) => outcome.op),
      'successful requests whose change is not in the history',
    ).toEqual([]);
    return model;
  }

  interface RotatePayload {
    token: string;
    previousTokenExpiresAt: string;
    apiKey: { tokenLastIssuedAt: string };
  }

  /** The database and the API hold exactly what the model says. */
  async function expectState(s: Setup, model: Model) {
    const db = t.domain.db;
    const rows = await db.apiKeyToken.findMany({ where: { apiKeyId: s.target.id }, orderBy: { id: 'asc' } });
    const stored = rows.map((row) => ({
      hash: Buffer.from(row.hash).toString('hex'),
      expiresAt: row.expiresAt?.getTime() ?? null,
    }));
    const expected = model.tokens.map((token) => ({ hash: hashToken(token.token), expiresAt: token.expiresAt }));
    expect(stored).toEqual(expected);
    const shown = await t.gql<{ apiKey: Shown }>(s.manager.token, SHOW, { id: s.target.id });
    if (model.deleted) {
      expect(shown.code).toBe('NOT_FOUND');
      expect(await db.apiKey.count({ where: { id: s.target.id } })).toBe(0);
      expect(await db.apiKeyRole.count({ where: { apiKeyId: s.target.id } })).toBe(0);
      expect(await db.apiKeyTeam.count({ where: { apiKeyId: s.target.id } })).toBe(0);
      expect(await db.apiKeyTeamRole.count({ where: { apiKeyId: s.target.id } })).toBe(0);
    } else {
      expect(
        stored.filter((row) => row.expiresAt === null),
        'exactly one current token',
      ).toHaveLength(1);
      expect(shown.errors).toBeUndefined();
      const key = shown.data?.apiKey as Shown;
      expect(key.name).toBe(model.name);
      expect(shownGrants(key)).toEqual(model.grants);
      if (model.tokenLastIssuedAt !== null) expect(Date.parse(key.tokenLastIssuedAt)).toBe(model.tokenLastIssuedAt);
    }
    // Through the API: exactly the tokens the model holds, unexpired, authenticate.
    const now = t.clock.now().getTime();
    for (const token of model.issued) {
      const held = model.tokens.find((candidate) => candidate.token === token);
      const valid = held !== undefined && (held.expiresAt === null || held.expiresAt > now);
      const response = await t.gql(token, WHOAMI);
      expect(response.status, `token #${model.issued.indexOf(token)} ${valid ? 'works' : 'is refused'}`).toBe(
        valid ? 200 : 401,
      );
    }
  }

  describe('50 concurrent updates and rotations of one key', () => {
    for (let round = 1; round <= ROUNDS; round++) {
      it(`round ${round}: all succeed and the result is their serial replay`, async () => {
        const s = await setup();
        const ops = operations(s, 'ur'.repeat(CONCURRENT / 2));
        const outcomes = await storm(s, ops);
        expect(outcomes.map((o) => o.response.code ?? 'OK')).toEqual(ops.map(() => 'OK'));
        const model = replay(s, outcomes, await auditOf(s));
        expect(model.deleted).toBe(false);
        await expectState(s, model);
      });
    }
  });

  describe('50 concurrent updates, rotations and deletes of one key', () => {
    // Four deletes, from the middle to the end of the submission order.
    const pattern = `${'ur'.repeat(10)}d${'ru'.repeat(6)}d${'ur'.repeat(6)}rdud`;
    for (let round = 1; round <= ROUNDS; round++) {
      it(`round ${round}: one delete wins, what it follows is replayed, what follows it is NOT_FOUND`, async () => {
        const s = await setup();
        const ops = operations(s, pattern.slice(0, CONCURRENT));
        expect(ops).toHaveLength(CONCURRENT);
        const outcomes = await storm(s, ops);
        for (const { response } of outcomes) {
          expect(response.status).toBe(200);
          expect([undefined, 'NOT_FOUND']).toContain(response.code);
        }
        const deletes = outcomes.filter((o) => o.op.kind === 'delete' && o.response.errors === undefined);
        expect(deletes).toHaveLength(1);
        const model = replay(s, outcomes, await auditOf(s));
        expect(model.deleted).toBe(true);
        await expectState(s, model);
        // Later changes find nothing.
        for (const op of operations(s, 'urd')) expect((await send(s.manager.token, op)).code).toBe('NOT_FOUND');
      });
    }
  });

  /** Runs `read` over and over for as long as `during` takes; returns every answer. */
  async function readWhile<T>(during: Promise<unknown>, read: () => Promise<T>, readers = 5): Promise<T[]> {
    let running = true;
    const answers: T[] = [];
    const loop = async () => {
      while (running) answers.push(await read());
    };
    const loops = Array.from({ length: readers }, loop);
    await during;
    running = false;
    await Promise.all(loops);
    return answers;
  }

  it('reads during a storm of updates show grants some update committed, never half-written ones', async () => {
    const s = await setup();
    const ops = operations(s, 'u'.repeat(CONCURRENT));
    const names = new Set([s.original.name]);
    const grantSets = new Set([JSON.stringify(canonical(s.original))]);
    for (const op of ops) {
      if (op.kind !== 'update') continue;
      names.add(op.input.name);
      grantSets.add(JSON.stringify(canonical(op.input)));
    }
    const stormed = storm(s, ops);
    const reads = await readWhile(stormed, () => t.gql<{ apiKey: Shown }>(s.manager.token, SHOW, { id: s.target.id }));
    expect((await stormed).map((o) => o.response.code ?? 'OK')).toEqual(ops.map(() => 'OK'));
    expect(reads.length).toBeGreaterThanOrEqual(5);
    for (const read of reads) {
      expect(read.errors).toBeUndefined();
      const key = read.data?.apiKey as Shown;
      expect(names).toContain(key.name);
      expect(grantSets).toContain(JSON.stringify(shownGrants(key)));
    }
  });

  it('a team manager never sees a key outside its teams while that key is being changed', async () => {
    const s = await setup();
    const team = s.original.teamIds[0] as string;
    const teamManager = await s.org.key({ teams: [team], teamRoles: ['api_keys_manage', 'schedules_editor'] });
    // The target keeps an account-level role throughout, so it is never visible to the team manager;
    // while its grants are replaced there are moments (roles gone, team not yet) that must not show.
    const ops: Op[] = Array.from({ length: CONCURRENT }, (_, n) => ({
      kind: 'update',
      input: { id: s.target.id, name: `rename ${n}`, ...canonical(s.original) },
    }));
    const stormed = storm(s, ops);
    const reads = await readWhile(stormed, async () => {
      const shown = await t.gql(teamManager.token, SHOW, { id: s.target.id });
      const listed = await t.gql<{ apiKeys: { edges: Array<{ node: { id: string } }> } }>(
        teamManager.token,
        '{ apiKeys(first: 250) { edges { node { id } } } }',
      );
      return { shown: shown.code, listed: listed.data?.apiKeys.edges.map((edge) => edge.node.id) ?? null };
    });
    expect((await stormed).every((o) => o.response.errors === undefined)).toBe(true);
    expect(reads.length).toBeGreaterThanOrEqual(5);
    for (const read of reads) expect(read).toEqual({ shown: 'NOT_FOUND', listed: [teamManager.id] });
  });
});
