// Summaries (medians over the measured runs), issue 3's targets as ratios of the same run, and the
// stdout tables.
import type { RunResult } from './load.ts';
import type { MixedRunResult, OperationResult } from './mixed.ts';

export type Provider = 'sqlite' | 'postgresql';

export interface ScenarioSummary {
  name: string;
  label: string;
  expectedStatus: number;
  /** Medians over the measured runs. */
  rps: number;
  p50: number;
  p99: number;
  responses: number;
  unexpected: number;
  /** Median over the runs of the CPU other processes of the machine took (cores). */
  otherCores: number;
  /** Median over the runs of the server's CPU per response (ms; PostgreSQL backends included). */
  serverCpuMs: number;
  statuses: Record<string, number>;
  /** The single request sent before the warm-up, with its answer when it was not the expected one. */
  probe: { ok: boolean; status: number; bytes?: number; body?: string };
  runs: RunResult[];
  /**
   * The baseline its ratio target is taken against (BASELINE_OF), measured beside it: each run in
   * slices alternating between the two servers (bench/run.ts, runBeside).
   */
  beside?: ScenarioSummary;
}

/**
 * The baseline each Keygate scenario with a ratio target is judged against, and measured beside:
 * raw node:http for what bypasses GraphQL (a malformed token, POST /v1/verify), bare Yoga for the rest.
 * The mixed workload's currentApiKey target is taken against Yoga too.
 */
export const BASELINE_OF: Readonly<Record<string, 'raw-http' | 'yoga-minimal'>> = {
  valid: 'yoga-minimal',
  malformed: 'raw-http',
  unknown: 'yoga-minimal',
  apiKeys50: 'yoga-minimal',
  'apiKeys50-uncached': 'yoga-minimal',
  'verify-valid': 'raw-http',
  'verify-scoped': 'raw-http',
  'verify-unknown-fresh': 'raw-http',
  'verify-round-robin': 'raw-http',
  'verify-graphql': 'yoga-minimal',
  mixed: 'yoga-minimal',
};

export interface ServerSummary {
  server: string;
  provider: Provider | null;
  /** Keys in the database when the reads were measured. */
  keys: number | null;
  seedSeconds: number | null;
  maxRssMb: number;
  scenarios: ScenarioSummary[];
  mixed?: MixedSummary;
  /**
   * Keygate at one size: the baselines measured just before and just after it, as one (bench/run.ts).
   * Its ratios are taken against these rather than against the whole run's, so that the machine's
   * drift over the run (its speed moved by up to 2× within one) does not land in them.
   */
  baselines?: ServerSummary;
  /**
   * The largest size: scenarios measured again on this size's server and, at the same time, on a server
   * of the smallest size (bench/run.ts, compareSizes). The small ÷ large rows use these when present.
   */
  sideBySide?: SideBySide[];
}

/** What one server answered over the slices of a side-by-side comparison, summed. */
export interface SliceTotals {
  responses: number;
  seconds: number;
  /** CPU of the server and its PostgreSQL backends over the slices (ms). */
  serverMs: number;
  unexpected: number;
  /** Each slice's p99 (ms). */
  p99s: number[];
}

/**
 * One scenario on two servers at once, one on a database of the smallest size and one of the largest,
 * the load alternating between them slice by slice (in turn first in each round): whatever the
 * machine's speed does meanwhile, both meet the same minutes of it.
 */
export interface SideBySide {
  name: string;
  /** Keys in the small server's database. */
  smallKeys: number;
  /** Slices each server got, and their length. */
  slices: number;
  sliceSeconds: number;
  small: SliceTotals;
  large: SliceTotals;
}

/** A server's req/s over the slices of a side-by-side comparison. */
export const sliceRps = (totals: SliceTotals) => (totals.seconds > 0 ? totals.responses / totals.seconds : 0);
/** A server's CPU per response over the slices (ms). */
export const sliceCpuMs = (totals: SliceTotals) =>
  totals.responses > 0 ? totals.serverMs / totals.responses : Number.NaN;

/** The mixed workload: per operation, medians over the runs. */
export interface MixedSummary {
  connections: number;
  rps: number;
  otherCores: number;
  serverCpuMs: number;
  unexpected: number;
  operations: Record<string, OperationResult>;
  runs: MixedRunResult[];
  /** Yoga, measured beside the mix as ScenarioSummary.beside is. */
  beside?: ScenarioSummary;
}

