// Links bin/keygate.js as node_modules/.bin/keygate (run after `npm ci` / `npm install`). npm links the
// bins of dependencies there, never the project's own; without the link, `npx keygate` makes npm walk
// the whole dependency tree to find the command (about 0.8 s of every CLI call on a busy machine).
import { existsSync, lstatSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const binDir = fileURLToPath(new URL('../node_modules/.bin/', import.meta.url));
const link = `${binDir}keygate`;
if (existsSync(fileURLToPath(new URL('../node_modules/', import.meta.url)))) {
  mkdirSync(binDir, { recursive: true });
  if (lstatSync(link, { throwIfNoEntry: false })) rmSync(link);
  symlinkSync('../../bin/keygate.js', link);
}
