// The keygate command: the administration path. Same domain functions as the API; one JSON document
// on stdout on success; a message on stderr and a non-zero exit on failure, with nothing written.
// Commands are listed in src/cli/commands.ts; each loads what it needs only when it runs, so that a
// command answers in a fraction of a second.
import { type Command, commandHelp, parseOptions, UsageError } from './cli/command.ts';
import { COMMANDS } from './cli/commands.ts';
import { fail } from './cli/failure.ts';

function overview(commands: readonly Command[], title: string): string {
  const width = Math.max(...commands.map((command) => command.name.length));
  const lines = commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary.split(/(?<=\.) /)[0]}`);
  return `${title}\n\nCommands:\n${lines.join('\n')}\n\nEvery command honours DATABASE_URL (PostgreSQL) or KEYGATE_DATA_DIR (embedded database, default ./data).\nAdd --help to any command for its options.\n`;
}

const USAGE = 'usage: keygate <command> [options]';
const HELP = overview(COMMANDS, `keygate: API-key lifecycle service\n\n${USAGE}`);
const isHelp = (word: string | undefined) => word === '--help' || word === '-h' || word === 'help';

/** The command the arguments name, and the arguments left for its options. */
function find(argv: string[]): { command: Command; args: string[] } | { help: string } {
  const [first, second] = argv;
  if (first === undefined) throw new UsageError('no command given', HELP);
  if (isHelp(first) && argv.length === 1) return { help: HELP };
  const single = COMMANDS.find((command) => command.name === first);
  if (single) return { command: single, args: argv.slice(1) };
  const group = COMMANDS.filter((command) => command.name.startsWith(`${first} `));
  if (group.length === 0) throw new UsageError(`unknown command "${first}"`, HELP);
  const groupHelp = overview(
    group,
    `usage: keygate ${first} <${group.map((c) => c.name.split(' ')[1]).join('|')}> [options]`,
  );
  if (isHelp(second)) return { help: groupHelp };
  if (second === undefined) throw new UsageError(`"${first}" needs a subcommand`, groupHelp);
  const command = group.find((c) => c.name === `${first} ${second}`);
  if (!command) throw new UsageError(`unknown command "${first} ${second}"`, groupHelp);
  return { command, args: argv.slice(2) };
}

async function main(argv: string[]): Promise<number> {
  const found = find(argv);
  if ('help' in found) {
    process.stdout.write(found.help);
    return 0;
  }
  const values = parseOptions(found.command, found.args);
  if (values === 'help') {
    process.stdout.write(commandHelp(found.command));
    return 0;
  }
  const result = await found.command.run(values);
  if (result !== undefined) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  return 0;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  process.exitCode = await fail(error);
}
