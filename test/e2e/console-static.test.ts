// The console's page and files, as app.fetch (the Yoga plugin) and a real server (the node:http path)
// serve them: no token needed, no inline script, a strict CSP that allows only this origin, content-
// hashed files cached for a year, brotli or gzip as asked; the API itself still needs a token.
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Answer, bothTransports, type Send } from '../helpers/static-site.ts';

const HTML = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };

/** The headers of every API answer, errors included (README, HTTP answers). */
function expectApiHeaders(answer: Answer) {
  expect(answer.header('x-content-type-options')).toBe('nosniff');
  expect(answer.header('referrer-policy')).toBe('no-referrer');
  expect(answer.header('cache-control')).toBe('no-store');
}

describe.each(bothTransports('keygate-console-static-'))('the console through %s', (_name, sendOf) => {
  let send: Send;
  let html: string;
  let files: string[];

  beforeAll(async () => {
    send = sendOf();
    html = (await send('GET', '/console', HTML)).body.toString();
    files = [...html.matchAll(/(?:href|src)="(console\/assets\/[^"]+)"/g)].map((match) => `/${match[1]}`);
  });

  it('serves the page without a token, under a CSP that allows only this origin, with no inline script', async () => {
    const page = await send('GET', '/console', HTML);
    expect(page.status).toBe(200);
    expect(page.header('content-type')).toBe('text/html; charset=utf-8');
    expect(page.header('cache-control')).toBe('no-cache');
    expect(page.header('content-security-policy')).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    );
    expect(page.header('x-frame-options')).toBe('DENY');
    expect(page.header('x-content-type-options')).toBe('nosniff');
    expect(page.header('referrer-policy')).toBe('no-referrer');
    expect(html).toContain('<title>Keygate console</title>');
    const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts).toHaveLength(1);
    for (const [, attributes, content] of scripts) {
      expect(attributes).toMatch(/src="console\/assets\//);
      expect((content as string).trim()).toBe('');
    }
    expect(html).not.toMatch(/style="|https?:\/\//);
    const again = await send('GET', '/console', { ...HTML, 'if-none-match': page.header('etag') as string });
    expect(again.status).toBe(304);
  });

  it('names content-hashed files: cached for a year, brotli or gzip as asked', async () => {
    expect(files).toHaveLength(2); // script and stylesheet
    for (const path of files) {
      expect(path).toMatch(/^\/console\/assets\/console-[\w-]{8,}\.(js|css)$/);
      const plain = await send('GET', path);
      expect(plain.status, path).toBe(200);
      expect(plain.header('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(plain.header('content-type')).toMatch(/^text\/(javascript|css); charset=utf-8$/);
      expect(plain.header('vary')).toBe('Accept-Encoding');
      expect(plain.header('x-content-type-options')).toBe('nosniff');
      expect(plain.header('referrer-policy')).toBe('no-referrer');
      const br = await send('GET', path, { 'accept-encoding': 'gzip, deflate, br, zstd' });
      expect(br.header('content-encoding')).toBe('br');
      expect(brotliDecompressSync(br.body).equals(plain.body)).toBe(true);
      const gzip = await send('GET', path, { 'accept-encoding': 'gzip' });
      expect(gzip.header('content-encoding')).toBe('gzip');
      expect(gunzipSync(gzip.body).equals(plain.body)).toBe(true);
      const revalidated = await send('GET', path, {
        'accept-encoding': 'br',
        'if-none-match': br.header('etag') as string,
      });
      expect(revalidated.status).toBe(304);
      expect(revalidated.header('referrer-policy')).toBe('no-referrer');
    }
  });

  it('answers 404 for an unknown file, 405 for a write, and leaves the API and other paths as they were', async () => {
    const missing = await send('GET', '/console/assets/console-NOTAHASH.js');
    expect(missing.status).toBe(404);
    // Not /graphql: `{"error": {"code", "message"}}`, with the headers of every API answer (README, HTTP answers).
    expect(JSON.parse(missing.body.toString())).toEqual({ error: { code: 'NOT_FOUND', message: expect.any(String) } });
    expectApiHeaders(missing);
    const write = await send('POST', '/console');
    expect(write.status).toBe(405);
    expect(write.header('allow')).toBe('GET, HEAD');
    expect(JSON.parse(write.body.toString())).toEqual({
      error: { code: 'BAD_USER_INPUT', message: expect.any(String) },
    });
    expectApiHeaders(write);
    // Only the exact paths are the console's: look-alikes stay the 404 of a path that is no endpoint.
    for (const path of ['/console/', '/consoles', '/console/x', '/x/console']) {
      const other = await send('GET', path, HTML);
      expect(other.status, path).toBe(404);
      expect(other.header('content-security-policy') ?? '', path).not.toContain("connect-src 'self'; img-src");
    }
    // The API still wants a token.
    const api = await send('GET', '/graphql?query=%7B__typename%7D');
    expect(api.status).toBe(401);
  });
});
