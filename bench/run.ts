// `npm run bench`: issue 3's benchmark in one self-contained run. Starts the two baselines, then for each
// provider a fresh database and the real Keygate server at each size (seeded straight into the database),
// measures every scenario (warm-up, then runs interleaved across scenarios), stops everything, and prints
// the figures and the targets; the same goes to bench/results/<timestamp>.json. See bench/README.md.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BOOTSTRAP } from '../src/domain/bootstrap.ts';
import { DEFAULT_ROLES } from '../src/domain/roles.ts';
import { startCpuMeter, waitForQuiet } from './lib/cpu.ts';
import { type BenchDatabase, createBenchDatabase, graphqlRequest, startKeygate } from './lib/keygate.ts';
import { mergeRuns, probe, type RunResult, runLoad, type SlicedRun } from './lib/load.ts';
import { type MixedRunResult, mergeMixed, runMixed, type SlicedMixedRun } from './lib/mixed.ts';
import { OptionError, type Options, readOptions } from './lib/options.ts';
import { startOtlpSink } from './lib/otlp-sink.ts';
import { freePort, type Pinning, ServerProcess, setUpPinning } from './lib/processes.ts';
import {
  BASELINE_OF,
  evaluateTargets,
  type MixedSummary,
  measurementsTable,
  mixedTable,
  type Provider,
  type ScenarioSummary,
  type ServerSummary,
  type SideBySide,
  type SliceTotals,
  serverLabel,
  sliceCpuMs,
  sliceRps,
  summarize,
  summarizeMixed,
  targetsTable,
} from './lib/report.ts';
import {
  baselineScenarios,
  keygateScenarios,
  mixedOperations,
  type Scenario,
  verifyScenarios,
} from './lib/scenarios.ts';
import { setUpVerification, VERIFY_KEYS, type VerifySetup } from './lib/verify-setup.ts';
import { seedKeys } from './seed.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** CPU taken by other processes above which a run is flagged as disturbed (cores). */
const BUSY_CORES = 0.2;

const log = (message: string) => process.stderr.write(`${message}\n`);

/** Stops servers and drops databases still open when the run ends or is interrupted. */
const cleanups = new Set<() => Promise<void>>();
async function cleanUp(): Promise<void> {
  for (const cleanup of [...cleanups].reverse()) {
    cleanups.delete(cleanup);
    await cleanup().catch((error) => log(`cleanup failed: ${(error as Error).message}`));
  }
}
async function withCleanup<T>(cleanup: () => Promise<void>, run: () => Promise<T>): Promise<T> {
  cleanups.add(cleanup);
  try {
    return await run();
  } finally {
    if (cleanups.delete(cleanup)) await cleanup();
  }
}

/** A baseline measured beside Keygate: its scenario and its server's process (bench/README.md, Method). */
interface BesideBaseline {
  scenario: Scenario;
  pids: () => Promise<number[]>;
}
/** The baseline a Keygate scenario's ratio target is taken against, measured beside it; none for the rest. */
type Beside = (scenarioName: string) => BesideBaseline | undefined;

/**
 * One slice of a measurement taken beside another server (s): short, so that the two alternate often.
 * The same length serves the side-by-side comparison of sizes (compareSizes).
 */
const SLICE_SECONDS = 1;

/** Slices of each side in a run of `duration` seconds measured beside a baseline. */
const besideSlices = (options: Options) => Math.max(1, Math.round(options.duration / SLICE_SECONDS));

/** `rounds` rounds of `sides`, each side once a round, the first of each round in turn. */
async function alternate(rounds: number, sides: Array<() => Promise<void>>): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    for (const side of round % 2 === 0 ? sides : [...sides].reverse()) await side();
  }
}

/** `run`, with the CPU that `pids` (and the rest of the machine) used meanwhile. */
async function metered<T>(
  pids: number[],
  run: () => Promise<T>,
): Promise<T & { otherCores: number; serverMs: number }> {
  const meter = startCpuMeter(pids);
  const result = await run();
  return { ...result, ...meter.stopWithServer() };
}

/**
 * One measured run of a scenario and of its baseline, beside each other: `besideSlices` slices of
 * SLICE_SECONDS each, alternating between the two servers (each round's first in turn), every slice
 * with its own CPU meter. The run's figures are those of its slices as one (mergeRuns). Measured one
 * after the other, even seconds apart, the two met different machines: this one's speed moved by up
 * to 2× within a minute, and a ratio against a baseline measured in another minute measured that.
 */
