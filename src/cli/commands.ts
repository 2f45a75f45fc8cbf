// Every command of the keygate CLI, in the order `keygate --help` lists them. A new group of commands
// is a new file under src/cli/ and one entry here.
import { auditCommands } from './audit.ts';
import type { Command } from './command.ts';
import { keyCommands } from './key.ts';
import { orgCommands } from './org.ts';
import { serverCommands } from './server.ts';
import { teamCommands } from './team.ts';
import { userCommands } from './user.ts';
import { verifierCommands } from './verifier.ts';

export const COMMANDS: readonly Command[] = [
  ...serverCommands,
  ...orgCommands,
  ...teamCommands,
  ...userCommands,
  ...keyCommands,
  ...verifierCommands,
  ...auditCommands,
];
