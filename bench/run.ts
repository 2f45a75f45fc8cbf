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
import { probe, type RunResult, runLoad } from './lib/load.ts';
import { type MixedRunResult, runMixed } from './lib/mixed.ts';
import { OptionError, type Options, readOptions } from './lib/options.ts';
import { startOtlpSink } from './lib/otlp-sink.ts';
import { freePort, type Pinning, ServerProcess, setUpPinning } from './lib/processes.ts';
import {
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

/**
 * Probes each scenario, warms it up, then measures: reads interleaved run by run, then writes the same
 * way, so reads never see the keys that createApiKey adds.
 */
async function measure(
  server: string,
  scenarios: Scenario[],
  options: Options,
  serverPids: () => Promise<number[]>,
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
  const load = { connections: options.connections };
  for (const group of [scenarios.filter((s) => !s.writes), scenarios.filter((s) => s.writes)]) {
    for (const scenario of group) {
      if (scenario.prime) log(`  ${server} | ${scenario.label} | primed: ${await scenario.prime()}`);
      await runLoad(scenario.spec, { ...load, seconds: options.warmup });
    }
    for (let round = 1; round <= options.runs; round++) {
      for (const scenario of group) {
        const pids = await serverPids();
        if (options.quietWait > 0) await waitForQuiet(options.quietWait, BUSY_CORES, pids);
        const meter = startCpuMeter(pids);
        const result = await runLoad(scenario.spec, { ...load, seconds: options.duration });
        const { otherCores, serverMs } = meter.stopWithServer();
        const run = {
          ...result,
          otherCores,
          serverCpuMs: result.responses > 0 ? serverMs / result.responses : Number.NaN,
        };
        runs.get(scenario.name)?.push(run);
        log(
          `  ${server} | ${scenario.label} | run ${round}/${options.runs}: ${run.rps.toFixed(0)} req/s, ` +
            `p50 ${run.p50.toFixed(2)} ms, p99 ${run.p99.toFixed(2)} ms, server CPU ${run.serverCpuMs.toFixed(3)} ms/req` +
            (run.unexpected ? `, ${run.unexpected} unexpected ${JSON.stringify(run.statuses)}` : '') +
            (run.otherCores > BUSY_CORES ? `, machine busy (${run.otherCores.toFixed(2)} cores used by others)` : ''),
        );
      }
    }
  }
  return scenarios.map((scenario) =>
    summarize(scenario, runs.get(scenario.name) ?? [], probes.get(scenario.name) ?? { ok: false, status: 0 }),
  );
}

const bytesToMb = (bytes: number) => bytes / 1024 / 1024;

/** The answer the raw baseline sends: shaped and sized like Keygate's currentApiKey answer for the admin key. */
function sampleCurrentApiKeyAnswer(): string {
  const roles = DEFAULT_ROLES.filter((role) => role.accountLevel).map((role) => ({ name: role.name }));
  const currentApiKey = { id: '01KB0000000000000000000000', name: BOOTSTRAP.keyName, roles };
  return JSON.stringify({ data: { currentApiKey } });
}

async function benchBaselines(options: Options, pinning: Pinning, body: string): Promise<ServerSummary> {
  // Their own servers' stops: the baselines are measured between Keygate's sizes too, while the
  // database of the provider being measured is still open (and in `cleanups`).
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0)) if (cleanups.delete(stop)) await stop();
  };
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
    const stop = () => server.stop();
    stops.push(stop);
    cleanups.add(stop);
    await server.waitForLine((line) => (line.includes('listening') ? true : undefined), 60_000);
    server.sampleRss();
    return { server, origin: `http://127.0.0.1:${port}` };
  };
  try {
    const raw = await start('raw-http', 'bench/baselines/raw-http.ts');
    const yoga = await start('yoga-minimal', 'bench/baselines/yoga-minimal.ts');
    const yogaList = await start('yoga-list', 'bench/baselines/yoga-list.ts');
    log('baselines');
    const scenarios = await measure(
      'baselines',
      baselineScenarios({ raw: raw.origin, yoga: yoga.origin, yogaList: yogaList.origin }),
      options,
      async () => [raw.server.pid, yoga.server.pid, yogaList.server.pid],
    );
    return {
      server: 'baselines',
      provider: null,
      keys: null,
      seedSeconds: null,
      maxRssMb: bytesToMb(Math.max(raw.server.maxRss, yoga.server.maxRss, yogaList.server.maxRss)),
      scenarios,
    };
  } finally {
    await stopAll();
  }
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

