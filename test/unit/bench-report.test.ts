// The bench report (bench/lib/report.ts) judges each ratio target on req/s, and gives the same ratio by
// server CPU per response beside it, for runs on a machine whose speed drifts.
import { describe, expect, it } from 'vitest';
import { evaluateTargets, type ScenarioSummary, type ServerSummary } from '../../bench/lib/report.ts';

function scenario(name: string, rps: number, serverCpuMs: number): ScenarioSummary {
  return {
    name,
    label: name,
    expectedStatus: 200,
    rps,
    p50: 1,
    p99: 2,
    responses: 1000,
    unexpected: 0,
    otherCores: 0,
    serverCpuMs,
    statuses: { 200: 1000 },
    probe: { ok: true, status: 200 },
    runs: [],
  };
}

const server = (name: string, scenarios: ScenarioSummary[], keys: number | null): ServerSummary => ({
  server: name,
  provider: keys === null ? null : 'sqlite',
  keys,
  seedSeconds: null,
  maxRssMb: 100,
  scenarios,
});

describe('the bench report', () => {
  it('judges a ratio on req/s and notes the same ratio by server CPU per response', () => {
    // Keygate answered at 0.8 × Yoga's req/s in a slow period, while each of its answers cost half
    // the CPU of Yoga's.
    const targets = evaluateTargets([
      server('baselines', [scenario('yoga-minimal', 5000, 0.2)], null),
      server('keygate embedded 1k', [scenario('valid', 4000, 0.1)], 1000),
    ]);
    const target = targets.find((t) => t.target === 'currentApiKey valid / Yoga');
    expect(target?.value).toBeCloseTo(0.8);
    expect(target?.pass).toBe(false);
    expect(target?.note).toBe('by server CPU 2.00×');
  });

  it('keeps saying when a scenario had unexpected responses', () => {
    const failed = { ...scenario('valid', 6000, 0.1), unexpected: 3 };
    const targets = evaluateTargets([
      server('baselines', [scenario('yoga-minimal', 5000, 0.2)], null),
      server('keygate embedded 1k', [failed], 1000),
    ]);
    const target = targets.find((t) => t.target === 'currentApiKey valid / Yoga');
    expect(target?.pass).toBe(false);
    expect(target?.note).toBe('unexpected responses; by server CPU 2.00×');
  });

  it('leaves the CPU ratio out when a figure is missing', () => {
    const targets = evaluateTargets([
      server('baselines', [scenario('yoga-minimal', 5000, Number.NaN)], null),
      server('keygate embedded 1k', [scenario('valid', 5000, 0.1)], 1000),
    ]);
    const target = targets.find((t) => t.target === 'currentApiKey valid / Yoga');
    expect(target?.pass).toBe(true);
    expect(target?.note).toBeUndefined();
  });
});
