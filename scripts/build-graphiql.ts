// `npm run build:graphiql` (also run after `npm ci`): bundles the GraphiQL page (web/graphiql/) with
// esbuild into dist/graphiql/assets/, with content-hashed names and a .br and .gz copy of each file (scripts/compress-assets.ts),
// plus dist/graphiql/manifest.json naming the entry files. The server (src/http/graphiql.ts) reads them
// once and serves them from memory: nothing is rendered per request.
import { rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { compressAssets } from './compress-assets.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = join(root, 'dist/graphiql');
const assets = join(outdir, 'assets');
const resolve = createRequire(import.meta.url).resolve;

rmSync(outdir, { recursive: true, force: true });

const entryPoints = {
  graphiql: join(root, 'web/graphiql/main.ts'),
  // Monaco's workers, each a standalone script (a page's workers must be same-origin files under the CSP).
  'editor.worker': resolve('monaco-editor/esm/vs/editor/editor.worker.js'),
  'json.worker': resolve('monaco-editor/esm/vs/language/json/json.worker.js'),
  'graphql.worker': resolve('monaco-graphql/esm/graphql.worker.js'),
};

const result = await build({
  entryPoints,
  outdir: assets,
  bundle: true,
  format: 'iife',
  minify: true,
  target: 'es2022',
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  loader: { '.ttf': 'file', '.woff': 'file', '.woff2': 'file', '.svg': 'file', '.png': 'file' },
  define: { 'process.env.NODE_ENV': '"production"' },
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
});

const outputOf = (entry: string) => {
  const [file, output] = Object.entries(result.metafile.outputs).find(([, o]) => o.entryPoint === entry) ?? [];
  if (!file || !output) throw new Error(`esbuild produced no output for ${entry}`);
  return { script: basename(file), style: output.cssBundle ? basename(output.cssBundle) : undefined };
};
const relativeEntry = (path: string) => relative(root, path).split('\\').join('/');
const main = outputOf(relativeEntry(entryPoints.graphiql));
if (!main.style) throw new Error('esbuild produced no stylesheet for GraphiQL');
const manifest = {
  script: main.script,
  style: main.style,
  workers: {
    editor: outputOf(relativeEntry(entryPoints['editor.worker'])).script,
    json: outputOf(relativeEntry(entryPoints['json.worker'])).script,
    graphql: outputOf(relativeEntry(entryPoints['graphql.worker'])).script,
  },
};

const { total, brotli } = compressAssets(assets);
writeFileSync(join(outdir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
console.log(`GraphiQL built into ${relative(root, outdir)}: ${mb(total)}, ${mb(brotli)} with brotli`);
