// What a CLI command is: a name ("org create"), its options, and what it runs. src/cli/commands.ts
// lists them all; src/cli.ts finds the one asked for, parses its options and prints its answer.
// A command file imports only types and light modules at its top: what a command needs (a database
// driver, Prisma, the GraphQL schema) is imported when it runs, so each command loads only its own.
import { parseArgs } from 'node:util';

export interface Option {
  /** A string option takes a value; a flag does not. */
  type: 'string' | 'boolean';
  /** What the value is, in the usage line: `--org ORG`. */
  value?: string;
  required?: boolean;
  help: string;
}

export type Values = Record<string, string | boolean | undefined>;

export interface Command {
  /** The words that name it: "org create", "migrate". */
  name: string;
  summary: string;
  options: Record<string, Option>;
  /** Longer notes printed under the options by --help. */
  notes?: string;
  /** Its answer, printed as JSON; undefined when it printed (or serves) on its own. */
  run(values: Values): Promise<unknown>;
}

/** The command line was wrong: usage on stderr, exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
  }
}

export function usageLine(command: Command): string {
  const options = Object.entries(command.options).map(([name, option]) => {
    const text = option.type === 'boolean' ? `--${name}` : `--${name} ${option.value ?? 'VALUE'}`;
    return option.required ? text : `[${text}]`;
  });
  return ['usage: keygate', command.name, ...options].join(' ');
}

export function commandHelp(command: Command): string {
  const lines = Object.entries(command.options).map(([name, option]) => {
    const flag = option.type === 'boolean' ? `--${name}` : `--${name} ${option.value ?? 'VALUE'}`;
    return `  ${flag.padEnd(28)} ${option.help}${option.required ? ' (required)' : ''}`;
  });
  lines.push(`  ${'--help'.padEnd(28)} print this help`);
  const notes = command.notes ? `\n${command.notes}\n` : '';
  return `${usageLine(command)}\n\n${command.summary}\n\noptions:\n${lines.join('\n')}\n${notes}`;
}

/** The command's options from its arguments, or 'help' when --help is among them. */
export function parseOptions(command: Command, args: string[]): Values | 'help' {
  const options = Object.fromEntries(Object.entries(command.options).map(([name, o]) => [name, { type: o.type }]));
  let values: Values;
  let tokens: Array<{ kind: string; name?: string }>;
  try {
    ({ values, tokens } = parseArgs({
      args,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
      tokens: true,
    }) as { values: Values; tokens: Array<{ kind: string; name?: string }> });
  } catch (error) {
    // --help wins over any other mistake on the same line.
    if (args.includes('--help') || args.includes('-h')) return 'help';
    throw new UsageError((error as Error).message, usageLine(command));
  }
  if (values.help) return 'help';
  // parseArgs keeps the last of a repeated option: `--name a --name b` would make "b" without a word.
  const seen = new Set<string>();
  for (const token of tokens) {
    if (token.kind !== 'option' || token.name === undefined) continue;
    if (seen.has(token.name)) {
      throw new UsageError(`--${token.name} is given more than once; give it once`, usageLine(command));
    }
    seen.add(token.name);
  }
  const missing = Object.entries(command.options)
    .filter(([name, o]) => o.required && (values[name] === undefined || values[name] === ''))
    .map(([name]) => `--${name}`);
  if (missing.length > 0) throw new UsageError(`missing ${missing.join(', ')}`, usageLine(command));
  return values;
}

/** A string option's value ('' when absent). */
export const text = (values: Values, name: string): string => {
  const value = values[name];
  return typeof value === 'string' ? value : '';
};

/** A comma-separated option's entries. */
export const list = (values: Values, name: string): string[] =>
  text(values, name)
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);

/** A whole-number option, or undefined when absent; anything else is a usage error. */
export function wholeNumber(command: Command, values: Values, name: string): number | undefined {
  const value = values[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^\d{1,9}$/.test(value)) {
    throw new UsageError(`--${name} must be a whole number, not ${JSON.stringify(value)}`, usageLine(command));
  }
  return Number(value);
}
