// Writes a .br and a .gz copy next to every file of a built assets directory (scripts/build-graphiql.ts,
// scripts/build-console.ts), so the server (src/http/static-assets.ts) never compresses per request.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

export interface Sizes {
  total: number;
  brotli: number;
  gzip: number;
  /** Per file: its size, brotli and gzip sizes. */
  files: Map<string, { size: number; brotli: number; gzip: number }>;
}

export function compressAssets(directory: string): Sizes {
  const sizes: Sizes = { total: 0, brotli: 0, gzip: 0, files: new Map() };
  for (const name of readdirSync(directory)) {
    if (/\.(br|gz)$/.test(name)) continue;
    const content = readFileSync(join(directory, name));
    const br = brotliCompressSync(content, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 10, [constants.BROTLI_PARAM_SIZE_HINT]: content.length },
    });
    const gz = gzipSync(content, { level: 9 });
    writeFileSync(join(directory, `${name}.br`), br);
    writeFileSync(join(directory, `${name}.gz`), gz);
    sizes.total += content.length;
    sizes.brotli += br.length;
    sizes.gzip += gz.length;
    sizes.files.set(name, { size: content.length, brotli: br.length, gzip: gz.length });
  }
  return sizes;
}
