// Writes web/console/graphql-env.d.ts, the schema as gql.tada's types, from schema.graphql (gql.tada's
// own CLI reads tsconfig through TypeScript's JavaScript API, which TypeScript 7 no longer has).
// Run by `npm run typecheck` and by scripts/build-console.ts, so a schema change that breaks one of the
// console's documents fails the typecheck. The file is generated, hence gitignored.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { minifyIntrospection, outputIntrospectionFile } from '@gql.tada/internal';
import { buildSchema, introspectionFromSchema } from 'graphql';

const root = fileURLToPath(new URL('..', import.meta.url));
const schema = buildSchema(readFileSync(`${root}schema.graphql`, 'utf8'));
const introspection = minifyIntrospection(introspectionFromSchema(schema, { descriptions: false }));
const output = outputIntrospectionFile(introspection, { fileType: '.d.ts', shouldPreprocess: true });
const path = `${root}web/console/graphql-env.d.ts`;
// Unchanged: left alone, so its time stamp says when the schema last changed.
if (!existsSync(path) || readFileSync(path, 'utf8') !== output) writeFileSync(path, output);
