import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { derivePostgresSchema, postgresSchemaPath, sqliteSchemaPath } from '../../scripts/derive-schema.ts';

test('prisma/postgresql/schema.prisma is derived from prisma/schema.prisma (run `npm run generate`)', () => {
  const derived = derivePostgresSchema(readFileSync(sqliteSchemaPath, 'utf8'));
  expect(readFileSync(postgresSchemaPath, 'utf8')).toBe(derived);
});