export function summarizeMixed(runs: MixedRunResult[], connections: number): MixedSummary {
  const names = Object.keys(runs[0]?.operations ?? {});
  const operations: Record<string, OperationResult> = {};
  for (const name of names) {
    const of = runs.map((run) => run.operations[name] as OperationResult);
    operations[name] = {
      rps: median(of.map((op) => op.rps)),
      p50: median(of.map((op) => op.p50)),
      p99: median(of.map((op) => op.p99)),
      responses: of.reduce((sum, op) => sum + op.responses, 0),
      unexpected: of.reduce((sum, op) => sum + op.unexpected, 0),
    };
  }
  return {
    connections,
    rps: median(runs.map((run) => run.rps)),
    otherCores: median(runs.map((run) => run.otherCores ?? Number.NaN)),
    serverCpuMs: median(runs.map((run) => run.serverCpuMs ?? Number.NaN)),
    unexpected: runs.reduce((sum, run) => sum + run.unexpected, 0),
    operations,
    runs,
  };
}

export interface TargetResult {
  target: string;
  where: string;
  value: number | null;
  unit: string;
  needed: string;
  pass: boolean | null;
  note?: string;
}

export function median(values: number[]): number {
  const sorted = values.filter((value) => !Number.isNaN(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

export function summarize(
  scenario: { name: string; label: string; spec: { expectedStatus: number } },
  runs: RunResult[],
  probe: ScenarioSummary['probe'],
): ScenarioSummary {
  const statuses: Record<string, number> = {};
  for (const run of runs) {
    for (const [status, count] of Object.entries(run.statuses)) statuses[status] = (statuses[status] ?? 0) + count;
  }
  return {
    name: scenario.name,
    label: scenario.label,
    expectedStatus: scenario.spec.expectedStatus,
    rps: median(runs.map((run) => run.rps)),
    p50: median(runs.map((run) => run.p50)),
    p99: median(runs.map((run) => run.p99)),
    otherCores: median(runs.map((run) => run.otherCores ?? Number.NaN)),
    serverCpuMs: median(runs.map((run) => run.serverCpuMs ?? Number.NaN)),
    responses: runs.reduce((sum, run) => sum + run.responses, 0),
    unexpected: runs.reduce((sum, run) => sum + run.unexpected, 0),
    statuses,
    probe,
    runs,
  };
}

const sizeLabel = (keys: number) =>
  keys >= 1_000_000 ? `${keys / 1_000_000}M` : keys >= 1000 ? `${keys / 1000}k` : `${keys}`;
const providerLabel = (provider: Provider) => (provider === 'sqlite' ? 'embedded' : 'postgresql');

export function serverLabel(provider: Provider, keys: number): string {
  return `keygate ${providerLabel(provider)} ${sizeLabel(keys)}`;
}

/**
 * The same ratio by server CPU per response (the base's ÷ the scenario's), shown beside a req/s ratio:
 * when the server did not get all of its core during one of the two measurements, req/s moves and this
 * does not (bench/README.md says when neither tells). The target stays the req/s ratio. Empty when
 * either figure is missing.
 */
function cpuRatio(scenario: ScenarioSummary, base: ScenarioSummary): string {
  if (!(scenario.serverCpuMs > 0 && base.serverCpuMs > 0)) return '';
  return `by server CPU ${(base.serverCpuMs / scenario.serverCpuMs).toFixed(2)}×`;
}

/**
 * What bounds the mixed workload's currentApiKey ratio (bench/README.md, The mixed workload): a server
 * that answers on one core in the order requests come waits, for any operation, about as long as the
 * mix takes to answer everything before it, so the ratio follows Yoga's CPU per response ÷ the mix's
 * average, whatever currentApiKey itself costs. Empty when either figure is missing.
 */
function mixCost(mixed: MixedSummary, yoga: ScenarioSummary): string {
  if (!(mixed.serverCpuMs > 0 && yoga.serverCpuMs > 0)) return '';
  const p50s = Object.entries(mixed.operations)
    .filter(([name]) => name !== 'currentApiKey')
    .map(([name, op]) => `${name} ${op.p50.toFixed(1)}`)
    .join(', ');
  return `; the mix averages ${mixed.serverCpuMs.toFixed(3)} ms of server CPU a response, Yoga ${yoga.serverCpuMs.toFixed(3)} (${(yoga.serverCpuMs / mixed.serverCpuMs).toFixed(2)}×); the others' p50 ms: ${p50s}`;
}

/** The baseline measured beside `measured` (a scenario, or the mix), when it is `base`'s scenario. */
function besideOf(measured: { beside?: ScenarioSummary }, base: ScenarioSummary): ScenarioSummary | undefined {
  return measured.beside?.name === base.name ? measured.beside : undefined;
}

/** What a ratio taken against the baseline measured beside it would have been against the adjacent one. */
function besideNote(scenario: ScenarioSummary, beside: ScenarioSummary, adjacent: ScenarioSummary): string {
  return (
    `${beside.label} beside it ${fixed(beside.rps, 0)} req/s (${fixed(beside.serverCpuMs, 3)} ms/req); ` +
    `next to the size ${fixed(adjacent.rps, 0)} req/s: ${(scenario.rps / adjacent.rps).toFixed(2)}×`
  );
}

/** The filtered pages (issue 16), shown for information: their scenario and how the targets name them. */
const FILTERED_PAGES = [['apiKeys50-name', 'apiKeys(50) by name "7", read afresh']] as const;

/** The targets of issues 3, 15 and 17, from the figures of this run. Only what was measured is judged. */
export function evaluateTargets(servers: ServerSummary[]): TargetResult[] {
  const targets: TargetResult[] = [];
  const runBaselines = servers.find((s) => s.server === 'baselines');
  /** The baselines a server's ratios are taken against: those measured next to it, else the run's. */
  const baselinesOf = (server?: ServerSummary) => {
    const of = (name: string) =>
      (server?.baselines ?? runBaselines)?.scenarios.find((s) => s.name === name) ??
      runBaselines?.scenarios.find((s) => s.name === name);
    return { raw: of('raw-http'), yoga: of('yoga-minimal'), yogaList: of('yoga-list') };
  };
  const { yoga: runYoga, yogaList: runYogaList } = baselinesOf();
  // A fast wrong answer proves nothing: a scenario with unexpected responses fails its targets.
  const clean = (...summaries: Array<ScenarioSummary | undefined>) =>
    summaries.every((summary) => summary && summary.unexpected === 0 && summary.probe.ok);
  const ratio = (
    target: string,
    where: string,
    scenario: ScenarioSummary | undefined,
    base: ScenarioSummary | undefined,
    min: number,
  ) => {
    if (!scenario || !base) return;
    const paired = besideOf(scenario, base);
    const against = paired ?? base;
    const value = scenario.rps / against.rps;
    const ok = clean(scenario, against);
    const byCpu = cpuRatio(scenario, against);
    const notes = [ok ? '' : 'unexpected responses', byCpu, paired ? besideNote(scenario, paired, base) : '']
      .filter(Boolean)
      .join('; ');
    targets.push({
      target,
      where,
      value,
      unit: '×',
      needed: `≥ ${min}`,
      pass: value >= min && ok,
      ...(notes ? { note: notes } : {}),
    });
  };

  /** A p99 latency bound, in ms. */
  const p99 = (target: string, where: string, scenario: ScenarioSummary | undefined, bound: number) => {
    if (!scenario) return;
    targets.push({
      target,
      where,
      value: scenario.p99,
      unit: 'ms',
      needed: `≤ ${bound}`,
      pass: scenario.p99 <= bound && clean(scenario),
    });
  };

  /** A ratio shown for information, judged against no target. */
  const info = (target: string, where: string, scenario: ScenarioSummary, base: ScenarioSummary, note?: string) => {
    targets.push({
      target,
      where,
      value: scenario.rps / base.rps,
      unit: '×',
      needed: 'info',
      pass: null,
      ...(note ? { note } : {}),
    });
  };

  // What the framework itself reaches on the list answer (no auth, no database, no field logic): the
  // ceiling that apiKeys(50)'s target of 0.5 × Yoga is measured against.
  if (runYogaList && runYoga) {
    info(
      'Yoga list ceiling / Yoga',
      'baselines',
      runYogaList,
      runYoga,
      'graphql-yoga with graphql-jit answering the same apiKeys(50) from memory',
    );
  }
  const keygate = servers.filter((s) => s.provider !== null && s.keys !== null);
  for (const server of keygate) {
    const get = (name: string) => server.scenarios.find((s) => s.name === name);
    const where = server.server.replace(/^keygate /, '');
    const { raw, yoga, yogaList } = baselinesOf(server);
    ratio('currentApiKey valid / Yoga', where, get('valid'), yoga, 0.85);
    ratio('malformed 401 / raw http', where, get('malformed'), raw, 0.5);
    ratio('unknown 401 / Yoga', where, get('unknown'), yoga, 0.8);
    ratio('apiKeys(50) / Yoga', where, get('apiKeys50'), yoga, 0.5);
    const list = get('apiKeys50');
    if (list && yogaList) info('apiKeys(50) / Yoga list ceiling', where, list, yogaList);
    const uncached = get('apiKeys50-uncached');
    if (uncached && yoga) {
      // Issue 17: the page as users meet it, read from the database (any commit invalidates kept pages).
      ratio('apiKeys(50) read afresh / Yoga', where, uncached, yoga, 0.4);
      p99('apiKeys(50) read afresh p99', where, uncached, 50);
    }
    // Issue 16: the console's search, a page filtered by name read afresh. No target was set: shown.
    for (const [name, label] of FILTERED_PAGES) {
      const filtered = get(name);
      if (!filtered) continue;
      targets.push({
        target: `${label} p99`,
        where,
        value: filtered.p99,
        unit: 'ms',
        needed: 'info',
        pass: null,
        note: `${filtered.rps.toFixed(0)} req/s${clean(filtered) ? '' : ', unexpected responses'}`,
      });
    }
    const mixed = server.mixed;
    if (mixed) {
      const operation = (name: string) => mixed.operations[name];
      const current = operation('currentApiKey');
      const mixYoga = (yoga && besideOf(mixed, yoga)) ?? yoga;
      if (current && mixYoga && yoga) {
        // As if the connections sent currentApiKey alone, each request taking as long as in the mix.
        const value = mixed.connections / (current.p50 / 1000) / mixYoga.rps;
        const adjacent =
          mixYoga === yoga
            ? ''
            : `; Yoga beside it ${fixed(mixYoga.rps, 0)} req/s, next to the size ${fixed(yoga.rps, 0)} (${(mixed.connections / (current.p50 / 1000) / yoga.rps).toFixed(2)}× against that)`;
        targets.push({
          target: 'mixed: currentApiKey / Yoga',
          where,
          value,
          unit: '×',
          needed: '≥ 0.85',
          pass: value >= 0.85 && current.unexpected === 0,
          note: `${mixed.connections} connections ÷ its p50 in the mix (${current.p50.toFixed(2)} ms), ÷ Yoga req/s${mixCost(mixed, mixYoga)}${adjacent}`,
        });
      }
      for (const [name, label, bound] of [
        ['list', 'mixed: list p99', 50],
        ['show', 'mixed: show p99', 30],
        ['create', 'mixed: create p99', 100],
        ['rotate', 'mixed: rotate p99', 100],
        ['update', 'mixed: update p99', 100],
      ] as const) {
        const op = operation(name);
        if (!op) continue;
        targets.push({
          target: label,
          where,
          value: op.p99,
          unit: 'ms',
          needed: `≤ ${bound}`,
          pass: op.p99 <= bound && op.unexpected === 0,
          note: `${op.rps.toFixed(0)} req/s`,
        });
      }
    }
    p99('apiKeys(50) p99', where, list, 50);
    // Issue 15: verification at near-raw HTTP speed.
    ratio('verify VALID / raw http', where, get('verify-valid'), raw, 0.5);
    p99('verify VALID p99', where, get('verify-valid'), 5);
    ratio('verify scoped / raw http', where, get('verify-scoped'), raw, 0.45);
    ratio('verify unknown fresh / raw http', where, get('verify-unknown-fresh'), raw, 0.2);
    ratio('verify round-robin / raw http', where, get('verify-round-robin'), raw, 0.3);
    ratio('verifyApiKey / Yoga', where, get('verify-graphql'), yoga, 1.0);
    const minWrites = server.provider === 'sqlite' ? 500 : 300;
    for (const [name, label] of [
      ['create', 'createApiKey'],
      ['rotate', 'rotateApiKey'],
    ] as const) {
      const summary = get(name);
      if (!summary) continue;
      targets.push({
        target: `${label} req/s`,
        where,
        value: summary.rps,
        unit: 'req/s',
        needed: `≥ ${minWrites}`,
        pass: summary.rps >= minWrites && clean(summary),
        ...(clean(summary) ? {} : { note: 'unexpected responses' }),
      });
    }
  }

  for (const provider of ['sqlite', 'postgresql'] as const) {
    const sized = keygate.filter((s) => s.provider === provider).sort((a, b) => (a.keys ?? 0) - (b.keys ?? 0));
    const small = sized[0];
    const large = sized.at(-1);
    if (small && large && large !== small) {
      const where = `${providerLabel(provider)} ${sizeLabel(large.keys ?? 0)} vs ${sizeLabel(small.keys ?? 0)}`;
      const sizeRatio = (name: string, label: string, bound: number) => {
        const a = small.scenarios.find((s) => s.name === name);
        const b = large.scenarios.find((s) => s.name === name);
        if (!a || !b) return;
        // "Within 1.2× of the 1k figure": the small database may be at most 1.2× faster. Each size's
        // req/s is taken against the baseline measured next to it (raw node:http for the HTTP
        // verification, Yoga for GraphQL), so that the machine's drift between the two sizes, minutes
        // apart, does not count as a slowdown with size (nor hide one).
        const kind = name.startsWith('verify-') && name !== 'verify-graphql' ? 'raw' : 'yoga';
        const baseA = baselinesOf(small)[kind];
        const baseB = baselinesOf(large)[kind];
        const drift = baseA && baseB ? baseB.rps / baseA.rps : 1;
        const unadjusted = a.rps / b.rps;
        const sequential = unadjusted * drift;
        const sequentialNote =
          (drift === 1
            ? ''
            : `${kind === 'raw' ? 'raw http' : 'Yoga'} next to each ${fixed(baseA?.rps ?? 0, 0)} / ${fixed(baseB?.rps ?? 0, 0)} req/s, unadjusted ${unadjusted.toFixed(2)}×; `) +
          `p99 ${a.p99.toFixed(2)} → ${b.p99.toFixed(2)} ms`;
        // Measured side by side, the ratio needs no baseline: both servers met the same minutes.
        const paired = large.sideBySide?.find((p) => p.name === name);
        if (paired) {
          const value = sliceRps(paired.small) / sliceRps(paired.large);
          const p99 = (totals: SliceTotals) => median(totals.p99s).toFixed(2);
          targets.push({
            target: `${label}: small req/s ÷ large req/s`,
            where,
            value,
            unit: '×',
            needed: `≤ ${bound}`,
            pass: value <= bound && paired.small.unexpected === 0 && paired.large.unexpected === 0,
            note:
              `side by side (${sizeLabel(paired.smallKeys)} server beside it, ${paired.slices} × ${paired.sliceSeconds} s each, alternating): ` +
              `${fixed(sliceRps(paired.small), 0)} / ${fixed(sliceRps(paired.large), 0)} req/s, ` +
              `server CPU ${sliceCpuMs(paired.small).toFixed(3)} / ${sliceCpuMs(paired.large).toFixed(3)} ms a request, ` +
              `p99 ${p99(paired.small)} / ${p99(paired.large)} ms; one size after the other ${sequential.toFixed(2)}× (${sequentialNote})`,
          });
          return;
        }
        targets.push({
          target: `${label}: small req/s ÷ large req/s`,
          where,
          value: sequential,
          unit: '×',
          needed: `≤ ${bound}`,
          pass: sequential <= bound && clean(a, b),
          note: sequentialNote,
        });
      };
      for (const [name, label] of [
        ['valid', 'verification'],
        ['apiKeys50', 'apiKeys(50)'],
        ['apiKeys50-uncached', 'apiKeys(50) read afresh'],
      ] as const) {
        sizeRatio(name, label, 1.2);
      }
      // Issue 15: any verification scenario at the large size within 1.1× of the small one.
      for (const name of [
        'verify-valid',
        'verify-scoped',
        'verify-unknown-fresh',
        'verify-round-robin',
        'verify-graphql',
      ]) {
        sizeRatio(name, name, 1.1);
      }
      for (const [name, label] of FILTERED_PAGES) {
        const a = small.scenarios.find((s) => s.name === name);
        const b = large.scenarios.find((s) => s.name === name);
        if (!a || !b) continue;
        targets.push({
          target: `${label}: small req/s ÷ large req/s`,
          where,
          value: a.rps / b.rps,
          unit: '×',
          needed: 'info',
          pass: null,
          note: `p99 ${a.p99.toFixed(2)} → ${b.p99.toFixed(2)} ms`,
        });
      }
    }
    if (large) {
      const isMillion = (large.keys ?? 0) >= 1_000_000;
      targets.push({
        target: 'max server RSS',
        where: `${providerLabel(provider)} ${sizeLabel(large.keys ?? 0)}`,
        value: large.maxRssMb,
        unit: 'MB',
        needed: '≤ 200',
        pass: isMillion ? large.maxRssMb <= 200 : null,
        ...(isMillion ? {} : { note: 'target is for 1M keys; not judged' }),
      });
      if (large.scenarios.some((s) => s.name.startsWith('verify-'))) {
        // Issue 15's bound, over the same server run (its verification scenarios included).
        targets.push({
          target: 'max server RSS with verification',
          where: `${providerLabel(provider)} ${sizeLabel(large.keys ?? 0)}`,
          value: large.maxRssMb,
          unit: 'MB',
          needed: '≤ 256',
          pass: isMillion ? large.maxRssMb <= 256 : null,
          ...(isMillion ? {} : { note: 'target is for 1M keys; not judged' }),
        });
      }
    }
  }
  return targets;
}

function table(header: string[], rows: string[][], rightAligned: Set<number>): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) =>
        rightAligned.has(column) ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0),
      )
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}

