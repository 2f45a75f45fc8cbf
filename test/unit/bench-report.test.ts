// The bench report (bench/lib/report.ts) judges each ratio target on req/s, against the baseline measured
// beside the scenario when there is one, and gives the same ratio by server CPU per response beside it,
// for runs on a machine whose speed drifts.
import { describe, expect, it } from 'vitest';
import type { OperationResult } from '../../bench/lib/mixed.ts';
import {
  evaluateTargets,
  type MixedSummary,
  type ScenarioSummary,
  type ServerSummary,
  type SliceTotals,
} from '../../bench/lib/report.ts';

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

const op = (p50: number): OperationResult => ({ rps: 100, p50, p99: 40, responses: 400, unexpected: 0 });

/** Keygate at 1k keys with only a mixed workload: 20 connections, 2,000 req/s, these operations. */
const mixedServer = (
  mixed: Partial<MixedSummary> & Pick<MixedSummary, 'operations' | 'serverCpuMs'>,
): ServerSummary => ({
  ...server('keygate embedded 1k', [], 1000),
  mixed: { connections: 20, rps: 2000, otherCores: 0, unexpected: 0, runs: [], ...mixed },
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

  it("notes beside the mix's currentApiKey ratio what bounds it: the mix's CPU per response against Yoga's", () => {
    // Every operation waited about 9 ms (one core, answered in arrival order): currentApiKey's ratio is
    // the mix's cost, not its own.
    const keygate = mixedServer({ serverCpuMs: 0.5, operations: { currentApiKey: op(8), list: op(9), show: op(8.5) } });
    const targets = evaluateTargets([server('baselines', [scenario('yoga-minimal', 5000, 0.2)], null), keygate]);
    const target = targets.find((t) => t.target === 'mixed: currentApiKey / Yoga');
    // 20 connections ÷ 8 ms = 2,500 req/s, ÷ Yoga's 5,000.
    expect(target?.value).toBeCloseTo(0.5);
    expect(target?.pass).toBe(false);
    expect(target?.note).toBe(
      "20 connections ÷ its p50 in the mix (8.00 ms), ÷ Yoga req/s; the mix averages 0.500 ms of server CPU a response, Yoga 0.200 (0.40×); the others' p50 ms: list 9.0, show 8.5",
    );
  });

  it('takes a ratio against the baseline measured beside the scenario, noting the adjacent one', () => {
    // Yoga measured 5,000 req/s before and after the size, but 3,000 in the slices alternating with
    // Keygate's: the machine was slower while Keygate was measured, and the ratio is taken in those minutes.
    const valid = {
      ...scenario('valid', 2700, 0.3),
      beside: { ...scenario('yoga-minimal', 3000, 0.3), label: 'Yoga' },
    };
    const targets = evaluateTargets([
      server('baselines', [scenario('yoga-minimal', 5000, 0.2)], null),
      server('keygate embedded 1k', [valid], 1000),
    ]);
    const target = targets.find((t) => t.target === 'currentApiKey valid / Yoga');
    expect(target?.value).toBeCloseTo(0.9);
    expect(target?.pass).toBe(true);
    expect(target?.note).toBe(
      'by server CPU 1.00×; Yoga beside it 3000 req/s (0.300 ms/req); next to the size 5000 req/s: 0.54×',
    );
    // A baseline beside it of another kind than the target's is not used.
    const other = { ...scenario('valid', 2700, 0.3), beside: scenario('raw-http', 3000, 0.3) };
    const unpaired = evaluateTargets([
      server('baselines', [scenario('yoga-minimal', 5000, 0.2)], null),
      server('keygate embedded 1k', [other], 1000),
    ]).find((t) => t.target === 'currentApiKey valid / Yoga');
    expect(unpaired?.value).toBeCloseTo(0.54);
  });

  it("takes the mix's currentApiKey ratio against Yoga measured beside the mix", () => {
    const keygate = mixedServer({
      serverCpuMs: 0.25,
      operations: { currentApiKey: op(8) },
      beside: scenario('yoga-minimal', 2500, 0.2),
    });
    const targets = evaluateTargets([server('baselines', [scenario('yoga-minimal', 5000, 0.2)], null), keygate]);
    const target = targets.find((t) => t.target === 'mixed: currentApiKey / Yoga');
    // 20 connections ÷ 8 ms = 2,500 req/s, ÷ the 2,500 of Yoga beside it.
    expect(target?.value).toBeCloseTo(1);
    expect(target?.pass).toBe(true);
    expect(target?.note).toContain('Yoga beside it 2500 req/s, next to the size 5000 (0.50× against that)');
  });

  it("takes each size's ratios against the baselines measured next to it, and its small ÷ large against each size's own", () => {
    // The machine was twice as fast for the 1M measurements: Yoga and raw measured twice the req/s
    // next to them, and Keygate did too. Against the whole run's baselines the 1k figures would look
    // slow and the 1M ones fast; each against its own, both sizes are alike.
    const slow = server('baselines', [scenario('yoga-minimal', 2000, 0.4), scenario('raw-http', 20000, 0.04)], null);
    const fast = server('baselines', [scenario('yoga-minimal', 4000, 0.2), scenario('raw-http', 40000, 0.02)], null);
    const whole = server('baselines', [scenario('yoga-minimal', 3000, 0.3), scenario('raw-http', 30000, 0.03)], null);
    const small: ServerSummary = {
      ...server('keygate embedded 1k', [scenario('valid', 1800, 0.2), scenario('verify-valid', 11000, 0.03)], 1000),
      baselines: slow,
    };
    const large: ServerSummary = {
      ...server(
        'keygate embedded 1M',
        [scenario('valid', 3600, 0.1), scenario('verify-valid', 22000, 0.015)],
        1_000_000,
      ),
      baselines: fast,
    };
    const targets = evaluateTargets([whole, small, large]);
    const at = (target: string, where: string) => targets.find((t) => t.target === target && t.where === where);
    expect(at('currentApiKey valid / Yoga', 'embedded 1k')?.value).toBeCloseTo(0.9);
    expect(at('currentApiKey valid / Yoga', 'embedded 1M')?.value).toBeCloseTo(0.9);
    expect(at('verify VALID / raw http', 'embedded 1k')?.value).toBeCloseTo(0.55);
    const sized = at('verification: small req/s ÷ large req/s', 'embedded 1M vs 1k');
    expect(sized?.value).toBeCloseTo(1);
    expect(sized?.pass).toBe(true);
    expect(sized?.note).toBe('Yoga next to each 2000 / 4000 req/s, unadjusted 0.50×; p99 2.00 → 2.00 ms');
    expect(at('verify-valid: small req/s ÷ large req/s', 'embedded 1M vs 1k')?.value).toBeCloseTo(1);
    // Without baselines of its own, a size is judged against the whole run's, its size ratio unadjusted.
    const plain = evaluateTargets([whole, { ...small, baselines: undefined }, { ...large, baselines: undefined }]);
    expect(plain.find((t) => t.target === 'currentApiKey valid / Yoga')?.value).toBeCloseTo(0.6);
    expect(plain.find((t) => t.target === 'verification: small req/s ÷ large req/s')?.value).toBeCloseTo(0.5);
  });

  it('judges small ÷ large by the side-by-side measurement when there is one, naming the other beside it', () => {
    // One after the other, the 1M server met a machine half as fast (against the same baselines): 2×.
    // Side by side it answered as many requests as the 1k server in the same slices: no growth.
    const base = server('baselines', [scenario('yoga-minimal', 3000, 0.3), scenario('raw-http', 30000, 0.03)], null);
    const small = server('keygate embedded 1k', [scenario('verify-valid', 20000, 0.03)], 1000);
    const totals = (responses: number, serverMs: number): SliceTotals => ({
      responses,
      seconds: 8,
      serverMs,
      unexpected: 0,
      p99s: [1, 2, 3],
    });
    const side = (smallResponses: number, largeResponses: number) => ({
      ...server('keygate embedded 1M', [scenario('verify-valid', 10000, 0.06)], 1_000_000),
      sideBySide: [
        {
          name: 'verify-valid',
          smallKeys: 11_000,
          slices: 8,
          sliceSeconds: 1,
          small: totals(smallResponses, smallResponses * 0.025),
          large: totals(largeResponses, largeResponses * 0.025),
        },
      ],
    });
    const row = (large: ServerSummary) =>
      evaluateTargets([base, small, large]).find((t) => t.target === 'verify-valid: small req/s ÷ large req/s');
    const flat = row(side(160_000, 160_000));
    expect(flat?.value).toBeCloseTo(1);
    expect(flat?.pass).toBe(true);
    expect(flat?.note).toBe(
      'side by side (11k server beside it, 8 × 1 s each, alternating): 20000 / 20000 req/s, server CPU 0.025 / 0.025 ms a request, p99 2.00 / 2.00 ms; one size after the other 2.00× (p99 2.00 → 2.00 ms)',
    );
    const grown = row(side(160_000, 128_000));
    expect(grown?.value).toBeCloseTo(1.25);
    expect(grown?.pass).toBe(false);
    // Without a side-by-side measurement, the sequential one is the row's value.
    expect(row(server('keygate embedded 1M', [scenario('verify-valid', 10000, 0.06)], 1_000_000))?.value).toBeCloseTo(
      2,
    );
  });
});
