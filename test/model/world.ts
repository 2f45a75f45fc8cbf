// The real side of the model test: the GraphQL documents, the scenario every sequence starts from (two
// organizations, keys playing every kind of caller), the statistics, and World, which sends requests
// and compares what the API says with what the model expects.
import type { GraphQLResponse, TestApp } from '../helpers/app.ts';
import { ACCOUNT_ROLES, type Decision, type Grants, type KeyState, MANAGE, type Outcome, RulesModel } from './model.ts';
import type { Caller } from './picks.ts';

export const MINUTE = 60_000;

// ---- GraphQL documents ----------------------------------------------------------------------------

export const KEY = `id name createdAt tokenLastIssuedAt creator { apiKey { id name } user { id } }
  roles { name } teamIds teamRoles { name }`;
export const CREATE = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { token apiKey { ${KEY} } } }`;
export const UPDATE = `mutation($input: UpdateApiKeyInput!) { updateApiKey(input: $input) { apiKey { ${KEY} } } }`;
export const ROTATE = `mutation($input: RotateApiKeyInput!) {
  rotateApiKey(input: $input) { token previousTokenExpiresAt apiKey { ${KEY} } } }`;
export const DELETE = 'mutation($input: DeleteApiKeyInput!) { deleteApiKey(input: $input) { deletedApiKeyId } }';
export const SHOW = `query($id: ID!) { apiKey(id: $id) { ${KEY} } }`;
export const LIST = `{ apiKeys(first: 250) { edges { node { ${KEY} } } pageInfo { hasNextPage } } }`;
export const CURRENT = `{ currentApiKey { ${KEY} } }`;
export const WHO = '{ currentApiKey { id } }';

export interface ApiKeyJson {
  id: string;
  name: string;
  createdAt: string;
  tokenLastIssuedAt: string;
  creator: { apiKey: { id: string; name: string } | null; user: { id: string } | null };
  roles: Array<{ name: string }>;
  teamIds: string[];
  teamRoles: Array<{ name: string }>;
}

// ---- the scenario: two organizations and keys playing every kind of caller -----------------------

export interface SeedKey {
  label: string;
  org: 'A' | 'B';
  roles?: string[];
  /** Indexes into the organization's teams. */
  teams?: number[];
  teamRoles?: string[];
  observer?: boolean;
}

export const EVERY_ROLE = ACCOUNT_ROLES;
export const SEED_KEYS: SeedKey[] = [
  { label: 'observer-A', org: 'A', roles: [...EVERY_ROLE], observer: true },
  { label: 'account-manager (every role)', org: 'A', roles: [...EVERY_ROLE] },
  {
    label: 'account-manager (few roles)',
    org: 'A',
    roles: [MANAGE, 'viewer', 'incident_creator', 'schedules_editor', 'catalog_viewer'],
  },
  {
    label: 'team-manager T1+T2',
    org: 'A',
    teams: [0, 1],
    teamRoles: [MANAGE, 'schedules_editor', 'on_call_editor'],
  },
  {
    label: 'team-manager T1 with account roles',
    org: 'A',
    roles: ['viewer', 'schedules_reader'],
    teams: [0],
    teamRoles: [MANAGE, 'schedule_overrides_editor'],
  },
  { label: 'team-manager T3', org: 'A', teams: [2], teamRoles: [MANAGE, 'escalation_creator', 'schedules_reader'] },
  { label: 'team-manager T1+T2+T3 (manage only)', org: 'A', teams: [0, 1, 2], teamRoles: [MANAGE] },
  {
    label: 'non-manager with roles',
    org: 'A',
    roles: ['viewer', 'catalog_editor', 'schedules_editor'],
    teams: [1],
    teamRoles: ['on_call_editor'],
  },
  { label: 'non-manager without grants', org: 'A' },
  { label: 'member T1', org: 'A', teams: [0], teamRoles: ['schedules_editor'] },
  { label: 'member T1+T2', org: 'A', teams: [0, 1], teamRoles: ['schedules_reader', 'escalation_creator'] },
  { label: 'observer-B', org: 'B', roles: [...EVERY_ROLE], observer: true },
  { label: 'other-org account-manager', org: 'B', roles: [...EVERY_ROLE] },
  { label: 'other-org team-manager', org: 'B', teams: [0], teamRoles: [MANAGE, 'schedules_editor'] },
  { label: 'other-org non-manager', org: 'B', roles: ['viewer'] },
];

// ---- statistics -----------------------------------------------------------------------------------

export class Stats {
  runs = 0;
  steps = 0;
  requests = 0;
  readonly outcomes = new Map<string, number>();

  count(operation: string, decision: Decision): void {
    const keys = [`${operation} ${decision.outcome}`];
    if (decision.reason) keys.push(`${operation} ${decision.outcome} (${decision.reason})`);
    for (const key of keys) this.outcomes.set(key, (this.outcomes.get(key) ?? 0) + 1);
  }

  seen(operation: string, outcome: Outcome, reason?: string): number {
    return this.outcomes.get(reason ? `${operation} ${outcome} (${reason})` : `${operation} ${outcome}`) ?? 0;
  }

  report(provider: string, ms: number): string {
    const lines = [...this.outcomes].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `  ${k}: ${n}`);
    return [
      `rules model on ${provider}: ${this.runs} sequences, ${this.steps} steps, ${this.requests} requests in ${ms} ms`,
      ...lines,
    ].join('\n');
  }
}

// ---- the real side --------------------------------------------------------------------------------

export class Mismatch extends Error {}

export function sorted(values: readonly string[]): string[] {
  return [...values].sort();
}

/** The API and everything the commands need to reach it. */
export class World {
  readonly trail: string[] = [];
  readonly orgIds: Record<'A' | 'B', string>;
  readonly observerToken = new Map<string, string>();

  constructor(
    readonly t: TestApp,
    readonly stats: Stats,
    orgIds: Record<'A' | 'B', string>,
    readonly startMs: number,
  ) {
    this.orgIds = orgIds;
  }

  at(minute: number): string {
    return new Date(this.startMs + minute * MINUTE).toISOString();
  }

  async gql<T>(token: string, query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>> {
    this.stats.requests++;
    return this.t.gql<T>(token, query, variables);
  }

  fail(what: string, expected: unknown, actual: unknown): never {
    throw new Mismatch(
      [
        what,
        `  model: ${JSON.stringify(expected)}`,
        `  API:   ${JSON.stringify(actual)}`,
        'steps of this sequence:',
        ...this.trail.map((line, index) => `  ${index + 1}. ${line}`),
      ].join('\n'),
    );
  }

  /** The outcome must be the model's; errors must name what failed. */
  expectOutcome(operation: string, decision: Decision, response: GraphQLResponse): void {
    const actual: Outcome | string = response.errors ? (response.code ?? 'no code') : 'ok';
    this.stats.count(operation, decision);
    this.trail[this.trail.length - 1] += ` → ${actual}`;
    if (actual !== decision.outcome) {
      this.fail(`${operation}: outcome differs`, decision.outcome, {
        status: response.status,
        errors: response.errors,
      });
    }
    if (decision.outcome === 'UNAUTHENTICATED' && response.status !== 401) {
      this.fail(`${operation}: HTTP status`, 401, response.status);
    }
    if (decision.outcome === 'ok' && (response.status !== 200 || !response.data)) {
      this.fail(`${operation}: HTTP status`, 200, response.status);
    }
    const message = response.errors?.[0]?.message ?? '';
    if (decision.hints && !decision.hints.some((hint) => message.includes(hint))) {
      this.fail(`${operation}: the error message names none of what failed`, decision.hints, message);
    }
  }

  expectKey(what: string, model: KeyState, json: ApiKeyJson): void {
    const expected = {
      id: model.id,
      name: model.name,
      roles: sorted(model.grants.roles),
      teamIds: sorted(model.grants.teams),
      teamRoles: sorted(model.grants.teamRoles),
      creator:
        model.creator.kind === 'user'
          ? { user: model.creator.userId }
          : { apiKey: { id: model.creator.id, name: model.creator.name } },
      createdAt: this.at(model.createdAt),
      tokenLastIssuedAt: this.at(model.tokenLastIssuedAt),
    };
    const actual = {
      id: json.id,
      name: json.name,
      roles: sorted(json.roles.map((role) => role.name)),
      teamIds: sorted(json.teamIds),
      teamRoles: sorted(json.teamRoles.map((role) => role.name)),
      creator: json.creator.user
        ? { user: json.creator.user.id }
        : { apiKey: json.creator.apiKey && { id: json.creator.apiKey.id, name: json.creator.apiKey.name } },
      createdAt: json.createdAt,
      tokenLastIssuedAt: json.tokenLastIssuedAt,
    };
    if (JSON.stringify(expected) !== JSON.stringify(actual)) this.fail(`${what}: key ${model.label}`, expected, actual);
  }

  /** The organizations' keys, as their observers list them, are exactly the model's keys. */
  async compareOrganizations(model: RulesModel, orgs: ReadonlyArray<'A' | 'B'>): Promise<void> {
    for (const org of orgs) {
      const orgId = this.orgIds[org];
      const observer = this.observerToken.get(orgId) as string;
      const response = await this.gql<{ apiKeys: { edges: Array<{ node: ApiKeyJson }> } }>(observer, LIST);
      if (!response.data) this.fail(`listing organization ${org}`, 'a list', response.errors);
      const listed = response.data.apiKeys.edges.map((edge) => edge.node);
      const expected = model.liveKeys(orgId);
      const expectedIds = sorted(expected.map((key) => key.id));
      const listedIds = sorted(listed.map((key) => key.id));
      if (expectedIds.join() !== listedIds.join()) {
        this.fail(`keys of organization ${org}`, labelled(model, expectedIds), labelled(model, listedIds));
      }
      for (const key of expected) {
        this.expectKey(`organization ${org}`, key, listed.find((json) => json.id === key.id) as ApiKeyJson);
      }
    }
  }

  /** Every token of these keys authenticates exactly when the model says it works. */
  async compareTokens(model: RulesModel, keyIds: ReadonlySet<string>): Promise<void> {
    for (const token of model.tokens) {
      if (!keyIds.has(token.keyId)) continue;
      const works = model.tokenWorks(token);
      const response = await this.gql<{ currentApiKey: { id: string } }>(token.value, WHO);
      const actual = response.data?.currentApiKey.id === token.keyId ? 'works' : (response.code ?? 'no code');
      const label = model.keys.get(token.keyId)?.label;
      if (works ? actual !== 'works' : actual !== 'UNAUTHENTICATED' || response.status !== 401) {
        this.fail(
          `a token of ${label} (expires at minute ${token.expiresAt}, now ${model.now})`,
          works ? 'works' : 'UNAUTHENTICATED',
          actual,
        );
      }
    }
  }

  /**
   * After each step: the caller's organization (where a change may happen) and the tokens of the keys
   * the step touched. The other organization is compared at the end of the sequence.
   */
  async afterStep(model: RulesModel, caller: Caller | null, touched: Array<KeyState | undefined>): Promise<void> {
    this.stats.steps++;
    await this.compareOrganizations(model, [caller?.key?.orgId === this.orgIds.B ? 'B' : 'A']);
    const ids = new Set(touched.filter((key): key is KeyState => key !== undefined).map((key) => key.id));
    if (ids.size > 0) await this.compareTokens(model, ids);
  }

  /** At the end of a sequence: both organizations and every token ever issued. */
  async afterSequence(model: RulesModel): Promise<void> {
    this.trail.push('end of sequence: both organizations, every token');
    await this.compareOrganizations(model, ['A', 'B']);
    await this.compareTokens(model, new Set(model.keys.keys()));
  }
}

export function labelled(model: RulesModel, ids: string[]): string[] {
  return ids.map((id) => `${model.keys.get(id)?.label ?? 'unknown'} ${id}`);
}

export async function setUp(t: TestApp, stats: Stats): Promise<{ model: RulesModel; real: World }> {
  const model = new RulesModel();
  const orgA = await t.org();
  const orgB = await t.org();
  const teams = {
    A: [await orgA.team(), await orgA.team(), await orgA.team()],
    B: [await orgB.team()],
  };
  for (const team of teams.A) model.addTeam(orgA.id, team);
  for (const team of teams.B) model.addTeam(orgB.id, team);
  const world = new World(t, stats, { A: orgA.id, B: orgB.id }, t.clock.now().getTime());
  for (const seed of SEED_KEYS) {
    const org = seed.org === 'A' ? orgA : orgB;
    const grants: Grants = {
      roles: seed.roles ?? [],
      teams: (seed.teams ?? []).map((index) => teams[seed.org][index] as string),
      teamRoles: seed.teamRoles ?? [],
    };
    const { id, token } = await org.key(grants, seed.label);
    model.addKey(
      {
        id,
        orgId: org.id,
        name: seed.label,
        grants,
        creator: { kind: 'user', userId: org.userId },
        observer: seed.observer ?? false,
        label: seed.label,
      },
      token,
    );
    if (seed.observer) world.observerToken.set(org.id, token);
  }
  stats.runs++;
  return { model, real: world };
}
