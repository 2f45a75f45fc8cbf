// `npm run generate` (also run after `npm ci`): derive the PostgreSQL schema, then generate one
// Prisma client per provider. `prisma generate` never runs the schema engine, but the CLI insists
// on finding one; pointing it at any existing file keeps it from downloading a native binary.
// Only this process sets the variable: with it set, `prisma migrate deploy` silently does nothing.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { derivePostgresSchema, postgresSchemaPath, sqliteSchemaPath } from './derive-schema.ts';

writeFileSync(postgresSchemaPath, derivePostgresSchema(readFileSync(sqliteSchemaPath, 'utf8')));

const prismaCli = createRequire(import.meta.url).resolve('prisma/build/index.js');
for (const schema of [sqliteSchemaPath, postgresSchemaPath]) {
  execFileSync(process.execPath, [prismaCli, 'generate', '--schema', schema, '--no-hints'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.execPath, PRISMA_HIDE_UPDATE_MESSAGE: '1' },
  });
}
