// The generators of the model test: which callers, targets, names, grants and grace periods the
// commands carry, valid and invalid, and how often each command comes.
import fc from 'fast-check';
import {
  AdvanceClockStep,
  type Cmd,
  CreateStep,
  CurrentStep,
  DeleteStep,
  ListStep,
  RotateStep,
  ShowStep,
  UpdateStep,
} from './commands.ts';
import { ACCOUNT_ROLES, CATALOGUE, TEAM_ROLES } from './model.ts';
import type { CallerPick, GrantsPick, TargetPick, TeamPick } from './picks.ts';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const ulidArb = fc
  .tuple(fc.constantFrom(...'01234567'), fc.array(fc.constantFrom(...CROCKFORD), { minLength: 25, maxLength: 25 }))
  .map(([first, rest]) => first + rest.join(''));
const garbageIdArb = fc.constantFrom(
  '',
  'abc',
  '42',
  'not-an-id',
  '01FCNDV6P870EA6S7TK1DSYDG', // 25 characters
  '01FCNDV6P870EA6S7TK1DSYDG00', // 27 characters
  '01FCNDV6P870EA6S7TK1DSYDGU', // U is not Crockford base32
  '81FCNDV6P870EA6S7TK1DSYDG0', // beyond the largest timestamp
  "01FCNDV6P870EA6S7TK1DSYDG'",
);

const callerArb: fc.Arbitrary<CallerPick> = fc.record({
  kind: fc.oneof(
    { weight: 10, arbitrary: fc.constant('manager' as const) },
    { weight: 4, arbitrary: fc.constant('live' as const) },
    { weight: 2, arbitrary: fc.constant('any' as const) },
    { weight: 2, arbitrary: fc.constantFrom('corrupted' as const, 'garbage' as const) },
  ),
  n: fc.nat(),
});

const targetArb: fc.Arbitrary<TargetPick> = fc
  .record({
    kind: fc.oneof(
      { weight: 10, arbitrary: fc.constant('visible' as const) },
      { weight: 4, arbitrary: fc.constant('sameOrg' as const) },
      { weight: 2, arbitrary: fc.constant('any' as const) },
      { weight: 1, arbitrary: fc.constant('self' as const) },
      { weight: 2, arbitrary: fc.constant('missing' as const) },
      { weight: 2, arbitrary: fc.constant('garbage' as const) },
    ),
    n: fc.nat(),
    raw: fc.oneof(ulidArb, garbageIdArb),
  })
  .map((pick) =>
    pick.kind === 'garbage' && /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/.test(pick.raw) ? { ...pick, raw: 'abc' } : pick,
  );

const nameArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 16, arbitrary: fc.stringMatching(/^[A-Za-z][A-Za-z0-9 _-]{0,24}$/) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '',
      '   ',
      '\t\n ',
      'x'.repeat(201),
      `  ${'y'.repeat(200)}  `,
      'z'.repeat(200),
      ' padded ',
      'Ünïcödé ключ 鍵 🔑',
      'nul\u0000inside',
      'bell\u0007',
      'txt.\u202eexe',
      '\u200b\u200d',
      '\u2800\u0301',
      '\ufff9 \ue000',
      'lone \ud800',
      'cle\u0301',
    ),
  },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }) },
  { weight: 1, arbitrary: fc.constantFrom(42, null, undefined, true) },
);

const BAD_ROLE_NAMES = ['bogus', 'Viewer', 'viewer ', 'api-keys-manage', 'schedules.edit'];
const roleArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 40, arbitrary: fc.constantFrom(...ACCOUNT_ROLES) },
  { weight: 1, arbitrary: fc.constantFrom(...BAD_ROLE_NAMES) },
  { weight: 1, arbitrary: fc.constant(7) },
);
const teamRoleArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 40, arbitrary: fc.constantFrom(...TEAM_ROLES) },
  { weight: 1, arbitrary: fc.constantFrom(...ACCOUNT_ROLES.filter((role) => !CATALOGUE.get(role)?.team)) },
  { weight: 1, arbitrary: fc.constantFrom(...BAD_ROLE_NAMES) },
);
const teamArb: fc.Arbitrary<TeamPick> = fc.oneof(
  { weight: 30, arbitrary: fc.record({ kind: fc.constant('own' as const), n: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('foreign' as const), n: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('unknown' as const), id: fc.oneof(ulidArb, garbageIdArb) }) },
);

// Teams and team roles come together most of the time: a mismatch is one input error among many.
type TeamPart = { teams: TeamPick[]; teamRoles: unknown[] };
const teamPart = (teams: fc.Arbitrary<TeamPick[]>, teamRoles: fc.Arbitrary<unknown[]>): fc.Arbitrary<TeamPart> =>
  fc.record({ teams, teamRoles });