const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : '-');

/**
 * The cells of a baseline measured beside a scenario (its runs' slices alternating with the scenario's),
 * in a row under the scenario's: label, req/s, p50, p99, unexpected/responses, server CPU.
 */
function besideCells(beside: ScenarioSummary): string[] {
  return [
    `  beside it: ${beside.label}`,
    fixed(beside.rps, 0),
    fixed(beside.p50, 2),
    fixed(beside.p99, 2),
    `${beside.unexpected}/${beside.responses}${beside.unexpected > 0 ? ' !' : ''}`,
    fixed(beside.serverCpuMs, 3),
  ];
}

export function measurementsTable(servers: ServerSummary[]): string {
  const rows: string[][] = [];
  for (const server of servers) {
    for (const s of server.scenarios) {
      const odd = s.unexpected > 0 || !s.probe.ok;
      rows.push([
        server.server,
        s.label,
        fixed(s.rps, 0),
        fixed(s.p50, 2),
        fixed(s.p99, 2),
        `${s.unexpected}/${s.responses}${odd ? ' !' : ''}`,
        fixed(s.serverCpuMs, 3),
        fixed(server.maxRssMb, 0),
        fixed(s.otherCores, 2),
      ]);
      if (s.beside) rows.push([server.server, ...besideCells(s.beside), '', fixed(s.beside.otherCores, 2)]);
    }
  }
  return table(
    [
      'server',
      'scenario',
      'req/s',
      'p50 ms',
      'p99 ms',
      'unexpected/responses',
      'server CPU ms/req',
      'max RSS MB',
      'other CPU',
    ],
    rows,
    new Set([2, 3, 4, 5, 6, 7, 8]),
  );
}

