// How a failed command ends: one line on stderr saying what is wrong, and the exit code docs/api.md gives
// (2 for a usage error, printed with the usage; 1 for anything else). Never a stack, SQL or secret,
// unless KEYGATE_DEBUG=1 asks for the details.
import { ConnectionError } from '../db/connection-errors.ts';
import { MissingDatabaseError } from '../db/reader.ts';
import { KeygateError } from '../domain/errors.ts';
import { UsageError } from './command.ts';

/** Errors whose message is written for the operator, by class name (no module has to be loaded to tell). */
const SPOKEN = new Set(['MigrationError', 'BackupError', 'DatabaseConfigError']);

export async function fail(error: unknown): Promise<number> {
  // Loaded only now: src/config.ts loads zod, which a command that succeeds never needs.
  const { ConfigError } = await import('../config.ts');
  if (error instanceof UsageError) {
    process.stderr.write(`keygate: ${error.message}\n${error.usage}\nRun "keygate --help" for every command.\n`);
    return 2;
  }
  if (
    error instanceof KeygateError ||
    error instanceof ConfigError ||
    error instanceof ConnectionError ||
    error instanceof MissingDatabaseError ||
    SPOKEN.has((error as Error | null)?.name ?? '')
  ) {
    process.stderr.write(`keygate: ${(error as Error).message}\n`);
  } else if ((error as NodeJS.ErrnoException)?.code === 'EADDRINUSE') {
    process.stderr.write('keygate: the address is already in use; set PORT (or HOST) to a free one.\n');
  } else {
    // No stack, no SQL, no connection string: the cause is named by its class only.
    process.stderr.write(
      `keygate: unexpected ${(error as Error)?.name ?? 'error'}; nothing was changed. Set KEYGATE_DEBUG=1 for details.\n`,
    );
  }
  if (process.env.KEYGATE_DEBUG === '1') process.stderr.write(`${(error as Error)?.stack ?? error}\n`);
  return 1;
}
