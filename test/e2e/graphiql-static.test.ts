// GraphiQL's page and files, as app.fetch (the Yoga plugin) and a real server (the node:http path)
// serve them: no token needed, a page without inline script under a strict CSP, content-hashed files
// cached for a year, brotli or gzip as asked, ETag revalidation, the schema as schema.graphql has it.
import { readFileSync } from 'node:fs';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { filesOf } from '../helpers/page-load.ts';
import { type Answer, bothTransports, type Send } from '../helpers/static-site.ts';

const SCHEMA_FILE = readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8');
const HTML = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };

/** The headers of every API answer, errors included (README, HTTP answers). */
function expectApiHeaders(answer: Answer) {
  expect(answer.header('x-content-type-options')).toBe('nosniff');
  expect(answer.header('referrer-policy')).toBe('no-referrer');
  expect(answer.header('cache-control')).toBe('no-store');
}

describe.each(bothTransports('keygate-graphiql-static-'))('GraphiQL files through %s', (_name, sendOf) => {
  let send: Send;
  let html: string;
  let files: string[];

  beforeAll(async () => {
    send = sendOf();
    const page = await send('GET', '/graphql', HTML);
    html = page.body.toString();
    files = filesOf(html, 'http://keygate.test/graphql').map((url) => new URL(url).pathname);
  });

  it('serves the page without a token: small, revalidated, under a strict CSP, no inline script', async () => {
    const page = await send('GET', '/graphql', HTML);
    expect(page.status).toBe(200);
    expect(page.header('content-type')).toBe('text/html; charset=utf-8');
    expect(page.header('cache-control')).toBe('no-cache');
    expect(page.body.length).toBeLessThan(4_000);
    const csp = page.header('content-security-policy') ?? '';
    for (const directive of [
      "default-src 'none'",
      "script-src 'self'",
      "connect-src 'self'",
      "frame-ancestors 'none'",
      "base-uri 'none'",
      "form-action 'none'",
    ]) {
      expect(csp).toContain(directive);
    }
    expect(page.header('x-frame-options')).toBe('DENY');
    expect(page.header('x-content-type-options')).toBe('nosniff');
    expect(page.header('referrer-policy')).toBe('no-referrer');
    // Every script is a file or a JSON data block (which a browser never runs).
    const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes, content] of scripts) {
      if (/type="application\/json"/.test(attributes as string)) continue;
      expect(attributes).toMatch(/src="/);
      expect((content as string).trim()).toBe('');
    }
    // The headers editor starts with {"Authorization": "Bearer "}, as the README says.
    expect(html).toContain('\\"Authorization\\": \\"Bearer \\"');
    expect(html).toContain('<title>Keygate</title>');

    const again = await send('GET', '/graphql', { ...HTML, 'if-none-match': page.header('etag') as string });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
  });

  it('the page is for a client that asks for HTML as Accept means it: any case, not at q=0, HEAD as GET', async () => {
    const page = await send('GET', '/graphql', HTML);
    for (const accept of [
      'TEXT/HTML',
      'Text/Html; charset=UTF-8',
      'text/html;q=0.5, application/json;q=0.4',
      'application/json;q=0.9, text/html',
      'text/*;q=0, text/html',
      ' text/html ; q = 1 ',
    ]) {
      const answer = await send('GET', '/graphql', { accept });
      expect({ accept, status: answer.status }).toEqual({ accept, status: 200 });
      expect(answer.header('content-type')).toBe('text/html; charset=utf-8');
      expect(answer.body.equals(page.body)).toBe(true);
    }
    // Not acceptable (q=0), preferred less than JSON, or no text/html at all: the API's answer, which
    // without a token is 401.
    for (const accept of [
      'text/html;q=0, application/json',
      'text/html; q=0.000, */*',
      'TEXT/HTML;Q=0',
      'application/json, text/html;q=0.5',
      'text/htmlx',
      'text/html5, application/json',
      'application/xhtml+xml',
      '*/*',
      'text/*',
    ]) {
      const answer = await send('GET', '/graphql', { accept });
      expect({ accept, status: answer.status }).toEqual({ accept, status: 401 });
      expect(answer.header('content-type')).toMatch(/^application\/(graphql-response\+)?json/);
    }
    // HEAD answers as GET does, without the body.
    const head = await send('HEAD', '/graphql', HTML);
    expect(head.status).toBe(200);
    expect(head.header('content-type')).toBe('text/html; charset=utf-8');
    expect(head.header('content-length')).toBe(String(page.body.length));
    expect(head.header('etag')).toBe(page.header('etag'));
    expect(head.header('content-security-policy')).toBe(page.header('content-security-policy'));
    expect(head.body.length).toBe(0);
    expect((await send('HEAD', '/graphql', { accept: 'text/html;q=0, application/json' })).status).toBe(401);
  });

  it('names content-hashed files: cached for a year, brotli or gzip as asked, revalidated by ETag', async () => {
    expect(files.length).toBeGreaterThanOrEqual(6); // style, script, three workers, schema
    for (const path of files) {
      expect(path).toMatch(/^\/graphiql\/assets\/[\w.]+-[\w-]{8,}\.\w+$/);
      const plain = await send('GET', path);
      expect(plain.status, path).toBe(200);
      expect(plain.header('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(plain.header('content-encoding')).toBeUndefined();
      expect(plain.header('x-content-type-options')).toBe('nosniff');
      expect(plain.header('vary')).toBe('Accept-Encoding');

      const br = await send('GET', path, { 'accept-encoding': 'gzip, deflate, br, zstd' });
      expect(br.header('content-encoding')).toBe('br');
      expect(brotliDecompressSync(br.body).equals(plain.body), path).toBe(true);
      expect(br.body.length).toBeLessThan(plain.body.length);

      const gzip = await send('GET', path, { 'accept-encoding': 'br;q=0, gzip' });
      expect(gzip.header('content-encoding')).toBe('gzip');
      expect(gunzipSync(gzip.body).equals(plain.body), path).toBe(true);

      expect(new Set([plain.header('etag'), br.header('etag'), gzip.header('etag')]).size).toBe(3);
      const revalidated = await send('GET', path, {
        'accept-encoding': 'br',
        'if-none-match': br.header('etag') as string,
      });
      expect(revalidated.status).toBe(304);
      const head = await send('HEAD', path, { 'accept-encoding': 'br' });
      expect(head.status).toBe(200);
      expect(head.header('content-length')).toBe(String(br.body.length));
      expect(head.body.length).toBe(0);
    }
    const types = await Promise.all(files.map(async (path) => (await send('HEAD', path)).header('content-type')));
    expect(types).toEqual(
      expect.arrayContaining([
        'text/css; charset=utf-8',
        'text/javascript; charset=utf-8',
        'text/plain; charset=utf-8',
      ]),
    );
  });

  it('gives GraphiQL the schema as schema.graphql has it, so it never needs to introspect', async () => {
    const schemaPath = files.find((path) => path.endsWith('.graphql')) as string;
    const schema = await send('GET', schemaPath);
    expect(schema.status).toBe(200);
    expect(schema.body.toString()).toBe(SCHEMA_FILE);
  });

  it('answers 404 for an unknown file and 405 for a write, as JSON in the shape of their path, with the headers', async () => {
    const missing = await send('GET', '/graphiql/assets/graphiql-NOTAHASH.js');
    expect(missing.status).toBe(404);
    expect(missing.header('content-type')).toMatch(/^application\/json/);
    // Not /graphql: `{"error": {"code", "message"}}` (README, HTTP answers).
    expect(JSON.parse(missing.body.toString())).toEqual({ error: { code: 'NOT_FOUND', message: expect.any(String) } });
    expectApiHeaders(missing);
    const traversal = await send('GET', `/graphiql/assets/..%2F..%2Fmanifest.json`);
    expect(traversal.status).toBe(404);
    expectApiHeaders(traversal);
    const write = await send('POST', files[0] as string);
    expect(write.status).toBe(405);
    expect(write.header('allow')).toBe('GET, HEAD');
    expect(JSON.parse(write.body.toString())).toEqual({
      error: { code: 'BAD_USER_INPUT', message: expect.any(String) },
    });
    expectApiHeaders(write);
  });

  it('every file answer carries the headers every answer carries', async () => {
    for (const path of files) {
      const plain = await send('GET', path);
      const head = await send('HEAD', path);
      const revalidated = await send('GET', path, { 'if-none-match': plain.header('etag') as string });
      expect(revalidated.status).toBe(304);
      for (const answer of [plain, head, revalidated]) {
        expect(answer.header('x-content-type-options'), path).toBe('nosniff');
        expect(answer.header('referrer-policy'), path).toBe('no-referrer');
      }
    }
  });
});
