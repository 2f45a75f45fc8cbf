// GraphiQL in a real browser against a real server process on the embedded database: the page opens
// without an error, docs and autocomplete work before a token is entered (the schema is a static file,
// no introspection request is sent), a token typed into the headers editor runs the default query,
// and the token is never written to localStorage. Screenshots go to test-results/screenshots/.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, launchBrowser } from '../helpers/browser.ts';
import { graphql, type ServerProcess, startServer } from '../helpers/server-process.ts';

const TIMEOUT = 120_000;
const UI_TIMEOUT = 30_000; // a loaded 2-core machine parses 5 MB of script slowly

/** An element's text; Monaco draws spaces as no-break spaces. */
const text = async (locator: Locator) => ((await locator.textContent()) ?? '').replaceAll('\u00a0', ' ');

describe('GraphiQL in a browser', () => {
  let dir: string;
  let server: ServerProcess;
  let browser: Browser;
  let token: string;
  let keyName: string;
  let page: Page;
  /** Everything the page complained about: script errors, console errors, CSP refusals. */
  const problems: string[] = [];
  /** Every GraphQL request the page sent, with its Authorization header. */
  const posts: Array<{ authorization: string | undefined; body: string }> = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keygate-graphiql-'));
    [server, browser] = await Promise.all([
      startServer({ KEYGATE_DATA_DIR: dir, DATABASE_URL: '' }, 60_000),
      launchBrowser(),
    ]);
    token = server.bootstrapToken() as string;
    expect(token).toMatch(/^keygate_/);
    const me = await graphql(server.url, token, '{ currentApiKey { name } }');
    keyName = (me.body.data as { currentApiKey: { name: string } }).currentApiKey.name;
    page = await browser.context.newPage();
    // A refusal by the page's Content-Security-Policy is a problem too (some are not logged otherwise).
    await page.addInitScript(() =>
      document.addEventListener('securitypolicyviolation', (event) =>
        console.error(`CSP refused ${event.blockedURI || 'inline'} (${event.effectiveDirective})`),
      ),
    );
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
    page.on('request', (request) => {
      if (request.method() === 'POST' && new URL(request.url()).pathname === '/graphql') {
        posts.push({ authorization: request.headers().authorization, body: request.postData() ?? '' });
      }
    });
  }, TIMEOUT);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it(
    'opens without an error, with docs, before any token',
    async () => {
      const response = await page.goto(`${server.url}/graphql`);
      expect(response?.status()).toBe(200);
      await page.locator('.graphiql-container').waitFor({ timeout: UI_TIMEOUT });
      // The default query is in the editor and the headers editor is prefilled, ready for a token.
      await expect
        .poll(() => text(page.locator('.graphiql-query-editor')), { timeout: UI_TIMEOUT })
        .toContain('currentApiKey');
      const headers = page.locator('.graphiql-editor-tool .graphiql-editor:not(.hidden)');
      await expect.poll(() => text(headers), { timeout: UI_TIMEOUT }).toMatch(/"Authorization":\s*"Bearer\s*"/);
      await page.screenshot({ path: browser.screenshotPath('graphiql-1-first-load.png') });
      // The logo links to the console.
      const consoleLink = page.locator('.graphiql-logo').getByRole('link', { name: 'console' });
      expect(await consoleLink.evaluate((link) => (link as HTMLAnchorElement).href)).toBe(`${server.url}/console`);

      await page.locator('.graphiql-sidebar button[aria-label="Show Documentation Explorer"]').click();
      const docs = page.locator('.graphiql-doc-explorer');
      await docs.getByText('Query', { exact: true }).first().click({ timeout: UI_TIMEOUT });
      await docs.getByText('currentApiKey', { exact: true }).first().waitFor({ timeout: UI_TIMEOUT });
      await page.screenshot({ path: browser.screenshotPath('graphiql-2-docs.png') });

      const body = await text(page.locator('body'));
      expect(body).not.toMatch(/Error fetching schema|UNAUTHENTICATED|could not start/i);
      // No schema request (nor any other) went to the API without a token.
      expect(posts).toEqual([]);
      expect(problems).toEqual([]);
    },
    TIMEOUT,
  );

  it(
    'autocompletes from the schema before any token',
    async () => {
      const editor = page.locator('.graphiql-query-editor .monaco-editor').first();
      await editor.click();
      await page.keyboard.press('ControlOrMeta+End');
      await page.keyboard.press('Enter');
      await page.keyboard.type('{ currentApi');
      await page.keyboard.press('Control+Space');
      const suggestion = page.locator('.suggest-widget .monaco-list-row').filter({ hasText: 'currentApiKey' });
      await suggestion.first().waitFor({ timeout: UI_TIMEOUT });
      await page.screenshot({ path: browser.screenshotPath('graphiql-3-autocomplete.png') });
      // Back to the default query alone.
      await page.keyboard.press('Escape');
      for (let i = 0; i < '{ currentApi'.length + 1; i++) await page.keyboard.press('Backspace');
      expect(problems).toEqual([]);
    },
    TIMEOUT,
  );

  it(
    'runs the default query with a token typed after "Bearer ", and keeps the token out of localStorage',
    async () => {
      // As the walkthrough says: paste the token after "Bearer " in the Headers tab.
      const headers = page.locator('.graphiql-editor-tool .graphiql-editor:not(.hidden)');
      await headers.locator('.view-line').filter({ hasText: 'Bearer' }).click();
      await page.keyboard.press('End');
      await page.keyboard.press('ArrowLeft'); // inside the closing quote
      await page.keyboard.type(token);
      await expect.poll(() => text(headers)).toContain(token);

      await page.locator('.graphiql-execute-button').click();
      const result = page.locator('.result-window');
      await expect.poll(() => text(result), { timeout: UI_TIMEOUT }).toContain(keyName);
      await page.screenshot({ path: browser.screenshotPath('graphiql-4-result.png') });
      expect(await text(result)).not.toMatch(/"errors"/);
      expect(posts).toHaveLength(1);
      expect(posts[0]?.authorization).toBe(`Bearer ${token}`);

      // GraphiQL saves its tabs as you type; the headers (and so the token) are never among them.
      await expect
        .poll(() => page.evaluate(() => Object.keys(localStorage).length), { timeout: UI_TIMEOUT })
        .toBeGreaterThan(0);
      const stored = await page.evaluate(() => JSON.stringify(Object.entries(localStorage)));
      expect(stored).toContain('currentApiKey');
      expect(stored).not.toContain(token);
      expect(stored).not.toContain('keygate_');

      // A reload starts from the prefilled header again, without the token.
      await page.reload();
      await page.locator('.graphiql-container').waitFor({ timeout: UI_TIMEOUT });
      const reloaded = page.locator('.graphiql-editor-tool .graphiql-editor:not(.hidden)');
      await expect.poll(() => text(reloaded), { timeout: UI_TIMEOUT }).toMatch(/"Authorization":\s*"Bearer\s*"/);
      expect(await text(reloaded)).not.toContain(token);
      await page.screenshot({ path: browser.screenshotPath('graphiql-5-reloaded.png') });
      expect(problems).toEqual([]);
    },
    TIMEOUT,
  );
});
