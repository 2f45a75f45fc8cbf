// Model-based test of docs/rules.md: fast-check generates random sequences of create, update, rotate,
// delete, show, list and currentApiKey requests by random callers (account managers, team managers of
// various team sets, non-managers, keys of another organization, dead and malformed tokens), with
// valid and invalid inputs, plus clock moves. Each request goes to the real API (app.fetch on a real
// database) and to the independent model in ./model.ts; the outcome must agree at every step, and after
// every step the caller's organization's keys (name, grants, creator, times) as an account manager lists
// them must equal the model's, and every token of the keys the step touched must authenticate exactly
// when the model says so. At the end of each sequence both organizations and every token ever issued
// are checked.
//
// KEYGATE_MODEL_RUNS sets the number of sequences per database (default 50, up to 60 steps each, about
// 30 on average); the step and request counts are printed.
// Each run draws a seed unless KEYGATE_MODEL_SEED gives one; the seed is printed before the run and
// named in the failure message, so any failing run can be replayed exactly.
//
// model.ts is the model (it imports nothing from src/); world.ts the API side and the comparisons;
// commands.ts the steps; picks.ts how a step's random choices become caller, target and input;
// generators.ts what the steps carry and how often each comes.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { providers } from '../helpers/databases.ts';
import { weightedCommands } from './generators.ts';
import { CATALOGUE, type RulesModel } from './model.ts';
import { Stats, setUp, sorted, type World } from './world.ts';

const RUNS = Number(process.env.KEYGATE_MODEL_RUNS ?? 50);
const MAX_COMMANDS = 60;
const SEED = Number(process.env.KEYGATE_MODEL_SEED ?? Math.floor(Math.random() * 2 ** 31));
const REPLAY = `KEYGATE_MODEL_SEED=${SEED} replays this run`;

const OPERATIONS = ['create', 'update', 'rotate', 'delete', 'show'];

describe.each(providers)(
  'docs/rules.md agrees with an independent model on random operation sequences (%s)',
  (provider) => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp(provider);
      t.clock.freeze();
    });
    afterAll(() => t.close());

    it('serves the role catalogue of docs/rules.md that the model is written against', async () => {
      const org = await t.org();
      const { token } = await org.key();
      const response = await t.gql<{ roles: Array<{ name: string; scopes: string[] }> }>(
        token,
        '{ roles { name scopes } }',
      );
      const served = Object.fromEntries((response.data?.roles ?? []).map((role) => [role.name, sorted(role.scopes)]));
      const expected = Object.fromEntries([...CATALOGUE].map(([name, row]) => [name, sorted(row.scopes)]));
      expect(served).toEqual(expected);
    });

    it(
      'every outcome, every resulting grant and every token agree with the model at every step',
      async () => {
        const stats = new Stats();
        const started = Date.now();
        console.log(`model test on ${provider}: ${REPLAY}`);
        const verdict = await fc.check(
          fc.asyncProperty(
            fc.commands(weightedCommands, { maxCommands: MAX_COMMANDS, size: 'max' }),
            async (commands) => {
              let world: World | undefined;
              let model: RulesModel | undefined;
              await fc.asyncModelRun(async () => {
                const setup = await setUp(t, stats);
                world = setup.real;
                model = setup.model;
                return setup;
              }, commands);
              if (world && model) await world.afterSequence(model);
            },
          ),
          { numRuns: RUNS, seed: SEED, verbose: 1 },
        );
        if (verdict.failed) throw new Error(`${fc.defaultReportMessage(verdict)}\n(${REPLAY})`);
        console.log(stats.report(provider, Date.now() - started));
        // The generators reach every outcome of every operation; without this the test could pass vacuously.
        // (Checked from 20 sequences on: a handful of sequences need not reach them all.)
        for (const operation of RUNS >= 20 ? OPERATIONS : []) {
          for (const outcome of ['ok', 'UNAUTHENTICATED', 'BAD_USER_INPUT', 'FORBIDDEN', 'NOT_FOUND'] as const) {
            if (operation === 'create' && outcome === 'NOT_FOUND') continue;
            expect(stats.seen(operation, outcome), `${operation} → ${outcome}`).toBeGreaterThan(0);
          }
        }
        expect(stats.steps).toBeGreaterThanOrEqual(RUNS * 10);
      },
      60_000 + RUNS * 3_000,
    );
  },
);
