// The benchmark's judgement of issue 3's targets (bench/lib/report.ts): which figures each ratio uses.
import { describe, expect, it } from 'vitest';
import { evaluateTargets, type ScenarioSummary, type ServerSummary } from '../../bench/lib/report.ts';

const scenario = (name: string, rps: number): ScenarioSummary => ({
  name,
  label: name,
  expectedStatus: 200,
  rps,
  p50: 1,
  p99: 10,
  responses: 1000,
  unexpected: 0,
  otherCores: 0,
  statuses: { '200': 1000 },
  probe: { ok: true, status: 200 },
  runs: [],
});

const server = (name: string, keys: number | null, scenarios: ScenarioSummary[]): ServerSummary => ({
  server: name,
  provider: keys === null ? null : 'sqlite',
  keys,
  seedSeconds: null,
  maxRssMb: 100,
  scenarios,
});

const targetNamed = (targets: ReturnType<typeof evaluateTargets>, target: string, where: string) =>
  targets.find((t) => t.target.startsWith(target) && t.where === where);

describe('bench targets', () => {
  const baselines = server('baselines', null, [scenario('raw-http', 40_000), scenario('yoga-minimal', 4_000)]);

  it('judges a phase against the baselines measured in that phase when it has them', () => {
    // The machine got slower: the phase's own Yoga ran at half the first one.
    const slow = server('keygate embedded 1k', 1000, [scenario('valid', 1_800), scenario('yoga-minimal', 2_000)]);
    const targets = evaluateTargets([baselines, slow]);
    expect(targetNamed(targets, 'currentApiKey valid / Yoga', 'embedded 1k')).toMatchObject({ value: 0.9, pass: true });
    // Without a phase baseline, the first one is used.
    const alone = server('keygate embedded 1k', 1000, [scenario('valid', 1_800)]);
    expect(targetNamed(evaluateTargets([baselines, alone]), 'currentApiKey valid / Yoga', 'embedded 1k')).toMatchObject(
      {
        value: 0.45,
        pass: false,
      },
    );
  });

  it('compares sizes relative to each phase’s Yoga, and shows the plain ratio too', () => {
    const small = server('keygate embedded 1k', 1000, [scenario('valid', 4_000), scenario('yoga-minimal', 4_000)]);
    const large = server('keygate embedded 1M', 1_000_000, [scenario('valid', 2_000), scenario('yoga-minimal', 2_000)]);
    const drift = targetNamed(
      evaluateTargets([baselines, small, large]),
      'verification: small ÷ large',
      'embedded 1M vs 1k',
    );
    expect(drift).toMatchObject({ value: 1, pass: true });
    expect(drift?.note).toContain('(2.00 ×)');
    const slower = server('keygate embedded 1M', 1_000_000, [
      scenario('valid', 1_000),
      scenario('yoga-minimal', 4_000),
    ]);
    expect(
      targetNamed(evaluateTargets([baselines, small, slower]), 'verification: small ÷ large', 'embedded 1M vs 1k'),
    ).toMatchObject({ value: 4, pass: false });
  });
});
