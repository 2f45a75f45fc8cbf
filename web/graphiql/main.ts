// The GraphiQL page's script, bundled by scripts/build-graphiql.ts. The page (src/http/graphiql.ts)
// carries its settings in a JSON data block, not in an inline script, so a strict CSP applies.
// The schema comes from a static asset: docs and autocomplete work before a token is entered, and
// GraphiQL never sends an (unauthenticated, hence refused) introspection query.
import 'graphiql/style.css';
import './page.css';
import { GraphiQL } from 'graphiql';
import { buildSchema } from 'graphql';
import { createElement } from 'react';
import { createRoot } from 'react-dom/client';
import { headerFreeStorage } from './storage.ts';

interface PageConfig {
  title: string;
  schemaUrl: string;
  defaultQuery: string;
  defaultHeaders: string;
  workers: { editor: string; json: string; graphql: string };
}

// GraphiQL is served at the GraphQL endpoint itself (GET /graphql asking for HTML).
const endpoint = window.location.pathname;
const config = JSON.parse(document.getElementById('graphiql-config')?.textContent ?? '{}') as PageConfig;

// Monaco's editor, JSON and GraphQL language services run in workers served from this origin.
(globalThis as { MonacoEnvironment?: unknown }).MonacoEnvironment = {
  getWorker(_workerId: string, label: string) {
    const url =
      label === 'json' ? config.workers.json : label === 'graphql' ? config.workers.graphql : config.workers.editor;
    return new Worker(url);
  },
};

interface FetcherParams {
  query: string;
  operationName?: string | null;
  variables?: unknown;
}

async function fetcher(params: FetcherParams, options?: { headers?: Record<string, unknown> }) {
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...(options?.headers as Record<string, string> | undefined),
    },
    body: JSON.stringify(params),
  });
  return response.json();
}

async function start() {
  const root = createRoot(document.getElementById('graphiql') as HTMLElement);
  const response = await fetch(config.schemaUrl);
  if (!response.ok) throw new Error(`the schema could not be loaded (${response.status})`);
  const schema = buildSchema(await response.text());
  root.render(
    createElement(
      GraphiQL,
      {
        fetcher,
        schema,
        defaultQuery: config.defaultQuery,
        defaultHeaders: config.defaultHeaders,
        isHeadersEditorEnabled: true,
        defaultEditorToolsVisibility: 'headers',
        // The token typed into the headers editor stays in this tab: never written to localStorage
        // (neither in the saved tabs nor in the history, see ./storage.ts).
        shouldPersistHeaders: false,
        storage: headerFreeStorage(window.localStorage),
      },
      // The logo corner links to the console (/console, next to this page's /graphql).
      createElement(
        GraphiQL.Logo,
        null,
        'Keygate ',
        createElement('a', { href: 'console', className: 'console-link' }, 'console'),
      ),
    ),
  );
}

start().catch((error: unknown) => {
  const message = document.createElement('p');
  message.className = 'graphiql-load-error';
  message.textContent = `GraphiQL could not start: ${error instanceof Error ? error.message : String(error)}`;
  document.body.prepend(message);
});
