// Derives prisma/postgresql/schema.prisma from prisma/schema.prisma: same models, PostgreSQL
// provider, its own generated client. Run by `npm run generate`; test/db/schema-sync.test.ts checks
// the committed file is what this produces.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const sqliteSchemaPath = fileURLToPath(new URL('../prisma/schema.prisma', import.meta.url));
export const postgresSchemaPath = fileURLToPath(new URL('../prisma/postgresql/schema.prisma', import.meta.url));

export function derivePostgresSchema(sqliteSchema: string): string {
  const header = [
    '// GENERATED from ../schema.prisma by `npm run generate` (scripts/derive-schema.ts): do not edit.',
    '// Edit prisma/schema.prisma instead; the models live there once.',
    '',
    '',
  ].join('\n');
  const body = sqliteSchema
    .replace(/^(\/\/.*\n)+\n/, '')
    .replace(
      'output                 = "../src/generated/sqlite"',
      'output                 = "../../src/generated/postgresql"',
    )
    .replace(/datasource db \{\n {2}provider = "sqlite"\n\}/, 'datasource db {\n  provider = "postgresql"\n}');
  if (!body.includes('"postgresql"') || !body.includes('generated/postgresql')) {
    throw new Error('prisma/schema.prisma no longer has the generator/datasource shape derive-schema expects');
  }
  return header + body;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(postgresSchemaPath, derivePostgresSchema(readFileSync(sqliteSchemaPath, 'utf8')));
}
