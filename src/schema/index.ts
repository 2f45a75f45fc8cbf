// Builds the schema from the entity files. Importing them registers their types on the builder.
import { lexicographicSortSchema, printSchema } from 'graphql';
import './api-key.ts';
import './api-key-mutations.ts';
import './audit.ts';
import './role.ts';
import './team.ts';
import './verification.ts';
import { builder } from './builder.ts';

export const schema = builder.toSchema();

export function printSchemaSdl(): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
