// `npm run build:console` (also run after `npm ci`): bundles the console (web/console/) with esbuild
// into dist/console/assets/, content-hashed, with a .br and .gz copy of each file, plus
// dist/console/manifest.json naming them. The server (src/http/console.ts) reads them once and serves
// them from memory. The documents' types are regenerated first, so the console builds against the
// schema in the repository.
import { rmSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { compressAssets } from './compress-assets.ts';
import './console-types.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = join(root, 'dist/console');
const assets = join(outdir, 'assets');

rmSync(outdir, { recursive: true, force: true });

const result = await build({
  entryPoints: { console: join(root, 'web/console/main.tsx') },
  outdir: assets,
  bundle: true,
  format: 'iife',
  minify: true,
  target: 'es2022',
  jsx: 'automatic',
  entryNames: '[name]-[hash]',
  define: { 'process.env.NODE_ENV': '"production"' },
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
});

const [file, output] = Object.entries(result.metafile.outputs).find(([, o]) => o.entryPoint) ?? [];
if (!file || !output?.cssBundle) throw new Error('esbuild produced no script and stylesheet for the console');
const manifest = { script: basename(file), style: basename(output.cssBundle) };
const sizes = compressAssets(assets);
writeFileSync(join(outdir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const script = sizes.files.get(manifest.script);
console.log(
  `Console built into ${relative(root, outdir)}: script ${kb(script?.size ?? 0)}, ${kb(script?.gzip ?? 0)} gzipped, ${kb(script?.brotli ?? 0)} with brotli`,
);
