// GraphiQL for browsers: GET /graphql asking for HTML (src/http/accept.ts) answers a small static page;
// its script, styles, workers and the schema are content-hashed files under /graphiql/assets/, cached
// for a year and sent brotli- or gzip-compressed. The bundle is built at install
// (scripts/build-graphiql.ts); this module reads it once, on the first page request, and serves every
// later request from those buffers.
// No token is needed for any of it: the schema is public, and GraphiQL gets it as a file, so docs
// and autocomplete work before a token is entered and no introspection request is ever refused.
import { readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { type GraphQLSchema, lexicographicSortSchema, printSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { asksForPage } from './accept.ts';
import { GRAPHQL_PATH, pathOf } from './responses.ts';
import {
  answerWith,
  builtFile,
  IMMUTABLE,
  memoryFile,
  type StaticAnswer,
  type StaticFile,
  staticErrorAnswer,
} from './static-assets.ts';

export const GRAPHIQL_ASSETS_PATH = '/graphiql/assets/';

export const GRAPHIQL_SETTINGS = {
  title: 'Keygate',
  defaultHeaders: JSON.stringify({ Authorization: 'Bearer ' }, null, 2),
  defaultQuery:
    '# Paste your token after "Bearer " in the Headers tab below, then run:\n{\n  currentApiKey {\n    id\n    name\n    roles { name }\n  }\n}\n',
};

/**
 * The page runs no inline script. Styles need 'unsafe-inline': GraphiQL and its Monaco editor add <style>
 * elements at run time, which Chromium refuses without it (checked; the browser test fails on any refusal).
 */
export const GRAPHIQL_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "worker-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

const PAGE_HEADERS = {
  'content-security-policy': GRAPHIQL_CSP,
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

const BUILD_DIRECTORY = fileURLToPath(new URL('../../dist/graphiql/', import.meta.url));

interface Manifest {
  script: string;
  style: string;
  workers: { editor: string; json: string; graphql: string };
}

interface Site {
  page: StaticFile;
  assets: Map<string, StaticFile>;
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
// A JSON data block may not contain "</script>" (nor "<!--"): every "<" becomes \u003c.
const jsonForHtml = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

function load(schema: GraphQLSchema, directory: string): Site {
  const manifest = JSON.parse(readFileSync(`${directory}manifest.json`, 'utf8')) as Manifest;
  const assets = new Map<string, StaticFile>();
  for (const name of [manifest.script, manifest.style, ...Object.values(manifest.workers)]) {
    assets.set(name, builtFile(`${directory}assets/${name}`, IMMUTABLE));
  }
  // Files the stylesheet refers to (fonts) are every other built file that is not a compressed copy.
  for (const name of readdirSync(`${directory}assets`)) {
    if (!assets.has(name) && !/\.(br|gz)$/.test(name))
      assets.set(name, builtFile(`${directory}assets/${name}`, IMMUTABLE));
  }
  // The schema of this very server, printed as schema.graphql is (src/schema/index.ts printSchemaSdl).
  const sdl = memoryFile(`${printSchema(lexicographicSortSchema(schema))}\n`, 'text/plain; charset=utf-8', IMMUTABLE);
  const schemaName = `schema-${sdl.etag}.graphql`;
  assets.set(schemaName, sdl);
  const asset = (name: string) => `graphiql/assets/${name}`;
  const config = {
    ...GRAPHIQL_SETTINGS,
    schemaUrl: asset(schemaName),
    workers: {
      editor: asset(manifest.workers.editor),
      json: asset(manifest.workers.json),
      graphql: asset(manifest.workers.graphql),
    },
  };
  const html = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>${escapeHtml(GRAPHIQL_SETTINGS.title)}</title>
    <link rel="icon" href="data:,">
    <link rel="stylesheet" href="${asset(manifest.style)}">
    <script type="application/json" id="graphiql-config">${jsonForHtml(config)}</script>
    <script defer src="${asset(manifest.script)}"></script>
  </head>
  <body>
    <div id="graphiql"></div>
    <noscript>GraphiQL needs JavaScript.</noscript>
  </body>
</html>
`;
  return { page: memoryFile(html, 'text/html; charset=utf-8', 'no-cache', PAGE_HEADERS), assets };
}

/** Pages and their files served from memory (GraphiQL here, the console in src/http/console.ts). */
export interface StaticSite {
  /** The answer to a request for the page or one of its files; null for any other request. */
  answer(method: string, pathname: string, header: (name: string) => string | null | undefined): StaticAnswer | null;
}
export type GraphiQL = StaticSite;

/** Several sites as one: the first that claims a request answers it. */
export function staticSites(...sites: StaticSite[]): StaticSite {
  return {
    answer(method, pathname, header) {
      for (const site of sites) {
        const answer = site.answer(method, pathname, header);
        if (answer) return answer;
      }
      return null;
    },
  };
}

/** Loads the built files on first use, once per process and schema; a missing build is retried. */
export function createGraphiQL(schema: GraphQLSchema, directory = BUILD_DIRECTORY): GraphiQL {
  let site: Site | undefined;
  const loaded = (): Site | null => {
    try {
      site ??= load(schema, directory);
      return site;
    } catch {
      return null;
    }
  };
  return {
    answer(method, pathname, header) {
      // HEAD as GET, without the body (answerWith), so that a HEAD learns what the GET would get.
      const isPage = pathname === GRAPHQL_PATH && asksForPage(method, header('accept'));
      const isAsset = pathname.startsWith(GRAPHIQL_ASSETS_PATH);
      if (!isPage && !isAsset) return null;
      if (isAsset && method !== 'GET' && method !== 'HEAD') {
        return staticErrorAnswer(pathname, 405, 'GraphiQL files are read with GET.', 'BAD_USER_INPUT', {
          allow: 'GET, HEAD',
        });
      }
      const current = loaded();
      if (!current) {
        return staticErrorAnswer(
          pathname,
          503,
          'GraphiQL is not built; run `npm run build:graphiql`.',
          'SERVICE_UNAVAILABLE',
        );
      }
      const file = isPage ? current.page : current.assets.get(pathname.slice(GRAPHIQL_ASSETS_PATH.length));
      if (!file) return staticErrorAnswer(pathname, 404, 'No such GraphiQL file.', 'NOT_FOUND');
      return answerWith(file, method, header('accept-encoding'), header('if-none-match'));
    },
  };
}

const graphiqlOf = new WeakMap<GraphQLSchema, GraphiQL>();
/** One per schema, so every app of a process (tests make many) shares the buffers. */
export function graphiqlFor(schema: GraphQLSchema): GraphiQL {
  const known = graphiqlOf.get(schema);
  if (known) return known;
  const graphiql = createGraphiQL(schema);
  graphiqlOf.set(schema, graphiql);
  return graphiql;
}

/** For node:http: answers and returns true when the request is GraphiQL's, before Yoga sees it. */
export function serveGraphiQL(graphiql: StaticSite, req: IncomingMessage, res: ServerResponse): boolean {
  // API requests (POST) are not looked at: the Yoga plugin answers the odd POST to a GraphiQL file.
  if (req.method === 'POST') return false;
  const pathname = pathOf(req.url);
  const answer = graphiql.answer(req.method ?? 'GET', pathname, (name) => {
    const value = req.headers[name];
    return Array.isArray(value) ? value.join(', ') : value;
  });
  if (!answer) return false;
  req.resume(); // nothing to read
  res.writeHead(answer.status, answer.headers);
  res.end(answer.body ?? undefined);
  return true;
}

/** The same answers through Yoga (what app.fetch exercises). Goes first among the plugins. */
export function graphiqlPlugin(graphiql: StaticSite): Plugin {
  return {
    onRequest({ request, url, endResponse }) {
      const answer = graphiql.answer(request.method, url.pathname, (name) => request.headers.get(name));
      // Buffers read from files or made by zlib sit on a plain ArrayBuffer.
      if (answer)
        endResponse(
          new Response(answer.body as Uint8Array<ArrayBuffer> | null, {
            status: answer.status,
            headers: answer.headers,
          }),
        );
    },
  };
}
