// keygate serve / migrate / print-schema / backup: the server process and its database.
import { type Command, text } from './command.ts';
import { cliDatabase, withRuntime } from './database.ts';

export const serverCommands: Command[] = [
  {
    name: 'serve',
    summary:
      'Start the server (PORT, HOST, DATABASE_URL, KEYGATE_DATA_DIR, CORS_ORIGINS, …; see the README). ' +
      'SIGTERM or SIGINT drains requests, writes pending lastUsedAt updates and exits 0.',
    options: {},
    run: async () => {
      const { serve } = await import('../main.ts');
      const { loadConfig } = await import('../config.ts');
      await serve(loadConfig());
      return undefined;
    },
  },
  {
    name: 'migrate',
    summary: 'Apply pending migrations (creating the embedded database if there is none): {"applied": [names]}.',
    options: {},
    run: () => withRuntime(async ({ applied }) => ({ applied }), { create: true }),
  },
  {
    name: 'print-schema',
    summary: 'Print the GraphQL schema (SDL), as schema.graphql holds it.',
    options: {},
    run: async () => {
      const { printSchemaSdl } = await import('../schema/index.ts');
      process.stdout.write(printSchemaSdl());
      return undefined;
    },
  },
  {
    name: 'backup',
    summary:
      'Copy the embedded database to FILE, consistently, while the server runs: {"backup", "bytes"}. ' +
      'On PostgreSQL use pg_dump instead (docs/operations.md).',
    options: {
      to: { type: 'string', value: 'FILE', required: true, help: 'where to write the copy (must not exist)' },
    },
    run: async (values) => {
      const { backupEmbeddedDatabase } = await import('../db/backup.ts');
      return backupEmbeddedDatabase(cliDatabase(), text(values, 'to'));
    },
  },
];