/** The mixed workload (bench/lib/mixed.ts): warm-up, then `runs` measured runs. */
async function measureMixed(
  server: string,
  origin: string,
  adminToken: string,
  sampleKeyId: string,
  options: Options,
  serverPids: () => Promise<number[]>,
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
  await runMixed(origin, adminToken, operations, { ...load, seconds: options.warmup });
  const runs: MixedRunResult[] = [];
  for (let round = 1; round <= options.runs; round++) {
    const pids = await serverPids();
    if (options.quietWait > 0) await waitForQuiet(options.quietWait, BUSY_CORES, pids);
    const meter = startCpuMeter(pids);
    const run = await runMixed(origin, adminToken, operations, { ...load, seconds: options.duration });
    const { otherCores, serverMs } = meter.stopWithServer();
    runs.push({ ...run, otherCores, serverCpuMs: run.responses > 0 ? serverMs / run.responses : Number.NaN });
    log(
      `  ${server} | mixed workload | run ${round}/${options.runs}: ${run.rps.toFixed(0)} req/s; ` +
        Object.entries(run.operations)
          .map(([name, op]) => `${name} ${op.rps.toFixed(0)} req/s p99 ${op.p99.toFixed(1)} ms`)
          .join(', ') +
        (run.unexpected ? `, ${run.unexpected} unexpected` : ''),
    );
  }
  return summarizeMixed(runs, options.connections);
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

/** One slice of a side-by-side comparison (s): short, so that the two servers alternate often. */
const SLICE_SECONDS = 1;

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
          for (let slice = 0; slice < slices; slice++) {
            for (const side of slice % 2 === 0 ? pair : [...pair].reverse()) {
              const meter = startCpuMeter(await side.server.pids());
              const run = await runLoad(side.scenario.spec, {
                connections: options.connections,
                seconds: SLICE_SECONDS,
              });
              const { serverMs } = meter.stopWithServer();
              side.totals.responses += run.responses;
              side.totals.seconds += run.seconds;
              side.totals.serverMs += serverMs;
              side.totals.unexpected += run.unexpected;
              side.totals.p99s.push(run.p99);
            }
          }
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
          const measured = await measure(label, chosen, options, pids);
          if (!options.scenarios || options.scenarios.includes('mixed')) {
            mixed = await measureMixed(label, running.origin, adminToken, sampleKeyId, options, pids);
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
          return [...measured, ...(await measure(verifyLabel, verify(verification), options, pids))];
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

  const keygateScenarioCount = options.scenarios?.length ?? 9;
  const perScenario = options.warmup + options.runs * options.duration;
  const sized = options.providers.length * options.sizes.length;
  // Three baselines before Keygate and again after each size.
  // compareSizes: every compared scenario warmed up on two servers, then its slices on each.
  const compared = options.sizes.length > 1 ? options.providers.length * COMPARED_ACROSS_SIZES.length : 0;
  const sideBySide = compared * 2 * (options.warmup + slicesOf(options) * SLICE_SECONDS);
  const estimate = perScenario * (3 * (1 + sized) + keygateScenarioCount * sized) + sideBySide;
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
  const baselinesAfter = async (): Promise<ServerSummary | undefined> => {
    log('baselines again');
    try {
      const now = await benchBaselines(options, pinning, rawBody);
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
    const before = await benchBaselines(options, pinning, rawBody);
    baselines.push(before);
    servers.push(before);
    for (const provider of options.providers) {
      try {
        await benchKeygate(provider, options, pinning, servers, baselinesAfter);
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