async function runBeside<T extends { seconds: number }>(
  options: Options,
  subject: { pids: number[]; run: (seconds: number) => Promise<T> },
  baseline: { pids: number[]; spec: Scenario['spec'] },
): Promise<{ subject: Array<T & { otherCores: number; serverMs: number }>; baseline: RunResult }> {
  const subjectSlices: Array<T & { otherCores: number; serverMs: number }> = [];
  const baselineSlices: Array<SlicedRun & { serverMs: number }> = [];
  await alternate(besideSlices(options), [
    async () => {
      subjectSlices.push(await metered(subject.pids, () => subject.run(SLICE_SECONDS)));
    },
    async () => {
      const load = { connections: options.connections, seconds: SLICE_SECONDS };
      baselineSlices.push(await metered(baseline.pids, () => runLoad(baseline.spec, load)));
    },
  ]);
  return { subject: subjectSlices, baseline: mergeRuns(baselineSlices) };
}

/** A run as it is kept in the results: without its responses' latencies. */
function kept(run: SlicedRun): RunResult {
  const { latencies: _latencies, ...rest } = run;
  return rest;
}

/**
 * Probes each scenario, warms it up, then measures: reads interleaved run by run, then writes the same
 * way, so reads never see the keys that createApiKey adds. A scenario with a baseline `beside` is
 * measured in slices alternating with that baseline's (runBeside), which its summary keeps as `beside`.
 */
async function measure(
  server: string,
  scenarios: Scenario[],
  options: Options,
  serverPids: () => Promise<number[]>,
  beside: Beside = () => undefined,
): Promise<ScenarioSummary[]> {
  const probes = new Map<string, ScenarioSummary['probe']>();
  for (const scenario of scenarios) {
    const answer = await probe(scenario.spec).catch((error: Error) => ({
      ok: false,
      status: 0,
      bytes: 0,
      body: error.message,
    }));
    const { body, ...seen } = answer;
    probes.set(scenario.name, answer.ok ? seen : { ...seen, body: body.slice(0, 500) });
    if (!answer.ok) log(`  ! ${server} / ${scenario.label}: probe got ${answer.status} ${answer.body.slice(0, 300)}`);
  }
  const runs = new Map<string, RunResult[]>(scenarios.map((scenario) => [scenario.name, []]));
  const besideRuns = new Map<string, RunResult[]>(scenarios.map((scenario) => [scenario.name, []]));
  const load = { connections: options.connections };
  for (const group of [scenarios.filter((s) => !s.writes), scenarios.filter((s) => s.writes)]) {
    for (const scenario of group) {
      if (scenario.prime) log(`  ${server} | ${scenario.label} | primed: ${await scenario.prime()}`);
      await runLoad(scenario.spec, { ...load, seconds: options.warmup });
    }
    // The baselines measured beside this group: warm already (measured before Keygate), warmed up again briefly.
    const baselines = new Map<string, BesideBaseline>();
    for (const scenario of group) {
      const baseline = beside(scenario.name);
      if (baseline) baselines.set(baseline.scenario.name, baseline);
    }
    for (const baseline of baselines.values()) {
      await runLoad(baseline.scenario.spec, { ...load, seconds: Math.min(1, options.warmup) });
    }
    for (let round = 1; round <= options.runs; round++) {
      for (const scenario of group) {
        const pids = await serverPids();
        if (options.quietWait > 0) await waitForQuiet(options.quietWait, BUSY_CORES, pids);
        const baseline = beside(scenario.name);
        let run: RunResult;
        let besideNote = '';
        if (baseline) {
          const measured = await runBeside(
            options,
            { pids, run: (seconds) => runLoad(scenario.spec, { ...load, seconds }) },
            { pids: await baseline.pids(), spec: baseline.scenario.spec },
          );
          run = mergeRuns(measured.subject);
          besideRuns.get(scenario.name)?.push(measured.baseline);
          besideNote =
            `; beside it ${baseline.scenario.label} ${measured.baseline.rps.toFixed(0)} req/s, ` +
            `${(measured.baseline.serverCpuMs ?? Number.NaN).toFixed(3)} ms/req`;
        } else {
          const meter = startCpuMeter(pids);
          const result = kept(await runLoad(scenario.spec, { ...load, seconds: options.duration }));
          const { otherCores, serverMs } = meter.stopWithServer();
          run = {
            ...result,
            otherCores,
            serverCpuMs: result.responses > 0 ? serverMs / result.responses : Number.NaN,
          };
        }
        runs.get(scenario.name)?.push(run);
        log(
          `  ${server} | ${scenario.label} | run ${round}/${options.runs}: ${run.rps.toFixed(0)} req/s, ` +
            `p50 ${run.p50.toFixed(2)} ms, p99 ${run.p99.toFixed(2)} ms, server CPU ${(run.serverCpuMs ?? Number.NaN).toFixed(3)} ms/req` +
            besideNote +
            (run.unexpected ? `, ${run.unexpected} unexpected ${JSON.stringify(run.statuses)}` : '') +
            ((run.otherCores ?? 0) > BUSY_CORES
              ? `, machine busy (${(run.otherCores ?? 0).toFixed(2)} cores used by others)`
              : ''),
        );
      }
    }
  }
  return scenarios.map((scenario) => {
    const summary = summarize(
      scenario,
      runs.get(scenario.name) ?? [],
      probes.get(scenario.name) ?? { ok: false, status: 0 },
    );
    const baseline = beside(scenario.name);
    const besideOf = besideRuns.get(scenario.name) ?? [];
    if (!baseline || besideOf.length === 0) return summary;
    return { ...summary, beside: summarize(baseline.scenario, besideOf, { ok: true, status: 200 }) };
  });
}

