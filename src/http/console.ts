// The Keygate console: a single-page app at /console whose script and stylesheet are content-hashed
// files under /console/assets/. Built at install (scripts/build-console.ts), read once on the first
// request and served from memory like GraphiQL's files (src/http/static-assets.ts). The page itself
// needs no token: it asks for one and talks only to /graphql with it (docs/api.md, HTTP endpoints).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { GraphQLSchema } from 'graphql';
import { graphiqlFor, type StaticSite, staticSites } from './graphiql.ts';
import { answerWith, builtFile, IMMUTABLE, memoryFile, type StaticFile, staticErrorAnswer } from './static-assets.ts';

export const CONSOLE_PATH = '/console';
export const CONSOLE_ASSETS_PATH = '/console/assets/';

/** No inline script or style, nothing from another host; the page may only call this origin's API. */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

const PAGE_HEADERS = {
  'content-security-policy': CONSOLE_CSP,
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

const BUILD_DIRECTORY = fileURLToPath(new URL('../../dist/console/', import.meta.url));

interface Manifest {
  script: string;
  style: string;
}

interface Site {
  page: StaticFile;
  assets: Map<string, StaticFile>;
}

function load(directory: string): Site {
  const manifest = JSON.parse(readFileSync(`${directory}manifest.json`, 'utf8')) as Manifest;
  const assets = new Map<string, StaticFile>();
  for (const name of [manifest.script, manifest.style]) {
    assets.set(name, builtFile(`${directory}assets/${name}`, IMMUTABLE));
  }
  // Relative to /console, so the console works behind a proxy that mounts Keygate under a prefix.
  const asset = (name: string) => `console/assets/${name}`;
  const html = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Keygate console</title>
    <link rel="icon" href="data:,">
    <link rel="stylesheet" href="${asset(manifest.style)}">
    <script defer src="${asset(manifest.script)}"></script>
  </head>
  <body>
    <div id="console"></div>
    <noscript>The Keygate console needs JavaScript.</noscript>
  </body>
</html>
`;
  return { page: memoryFile(html, 'text/html; charset=utf-8', 'no-cache', PAGE_HEADERS), assets };
}

/** Loads the built files on first use; a missing build is retried on the next request. */
export function createConsole(directory = BUILD_DIRECTORY): StaticSite {
  let site: Site | undefined;
  const loaded = (): Site | null => {
    try {
      site ??= load(directory);
      return site;
    } catch {
      return null;
    }
  };
  return {
    answer(method, pathname, header) {
      const isPage = pathname === CONSOLE_PATH;
      const isAsset = pathname.startsWith(CONSOLE_ASSETS_PATH);
      if (!isPage && !isAsset) return null;
      if (method !== 'GET' && method !== 'HEAD') {
        return staticErrorAnswer(pathname, 405, 'The console is read with GET.', 'BAD_USER_INPUT', {
          allow: 'GET, HEAD',
        });
      }
      const current = loaded();
      if (!current) {
        return staticErrorAnswer(
          pathname,
          503,
          'The console is not built; run `npm run build:console`.',
          'SERVICE_UNAVAILABLE',
        );
      }
      const file = isPage ? current.page : current.assets.get(pathname.slice(CONSOLE_ASSETS_PATH.length));
      if (!file) return staticErrorAnswer(pathname, 404, 'No such console file.', 'NOT_FOUND');
      return answerWith(file, method, header('accept-encoding'), header('if-none-match'));
    },
  };
}

let shared: StaticSite | undefined;
/** One per process: every app of a process (tests make many) shares the buffers. */
export function consoleSite(): StaticSite {
  shared ??= createConsole();
  return shared;
}

/** GraphiQL and the console: what the one static-page hook (server.ts, app.ts) serves. */
export function pagesFor(schema: GraphQLSchema): StaticSite {
  return staticSites(graphiqlFor(schema), consoleSite());
}