const teamPartArb: fc.Arbitrary<TeamPart> = fc.oneof(
  {
    weight: 12,
    arbitrary: teamPart(
      fc.array(teamArb, { minLength: 1, maxLength: 3 }),
      fc.array(teamRoleArb, { minLength: 1, maxLength: 3 }),
    ),
  },
  { weight: 6, arbitrary: teamPart(fc.constant([]), fc.constant([])) },
  { weight: 1, arbitrary: teamPart(fc.array(teamArb, { minLength: 1, maxLength: 2 }), fc.constant([])) },
  { weight: 1, arbitrary: teamPart(fc.constant([]), fc.array(teamRoleArb, { minLength: 1, maxLength: 2 })) },
);

const randomGrantsArb: fc.Arbitrary<GrantsPick> = fc
  .record({
    roles: fc.array(roleArb, { maxLength: 3 }),
    teamPart: teamPartArb,
    lists: fc.oneof(
      { weight: 30, arbitrary: fc.constant('given' as const) },
      { weight: 1, arbitrary: fc.constantFrom('omitted' as const, 'null' as const) },
    ),
  })
  .map(({ roles, teamPart, lists }): GrantsPick => ({ from: 'random', roles, ...teamPart, lists }));

/** Usually nothing, sometimes one item. */
const sometimesOne = <T>(item: fc.Arbitrary<T>): fc.Arbitrary<T[]> =>
  fc.oneof({ weight: 3, arbitrary: fc.constant([] as T[]) }, { weight: 1, arbitrary: item.map((value) => [value]) });

const derivedGrantsArb = (from: 'caller' | 'target'): fc.Arbitrary<GrantsPick> =>
  fc.record({
    from: fc.constant(from),
    keep: fc.nat(),
    // Keeping api_keys_manage where a target already has it is allowed; for a caller's grants it never is.
    withManage: fc.oneof(
      { weight: from === 'caller' ? 4 : 1, arbitrary: fc.constant(false) },
      { weight: 1, arbitrary: fc.constant(true) },
    ),
    addRoles: sometimesOne(fc.constantFrom(...ACCOUNT_ROLES)),
    addTeams: sometimesOne(teamArb),
    addTeamRoles: sometimesOne(fc.constantFrom(...TEAM_ROLES)),
  });

const graceArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 12, arbitrary: fc.integer({ min: 0, max: 60 }) },
  { weight: 4, arbitrary: fc.constantFrom(0, 1, 30, 60, undefined, null) },
  { weight: 2, arbitrary: fc.constantFrom(-1, 61, 1000, -(2 ** 31), 2 ** 31, 2 ** 53, 2.5, '10', false) },
);

const commandArbs: fc.Arbitrary<Cmd>[] = [
  fc
    .tuple(
      callerArb,
      nameArb,
      fc.oneof({ weight: 1, arbitrary: randomGrantsArb }, { weight: 2, arbitrary: derivedGrantsArb('caller') }),
    )
    .map(([caller, name, grants]) => new CreateStep(caller, name, grants)),
  fc
    .tuple(
      callerArb,
      targetArb,
      nameArb,
      fc.oneof(randomGrantsArb, derivedGrantsArb('caller'), derivedGrantsArb('target'), derivedGrantsArb('target')),
      fc.oneof({ weight: 30, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    )
    .map(([caller, target, name, grants, idMissing]) => new UpdateStep(caller, target, name, grants, idMissing)),
  fc.tuple(callerArb, targetArb, graceArb).map(([caller, target, grace]) => new RotateStep(caller, target, grace)),
  fc.tuple(callerArb, targetArb).map(([caller, target]) => new DeleteStep(caller, target)),
  fc.tuple(callerArb, targetArb).map(([caller, target]) => new ShowStep(caller, target)),
  callerArb.map((caller) => new ListStep(caller)),
  callerArb.map((caller) => new CurrentStep(caller)),
  fc.constantFrom(1, 5, 29, 30, 31, 60, 61).map((minutes) => new AdvanceClockStep(minutes)),
];

// Weights: the mutations most often; every operation often enough to meet each of its outcomes.
export const weightedCommands: fc.Arbitrary<Cmd>[] = [
  ...Array(4).fill(commandArbs[0]),
  ...Array(5).fill(commandArbs[1]),
  ...Array(3).fill(commandArbs[2]),
  ...Array(2).fill(commandArbs[3]),
  ...Array(2).fill(commandArbs[4]),
  ...Array(2).fill(commandArbs[5]),
  commandArbs[6],
  commandArbs[7],
];