const bytesToMb = (bytes: number) => bytes / 1024 / 1024;

/** The answer the raw baseline sends: shaped and sized like Keygate's currentApiKey answer for the admin key. */
function sampleCurrentApiKeyAnswer(): string {
  const roles = DEFAULT_ROLES.filter((role) => role.accountLevel).map((role) => ({ name: role.name }));
  const currentApiKey = { id: '01KB0000000000000000000000', name: BOOTSTRAP.keyName, roles };
  return JSON.stringify({ data: { currentApiKey } });
}

/** The baseline servers, started once for the whole run: measured on their own, and beside Keygate. */
interface Baselines {
  scenarios: Scenario[];
  /** The process serving a baseline scenario. */
  pidOf(name: string): number;
  /** The largest RSS any of them has had (bytes). */
  maxRss(): number;
}

async function startBaselines(pinning: Pinning, body: string): Promise<Baselines> {
  const start = async (name: string, file: string) => {
    const port = await freePort();
    const server = new ServerProcess({
      name,
      command: process.execPath,
      args: ['--import', 'tsx', file],
      env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', NODE_ENV: 'production', BENCH_BODY: body },
      cwd: ROOT,
      pinning,
    });
    cleanups.add(() => server.stop());
    await server.waitForLine((line) => (line.includes('listening') ? true : undefined), 60_000);
    server.sampleRss();
    return { server, origin: `http://127.0.0.1:${port}` };
  };
  const raw = await start('raw-http', 'bench/baselines/raw-http.ts');
  const yoga = await start('yoga-minimal', 'bench/baselines/yoga-minimal.ts');
  const yogaList = await start('yoga-list', 'bench/baselines/yoga-list.ts');
  const pids: Record<string, number> = {
    'raw-http': raw.server.pid,
    'yoga-minimal': yoga.server.pid,
    'yoga-list': yogaList.server.pid,
  };
  return {
    scenarios: baselineScenarios({ raw: raw.origin, yoga: yoga.origin, yogaList: yogaList.origin }),
    pidOf: (name) => pids[name] ?? -1,
    maxRss: () => Math.max(raw.server.maxRss, yoga.server.maxRss, yogaList.server.maxRss),
  };
}

/** The baselines on their own: before Keygate, and after each of its sizes (with that size's server stopped). */
async function benchBaselines(baselines: Baselines, options: Options): Promise<ServerSummary> {
  log('baselines');
  const scenarios = await measure('baselines', baselines.scenarios, options, async () =>
    baselines.scenarios.map((scenario) => baselines.pidOf(scenario.name)),
  );
  return {
    server: 'baselines',
    provider: null,
    keys: null,
    seedSeconds: null,
    maxRssMb: bytesToMb(baselines.maxRss()),
    scenarios,
  };
}

