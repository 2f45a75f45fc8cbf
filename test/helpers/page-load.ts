// Loads the GraphiQL page the way a browser does (the HTML, then every file it names and every file
// those name), over node:http with one connection per load, reading every byte. For load tests.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';

export interface Fetched {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  bytes: number;
  body: Buffer;
}

export function get(url: string, headers: Record<string, string> = {}, keepBody = false): Promise<Fetched> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, headers }, (res) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (keepBody) chunks.push(chunk);
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const BROWSER = { 'accept-encoding': 'gzip, deflate, br, zstd' };

/** The files a loaded page fetches: those the HTML names and those its JSON settings name. */
export function filesOf(html: string, pageUrl: string): string[] {
  const names = new Set<string>();
  for (const match of html.matchAll(/(?:href|src)="([^"]+)"/g)) {
    if (!(match[1] as string).startsWith('data:')) names.add(match[1] as string);
  }
  for (const match of html.matchAll(/"(graphiql\/assets\/[^"]+)"/g)) names.add(match[1] as string);
  const origin = new URL(pageUrl).origin;
  return [...names]
    .map((name) => new URL(name, pageUrl))
    .filter((url) => url.origin === origin)
    .map(String);
}

/** One anonymous page load; resolves with the number of bytes received, rejects on any non-200. */
export async function loadPage(base: string): Promise<number> {
  const pageUrl = `${base}/graphql`;
  const page = await get(pageUrl, { ...BROWSER, accept: 'text/html' }, true);
  if (page.status !== 200) throw new Error(`page: ${page.status}`);
  const files = await Promise.all(filesOf(page.body.toString(), pageUrl).map((url) => get(url, BROWSER)));
  const failed = files.find((file) => file.status !== 200);
  if (failed) throw new Error(`file: ${failed.status}`);
  return page.bytes + files.reduce((sum, file) => sum + file.bytes, 0);
}

/** Resident and peak resident memory of a process, in MB (Linux). */
export function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN);
  return { rss: Math.round(kb('VmRSS') / 1024), peak: Math.round(kb('VmHWM') / 1024) };
}

export interface StormResult {
  loaded: number;
  failed: string[];
  megabytes: number;
  seconds: number;
  /** Answer times of the API requests sent one after another during the storm, in ms. */
  apiMs: number[];
  /** Why the API requests stopped early, if they did. */
  apiError?: string;
}

/**
 * `loads` simultaneous anonymous page loads; meanwhile one key asks `{ currentApiKey { id } }` every
 * 100 ms (one request at a time), and every answer time is kept.
 */
export async function pageStorm(base: string, loads: number, token: string): Promise<StormResult> {
  const started = performance.now();
  let done = false;
  const apiMs: number[] = [];
  // At most one request per 100 ms: well under the per-key rate limit, however long the storm lasts.
  const api = (async () => {
    while (!done) {
      const before = performance.now();
      const response = await fetch(`${base}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: '{ currentApiKey { id } }' }),
      });
      const body = (await response.json()) as { data?: unknown };
      if (!body.data) throw new Error(`API request failed: ${JSON.stringify(body)}`);
      const took = performance.now() - before;
      apiMs.push(took);
      if (took < 100) await new Promise((resolve) => setTimeout(resolve, 100 - took));
    }
  })().then(
    () => undefined,
    (error: unknown) => String(error),
  );
  const { loaded, failed, bytes } = await stormProcess(base, loads);
  done = true;
  const apiError = await api;
  return {
    loaded,
    failed,
    megabytes: Math.round(bytes / 1e6),
    seconds: Math.round((performance.now() - started) / 100) / 10,
    apiMs,
    ...(apiError ? { apiError } : {}),
  };
}

const CHILD = fileURLToPath(new URL('./page-storm-child.ts', import.meta.url));

/** The page loads run in a process of their own: its work does not delay the answers measured here. */
function stormProcess(base: string, loads: number): Promise<{ loaded: number; failed: string[]; bytes: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, base, String(loads)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    child.once('error', reject);
    child.once('close', (code) => {
      try {
        resolve(JSON.parse(out));
      } catch {
        reject(new Error(`page storm process exited with ${code}: ${out.slice(0, 200)}`));
      }
    });
  });
}
