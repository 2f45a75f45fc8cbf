// Options of `npm run bench`: environment variables (BENCH_DURATION=5) or flags (--duration=5), flags win.
import type { Provider } from './report.ts';

export interface Options {
  warmup: number;
  duration: number;
  runs: number;
  connections: number;
  providers: Provider[];
  sizes: number[];
  /** Scenario names to run (baselines always run); null for all. */
  scenarios: string[] | null;
  pgUrl: string;
  /** Seconds to wait before each measured run for the rest of the machine to go quiet (0: never wait). */
  quietWait: number;
  /** Extra environment of the Keygate servers (after the defaults below). */
  serverEnv: Record<string, string>;
  /** Keygate with OpenTelemetry tracing on, sending to a local sink (bench/lib/otlp-sink.ts). */
  tracing: boolean;
}

/**
 * Rate limits off: with them on, the benchmark would measure the limiter (1,200 requests and 3,000,000 of
 * cost per key, 60 failed authentications per address and minute), not the server. The limit of keys per
 * organization is off too: the seeded organization holds up to 1,000,000 keys. BENCH_SERVER_ENV adds or
 * overrides.
 */
const DEFAULT_SERVER_ENV: Record<string, string> = {
  KEYGATE_RATE_LIMIT_PER_KEY: '0',
  KEYGATE_FAILED_AUTH_LIMIT: '0',
  KEYGATE_COST_BUDGET_PER_KEY: '0',
  KEYGATE_MAX_KEYS_PER_ORG: '0',
  KEYGATE_VERIFY_RATE_LIMIT_PER_KEY: '0',
};

export class OptionError extends Error {}

function parseEnvList(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of text.split(',').filter((item) => item.trim())) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(pair);
    if (!match) throw new OptionError(`server-env: expected NAME=value, got "${pair}"`);
    env[match[1] as string] = (match[2] as string).trim();
  }
  return env;
}

function parseSwitch(name: string, text: string): boolean {
  if (text === 'on') return true;
  if (text === 'off') return false;
  throw new OptionError(`${name} must be on or off, got "${text}"`);
}

function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(text.trim());
  if (!match) throw new OptionError(`not a size: "${text}" (e.g. 1000, 1k, 1M)`);
  const scale = { '': 1, k: 1e3, K: 1e3, m: 1e6, M: 1e6 }[match[2] as '' | 'k' | 'K' | 'm' | 'M'];
  return Math.round(Number(match[1]) * scale);
}

/** Flags (--duration=5 or --duration 5) override environment variables (BENCH_DURATION=5). */
export function readOptions(argv: string[], env: NodeJS.ProcessEnv): Options {
  const values: Record<string, string> = {};
  const names = [
    'warmup',
    'duration',
    'runs',
    'connections',
    'providers',
    'sizes',
    'scenarios',
    'pg-url',
    'quiet-wait',
    'server-env',
    'tracing',
  ];
  for (const name of names) {
    const fromEnv = env[`BENCH_${name.replace('-', '_').toUpperCase()}`];
    if (fromEnv) values[name] = fromEnv;
  }
  if (argv.includes('--help')) {
    process.stderr.write(
      `usage: npm run bench -- [${names.map((name) => `--${name}=…`).join(' ')}]; see bench/README.md\n`,
    );
    process.exit(0);
  }
  for (let i = 0; i < argv.length; i++) {
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i] as string);
    if (!match || !names.includes(match[1] as string)) throw new OptionError(`unknown argument: ${argv[i]}`);
    const value = match[2] ?? argv[++i];
    if (value === undefined) throw new OptionError(`--${match[1]} needs a value`);
    values[match[1] as string] = value;
  }
  const positive = (name: string, fallback: number) => {
    const value = Number(values[name] ?? fallback);
    if (!(value > 0)) throw new OptionError(`${name} must be a positive number`);
    return value;
  };
  const list = (name: string, fallback: string) =>
    (values[name] ?? fallback)
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean);
  const duration = positive('duration', 5);
  const providers = list('providers', 'sqlite,postgresql').map((name) => {
    if (name !== 'sqlite' && name !== 'postgresql') throw new OptionError(`unknown provider: ${name}`);
    return name;
  });
  return {
    warmup: positive('warmup', Math.min(3, duration)),
    duration,
    runs: Math.round(positive('runs', 3)),
    connections: Math.round(positive('connections', 20)),
    providers,
    sizes: [...new Set(list('sizes', '1000,1000000').map(parseSize))].sort((a, b) => a - b),
    scenarios: values.scenarios ? list('scenarios', '') : null,
    pgUrl: values['pg-url'] ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
    quietWait: Math.max(0, Number(values['quiet-wait'] ?? 0) || 0),
    serverEnv: { ...DEFAULT_SERVER_ENV, ...parseEnvList(values['server-env'] ?? '') },
    tracing: parseSwitch('tracing', values.tracing ?? 'off'),
  };
}