/** Each Keygate scenario with a ratio target, beside the baseline its target is taken against (BASELINE_OF). */
function besideBaselines(baselines: Baselines): Beside {
  return (name) => {
    const scenario = baselines.scenarios.find((s) => s.name === BASELINE_OF[name]);
    return scenario ? { scenario, pids: async () => [baselines.pidOf(scenario.name)] } : undefined;
  };
}

/**
 * Baselines measured at several times, as one: each scenario's figures are the medians over the runs of
 * all of them. This machine's speed drifts over a run of a quarter of an hour (Yoga alone measured
 * from 2,372 to 4,500 req/s within one run), and Keygate's ratios should not hang on the minutes the
 * baselines happened to get: they are measured before Keygate and again after each size, and each
 * size is judged against the two measured next to it (ServerSummary.baselines, bench/lib/report.ts).
 */
function bracketBaselines(measured: ServerSummary[]): ServerSummary {
  const [first, ...later] = measured as [ServerSummary, ...ServerSummary[]];
  return {
    ...first,
    maxRssMb: Math.max(...measured.map((b) => b.maxRssMb)),
    scenarios: first.scenarios.map((scenario) => {
      const same = later.flatMap((b) => b.scenarios.filter((other) => other.name === scenario.name));
      if (same.length === 0) return scenario;
      const spec = { expectedStatus: scenario.expectedStatus };
      const probe = [scenario, ...same].find((s) => !s.probe.ok)?.probe ?? scenario.probe;
      return summarize(
        { ...scenario, spec },
        [scenario, ...same].flatMap((s) => s.runs),
        probe,
      );
    }),
  };
}

/** Keys the mixed workload rotates and updates (made through the API, so the admin token stays valid). */
const MIXED_TARGET_KEYS = 10;

/**
 * The mixed workload (bench/lib/mixed.ts): warm-up, then `runs` measured runs, each beside Yoga (the
 * baseline of its currentApiKey target) when `beside` names it, in alternating slices (runBeside).
 */
async function measureMixed(
  server: string,
  origin: string,
  adminToken: string,
  sampleKeyId: string,
  options: Options,
  serverPids: () => Promise<number[]>,
  beside?: BesideBaseline,
): Promise<MixedSummary> {
  const make = async (name: string) =>
    (
      await graphqlRequest<{ createApiKey: { apiKey: { id: string } } }>(origin, adminToken, CREATE_ROTATE_TARGET, {
        input: { name, roleNames: ['viewer'] },
      })
    ).createApiKey.apiKey.id;
  const rotateIds: string[] = [];
  const updateIds: string[] = [];
  for (let i = 0; i < MIXED_TARGET_KEYS; i++) {
    rotateIds.push(await make(`bench mixed rotation target ${i}`));
    updateIds.push(await make(`bench mixed update target ${i}`));
  }
  const operations = mixedOperations({ rotateIds, updateIds, sampleKeyId });
  const load = { connections: options.connections };
  const mix = (seconds: number): Promise<SlicedMixedRun> =>
    runMixed(origin, adminToken, operations, { ...load, seconds });
  await mix(options.warmup);
  if (beside) await runLoad(beside.scenario.spec, { ...load, seconds: Math.min(1, options.warmup) });
  const runs: MixedRunResult[] = [];
  const besideRuns: RunResult[] = [];
  for (let round = 1; round <= options.runs; round++) {
    const pids = await serverPids();
    if (options.quietWait > 0) await waitForQuiet(options.quietWait, BUSY_CORES, pids);
    let run: MixedRunResult;
    let besideNote = '';
    if (beside) {
      const measured = await runBeside(
        options,
        { pids, run: mix },
        { pids: await beside.pids(), spec: beside.scenario.spec },
      );
      run = mergeMixed(measured.subject);
      besideRuns.push(measured.baseline);
      besideNote = `; beside it ${beside.scenario.label} ${measured.baseline.rps.toFixed(0)} req/s`;
    } else {
      const meter = startCpuMeter(pids);
      const { latencies: _latencies, ...result } = await mix(options.duration);
      const { otherCores, serverMs } = meter.stopWithServer();
      run = { ...result, otherCores, serverCpuMs: result.responses > 0 ? serverMs / result.responses : Number.NaN };
    }
    runs.push(run);
    log(
      `  ${server} | mixed workload | run ${round}/${options.runs}: ${run.rps.toFixed(0)} req/s; ` +
        Object.entries(run.operations)
          .map(([name, op]) => `${name} ${op.rps.toFixed(0)} req/s p99 ${op.p99.toFixed(1)} ms`)
          .join(', ') +
        besideNote +
        (run.unexpected ? `, ${run.unexpected} unexpected` : ''),
    );
  }
  const summary = summarizeMixed(runs, options.connections);
  return beside && besideRuns.length > 0
    ? { ...summary, beside: summarize(beside.scenario, besideRuns, { ok: true, status: 200 }) }
    : summary;
}