/** The mixed workload of each server that ran it, one row per operation. */
export function mixedTable(servers: ServerSummary[]): string {
  const rows: string[][] = [];
  for (const server of servers) {
    if (!server.mixed) continue;
    for (const [name, op] of Object.entries(server.mixed.operations)) {
      rows.push([
        server.server,
        name,
        fixed(op.rps, 0),
        fixed(op.p50, 2),
        fixed(op.p99, 2),
        `${op.unexpected}/${op.responses}${op.unexpected > 0 ? ' !' : ''}`,
      ]);
    }
    rows.push([
      server.server,
      'all (mixed workload)',
      fixed(server.mixed.rps, 0),
      '',
      '',
      `${server.mixed.unexpected}`,
      fixed(server.mixed.serverCpuMs, 3),
      fixed(server.mixed.otherCores, 2),
    ]);
    const beside = server.mixed.beside;
    if (beside) rows.push([server.server, ...besideCells(beside), fixed(beside.otherCores, 2)]);
  }
  if (rows.length === 0) return 'Mixed workload: not measured.';
  return `Mixed workload (95% reads, 5% changes)\n${table(
    ['server', 'operation', 'req/s', 'p50 ms', 'p99 ms', 'unexpected/responses', 'server CPU ms/req', 'other CPU'],
    rows,
    new Set([2, 3, 4, 5, 6, 7]),
  )}`;
}

export function targetsTable(targets: TargetResult[]): string {
  const rows = targets.map((t) => [
    t.target,
    t.where,
    t.value === null ? '-' : `${fixed(t.value, t.unit === '×' ? 2 : t.unit === 'ms' ? 2 : 0)} ${t.unit}`,
    t.needed,
    t.pass === null ? 'n/a' : t.pass ? 'PASS' : 'FAIL',
    t.note ?? '',
  ]);
  return table(['target', 'where', 'value', 'needed', 'result', 'note'], rows, new Set([2]));
}