/** Keygate started on `database` as the bench starts it (its first start bootstraps the organization). */
const startOn = (database: BenchDatabase, name: string, options: Options, pinning: Pinning, expectBootstrap = false) =>
  startKeygate(database, { cwd: ROOT, pinning, expectBootstrap, name, env: options.serverEnv });

/** The scenarios whose small ÷ large rows (bench/lib/report.ts) are measured side by side as well. */
const COMPARED_ACROSS_SIZES = [
  'valid',
  'apiKeys50',
  'apiKeys50-uncached',
  'verify-valid',
  'verify-scoped',
  'verify-unknown-fresh',
  'verify-round-robin',
  'verify-graphql',
];

/** What one server of a comparison needs: its origin, its database's processes, its credentials. */
interface ComparedServer {
  origin: string;
  pids: () => Promise<number[]>;
  adminToken: string;
  verification: VerifySetup | undefined;
}

function scenariosOf(server: ComparedServer): Scenario[] {
  const context = { url: server.origin, adminToken: server.adminToken, sampleKeyId: '', rotateKeyId: '' };
  return [
    ...keygateScenarios(context),
    ...(server.verification ? verifyScenarios({ url: server.origin, ...server.verification }) : []),
  ];
}

/**
 * The largest size against the smallest, both servers running: a second database is made at the
 * smallest size (with its own verified keys, as the first got at that size), and each compared
 * scenario is warmed up on both, then measured in slices of SLICE_SECONDS, alternating between the two
 * servers (each round's first in turn), sixteen slices each at least (slicesOf). Measured one after the
 * other, minutes apart, the two sizes met different machines: this one's speed moved by up to 2×
 * within a run, and a verification that reads no database came out 1.26× slower at 1M keys than at
 * 1k. Side by side, they share whatever the machine does.
 */
async function compareSizes(
  provider: Provider,
  large: ComparedServer & { keys: number },
  options: Options,
  pinning: Pinning,
): Promise<SideBySide[]> {
  const names = COMPARED_ACROSS_SIZES.filter(
    (name) =>
      (!options.scenarios || options.scenarios.includes(name)) &&
      (!name.startsWith('verify-') || large.verification !== undefined),
  );
  const smallest = options.sizes[0] as number;
  if (names.length === 0 || large.keys <= smallest) return [];
  const twin = await createBenchDatabase(provider, options.pgUrl);
  return withCleanup(twin.drop, async () => {
    const name = `keygate ${provider} side by side`;
    const bootstrap = await startOn(twin, name, options, pinning, true);
    await bootstrap.server.stop();
    const seed = await seedKeys(twin.seedTarget, smallest);
    const verification = large.verification ? await setUpVerification(twin.seedTarget) : undefined;
    const small = await startOn(twin, name, options, pinning);
    return withCleanup(
      () => small.server.stop(),
      async () => {
        const smallServer: ComparedServer = {
          origin: small.origin,
          pids: async () => [small.server.pid, ...(await twin.backendPids())],
          adminToken: bootstrap.token as string,
          verification,
        };
        const label = `${serverLabel(provider, large.keys)} beside ${serverLabel(provider, seed.total).replace('keygate ', '')}`;
        log(`${label}: side by side, ${SLICE_SECONDS} s slices`);
        const sides = [smallServer, large].map((server) => ({ server, scenarios: scenariosOf(server) }));
        const compared: SideBySide[] = [];
        const slices = slicesOf(options);
        for (const name of names) {
          const pair = sides.map((side) => ({
            ...side,
            totals: emptyTotals(),
            scenario: side.scenarios.find((s) => s.name === name) as Scenario,
          }));
          for (const side of pair) {
            if (side.scenario.prime) await side.scenario.prime();
            await runLoad(side.scenario.spec, { connections: options.connections, seconds: options.warmup });
          }
          const load = { connections: options.connections, seconds: SLICE_SECONDS };
          await alternate(
            slices,
            pair.map((side) => async () => {
              const run = await metered(await side.server.pids(), () => runLoad(side.scenario.spec, load));
              side.totals.responses += run.responses;
              side.totals.seconds += run.seconds;
              side.totals.serverMs += run.serverMs;
              side.totals.unexpected += run.unexpected;
              side.totals.p99s.push(run.p99);
            }),
          );
          const [a, b] = pair as [(typeof pair)[number], (typeof pair)[number]];
          log(
            `  ${label} | ${a.scenario.label} | ${sliceRps(a.totals).toFixed(0)} / ${sliceRps(b.totals).toFixed(0)} req/s, ` +
              `server CPU ${sliceCpuMs(a.totals).toFixed(3)} / ${sliceCpuMs(b.totals).toFixed(3)} ms/req` +
              (a.totals.unexpected + b.totals.unexpected
                ? `, ${a.totals.unexpected + b.totals.unexpected} unexpected`
                : ''),
          );
          compared.push({
            name,
            smallKeys: seed.total,
            slices,
            sliceSeconds: SLICE_SECONDS,
            small: a.totals,
            large: b.totals,
          });
        }
        return compared;
      },
    );
  });
}

/**
 * Slices each server gets per compared scenario: as long as one size's runs, sixteen at least. With
 * eight, two servers whose work does not depend on the table (the kept page, a VALID verification) still
 * came out up to 1.11 apart in a busy minute of a run whose bound is 1.1.
 */
const MIN_SLICES = 16;
const slicesOf = (options: Options) =>
  Math.max(MIN_SLICES, Math.round((options.runs * options.duration) / SLICE_SECONDS));

const emptyTotals = (): SliceTotals => ({ responses: 0, seconds: 0, serverMs: 0, unexpected: 0, p99s: [] });

const CREATE_ROTATE_TARGET = `mutation ($input: CreateApiKeyInput!) { createApiKey(input: $input) { apiKey { id } } }`;

/** Measures Keygate on one provider at every size; each size's summary goes to `servers` as soon as it is done. */
async function benchKeygate(
  provider: Provider,
  options: Options,
  pinning: Pinning,
  servers: ServerSummary[],
  baselinesAfter: () => Promise<ServerSummary | undefined>,
  beside: Beside,
) {
  const database = await createBenchDatabase(provider, options.pgUrl);
  return withCleanup(database.drop, async () => {
    const name = `keygate ${provider}`;
    // First start: bootstrap (organization, admin user, admin key) and the key that rotateApiKey rotates.
    const first = await startOn(database, name, options, pinning, true);
    const adminToken = first.token as string;
    const rotateKeyId = await withCleanup(
      () => first.server.stop(),
      async () => {
        const data = await graphqlRequest<{ createApiKey: { apiKey: { id: string } } }>(
          first.origin,
          adminToken,
          CREATE_ROTATE_TARGET,
          { input: { name: 'bench rotation target', roleNames: ['viewer'] } },
        );
        return data.createApiKey.apiKey.id;
      },
    );

    let sampleKeyId = rotateKeyId;
    let verification: VerifySetup | undefined;
    for (const size of options.sizes) {
      // Seeded with the server stopped; the restart then reads a database of the measured size.
      const seed = await seedKeys(database.seedTarget, size);
      sampleKeyId = seed.sampleKeyId ?? sampleKeyId;
      const label = serverLabel(provider, seed.total);
      log(`${label}: seeded ${seed.inserted} keys in ${seed.seconds.toFixed(1)} s (${seed.total} in the database)`);
      const running = await startOn(database, name, options, pinning);
      running.server.sampleRss();
      let mixed: MixedSummary | undefined;
      const scenarios = await withCleanup(
        () => running.server.stop(),
        async () => {
          const all = keygateScenarios({ url: running.origin, adminToken, sampleKeyId, rotateKeyId });
          const chosen = options.scenarios ? all.filter((s) => options.scenarios?.includes(s.name)) : all;
          const pids = async () => [running.server.pid, ...(await database.backendPids())];
          const measured = await measure(label, chosen, options, pids, beside);
          if (!options.scenarios || options.scenarios.includes('mixed')) {
            mixed = await measureMixed(label, running.origin, adminToken, sampleKeyId, options, pids, beside('mixed'));
          }
          // Verification (issue 15): after the other scenarios, so they see the seeded size; its keys are
          // added once, at the first size, and counted by the seeding of the next sizes.
          const verify = (context: VerifySetup) =>
            verifyScenarios({ url: running.origin, ...context }).filter(
              (s) => !options.scenarios || options.scenarios.includes(s.name),
            );
          if (verify({ verifierToken: '', tokens: [''] }).length === 0) return measured;
          verification ??= await setUpVerification(database.seedTarget);
          const verifyLabel = `${label} +${VERIFY_KEYS / 1000}k verified keys`;
          return [...measured, ...(await measure(verifyLabel, verify(verification), options, pids, beside))];
        },
      );
      // With this size's server stopped: the baselines that bracket it (and open the next size).
      const baselines = await baselinesAfter();
      servers.push({
        server: label,
        provider,
        keys: seed.total,
        seedSeconds: seed.seconds,
        maxRssMb: bytesToMb(running.server.maxRss),
        scenarios,
        ...(mixed ? { mixed } : {}),
        ...(baselines ? { baselines } : {}),
      });
    }
    // The largest size again, beside a server of the smallest (compareSizes).
    const largest = servers.filter((s) => s.provider === provider).at(-1);
    if (options.sizes.length > 1 && largest?.keys) {
      const running = await startOn(database, name, options, pinning);
      const sideBySide = await withCleanup(
        () => running.server.stop(),
        () =>
          compareSizes(
            provider,
            {
              origin: running.origin,
              pids: async () => [running.server.pid, ...(await database.backendPids())],
              adminToken,
              verification,
              keys: largest.keys ?? 0,
            },
            options,
            pinning,
          ),
      );
      if (sideBySide.length > 0) largest.sideBySide = sideBySide;
    }
  });
}

async function main(): Promise<void> {
  const options = readOptions(process.argv.slice(2), process.env);
  const pinning = setUpPinning();
  const startedAt = new Date();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`\n${signal}: stopping servers and dropping databases`);
      void cleanUp().finally(() => process.exit(130));
    });
  }

  // Every Keygate scenario, the verification ones and the mixed workload.
  const allScenarios =
    keygateScenarios({ url: '', adminToken: '', sampleKeyId: '', rotateKeyId: '' }).length +
    verifyScenarios({ url: '', verifierToken: '', tokens: [''] }).length +
    1;
  const keygateScenarioCount = options.scenarios?.length ?? allScenarios;
  const perScenario = options.warmup + options.runs * options.duration;
  const sized = options.providers.length * options.sizes.length;
  // Three baselines before Keygate and again after each size.
  // compareSizes: every compared scenario warmed up on two servers, then its slices on each.
  const compared = options.sizes.length > 1 ? options.providers.length * COMPARED_ACROSS_SIZES.length : 0;
  const sideBySide = compared * 2 * (options.warmup + slicesOf(options) * SLICE_SECONDS);
  // Scenarios with a ratio target (the mix's included) each measure their baseline beside them as long.
  const beside = Object.keys(BASELINE_OF).filter((name) => !options.scenarios || options.scenarios.includes(name));
  const besideTime = beside.length * sized * options.runs * options.duration;
  const estimate = perScenario * (3 * (1 + sized) + keygateScenarioCount * sized) + sideBySide + besideTime;
  log(
    `keygate bench: ${options.providers.join(', ')} at ${options.sizes.join(', ')} keys; ` +
      `${options.runs} × ${options.duration} s after ${options.warmup} s warm-up, ${options.connections} connections; ` +
      `≈ ${Math.ceil(estimate / 60)} min of load plus seeding`,
  );
  log(
    pinning.enabled
      ? `pinned: servers on CPU ${pinning.serverCpu}, load generator on CPU ${pinning.loadCpu}`
      : `NOT pinned: ${pinning.note}`,
  );

  if (options.tracing) {
    const sink = await startOtlpSink();
    cleanups.add(() => sink.close());
    options.serverEnv.OTEL_EXPORTER_OTLP_ENDPOINT = sink.url;
    log(`tracing on: spans go to ${sink.url}`);
  }

  const rawBody = sampleCurrentApiKeyAnswer();
  const servers: ServerSummary[] = [];
  const errors: Array<{ where: string; message: string }> = [];
  // Every measurement of the baselines, in order: before Keygate, then after each of its sizes.
  const baselines: ServerSummary[] = [];
  let baselineServers: Baselines | undefined;
  const baselinesAfter = async (): Promise<ServerSummary | undefined> => {
    log('baselines again');
    try {
      const now = await benchBaselines(baselineServers as Baselines, options);
      const previous = baselines.at(-1);
      baselines.push(now);
      servers[0] = bracketBaselines(baselines);
      return previous ? bracketBaselines([previous, now]) : now;
    } catch (error) {
      // That size's ratios then use the baselines of the whole run, as the note says.
      const message = (error as Error).stack ?? String(error);
      errors.push({ where: 'baselines after a size', message });
      log(`! baselines failed: ${message}`);
      return undefined;
    }
  };
  try {
    baselineServers = await startBaselines(pinning, rawBody);
    const before = await benchBaselines(baselineServers, options);
    baselines.push(before);
    servers.push(before);
    const beside = besideBaselines(baselineServers);
    for (const provider of options.providers) {
      try {
        await benchKeygate(provider, options, pinning, servers, baselinesAfter, beside);
      } catch (error) {
        const message = (error as Error).stack ?? String(error);
        errors.push({ where: provider, message });
        log(`! ${provider} failed: ${message}`);
      }
    }
  } finally {
    await cleanUp();
  }

  const targets = evaluateTargets(servers);
  const keygateAnswer = servers
    .flatMap((server) => server.scenarios)
    .find((s) => s.name === 'valid' && s.probe.ok)?.probe;
  const lines = [
    '',
    measurementsTable(servers),
    '',
    mixedTable(servers),
    '',
    targetsTable(targets),
    '',
    pinning.enabled
      ? `Server on CPU ${pinning.serverCpu}, autocannon on CPU ${pinning.loadCpu} (PostgreSQL itself is not pinned).`
      : `NOT pinned (${pinning.note}): figures are noisier and lower.`,
    `Keygate environment: ${Object.entries(options.serverEnv)
      .map(([name, value]) => `${name}=${value}`)
      .join(' ')}, LOG_LEVEL=warn, NODE_ENV=production.`,
    baselines.length > 1
      ? `Baselines as measured before Keygate and after each size (the first table has the medians of all; each size's ratios use the two next to it): ${(
          baselines[0] as ServerSummary
        ).scenarios
          .map(
            (scenario) =>
              `${scenario.label} ${baselines.map((b) => b.scenarios.find((s) => s.name === scenario.name)?.rps.toFixed(0) ?? '-').join(' / ')}`,
          )
          .join('; ')} req/s.`
      : 'Baselines measured before Keygate only.',
    `Medians of ${options.runs} runs × ${options.duration} s (baselines: twice that), ${options.connections} connections. ` +
      `Raw baseline body ${rawBody.length} bytes` +
      (keygateAnswer ? `; Keygate currentApiKey body ${keygateAnswer.bytes} bytes.` : '.'),
  ];
  const busy = servers.flatMap((server) =>
    server.scenarios.flatMap((s) => s.runs.filter((run) => (run.otherCores ?? 0) > BUSY_CORES)),
  );
  const measured = servers.reduce((sum, server) => sum + server.scenarios.reduce((n, s) => n + s.runs.length, 0), 0);
  if (busy.length) {
    lines.push(
      `WARNING: other processes used more than ${BUSY_CORES} of a core during ${busy.length} of ${measured} runs ` +
        '("other CPU" column): those figures are lower than on a quiet machine.',
    );
  }
  if (errors.length) lines.push(`Errors: ${errors.map((e) => e.where).join(', ')} (see above and the JSON).`);
  process.stdout.write(`${lines.join('\n')}\n`);

  const file = join(ROOT, 'bench', 'results', `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  mkdirSync(dirname(file), { recursive: true });
  const report = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? null, pinning },
    options,
    rawBaselineBodyBytes: rawBody.length,
    baselines,
    servers,
    targets,
    errors,
  };
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  log(`results: ${file}`);
  if (errors.length) process.exitCode = 1;
}

await main().catch((error: unknown) => {
  // A bad option is the user's to fix: its message says how; anything else keeps its stack.
  log(error instanceof OptionError ? `bench: ${error.message}` : String((error as Error).stack ?? error));
  process.exitCode = 2;
});
