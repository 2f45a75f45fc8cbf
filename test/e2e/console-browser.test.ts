// The console in a real browser (Debian's chromium) against a real server process on the embedded
// database: sign in with the bootstrap token, list, search and filter, create (token shown once),
// rotate, update, delete, the audit log; a team manager sees only its team's keys and may hand out only
// what it covers; a key that manages nothing is told it is not allowed. No CSP refusal, no script
// error. Screenshots go to test-results/screenshots/console-*.png.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, launchBrowser } from '../helpers/browser.ts';
import { output, runCli } from '../helpers/cli-process.ts';
import { createEmptyDatabase } from '../helpers/databases.ts';
import { graphql, type ServerProcess, startServer } from '../helpers/server-process.ts';

const TIMEOUT = 120_000;
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's serious and critical violations on the page as it is (evaluated, so the page's CSP allows it). */
async function accessibilityViolations(page: Page): Promise<string[]> {
  await page.evaluate(AXE);
  return page.evaluate(async () => {
    const axe = (
      globalThis as unknown as {
        axe: {
          run(): Promise<{ violations: Array<{ id: string; impact: string; nodes: Array<{ target: unknown }> }> }>;
        };
      }
    ).axe;
    const { violations } = await axe.run();
    return violations
      .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
      .map((violation) => `${violation.id}: ${violation.nodes.map((node) => JSON.stringify(node.target)).join(' ')}`);
  });
}
const UI = { timeout: 30_000 };
const ORG = 'Default organization';
const ADMIN = 'admin@keygate.local';

describe('the console in a browser', () => {
  let dir: string;
  let env: Record<string, string>;
  let server: ServerProcess;
  let browser: Browser;
  let adminToken: string;
  let adminName: string;
  let viewerToken: string;
  let teamManagerToken: string;
  let page: Page;
  const problems: string[] = [];

  const create = async (input: Record<string, unknown>) => {
    const created = await graphql(
      server.url,
      adminToken,
      'mutation ($input: CreateApiKeyInput!) { createApiKey(input: $input) { token apiKey { id } } }',
      { input },
    );
    expect(created.body.errors).toBeUndefined();
    return (created.body.data as { createApiKey: { token: string } }).createApiKey.token;
  };
  const cli = async <T>(...args: string[]) => output<T>(await runCli(env, args));
  const shot = (name: string) =>
    page.screenshot({ path: browser.screenshotPath(`console-${name}.png`), fullPage: true });
  const rowNames = () => page.locator('tbody tr th').allTextContents();
  const signIn = async (token: string) => {
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('signed-in-as').waitFor(UI);
  };
  const whoAmI = async (token: string) => {
    const me = await graphql(server.url, token, '{ currentApiKey { name } }');
    return me.status === 200 ? (me.body.data as { currentApiKey: { name: string } }).currentApiKey.name : me.status;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keygate-console-'));
    env = { KEYGATE_DATA_DIR: dir, DATABASE_URL: '' };
    [server, browser] = await Promise.all([startServer(env, 60_000), launchBrowser()]);
    adminToken = server.bootstrapToken() as string;
    adminName = (await whoAmI(adminToken)) as string;
    const payments = await cli<{ id: string }>('team create', '--org', ORG, '--name', 'payments');
    await cli('team create', '--org', ORG, '--name', 'search');
    const teamManager = await cli<{ token: string }>(
      'key create',
      ...['--org', ORG, '--as', ADMIN, '--name', 'payments-manager', '--teams', 'payments'],
      ...['--team-roles', 'api_keys_manage,schedules_editor'],
    );
    teamManagerToken = teamManager.token;
    // Oldest first, so the list (newest first) shows them in the reverse order.
    await create({ name: 'billing-bot', teamIds: [payments.id], teamRoleNames: ['schedules_reader'] });
    await create({ name: 'old-reporter', roleNames: ['viewer'], expiresAt: new Date(Date.now() + 2 * 86_400_000) });
    viewerToken = await create({ name: 'ci-deploy', roleNames: ['viewer', 'incident_creator'] });

    page = await browser.context.newPage();
    await page.addInitScript(() =>
      document.addEventListener('securitypolicyviolation', (event) =>
        console.error(`CSP refused ${event.blockedURI || 'inline'} (${event.effectiveDirective})`),
      ),
    );
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      // A refused request (401 on purpose) is logged by Chromium too; that is no problem of the page.
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource'))
        problems.push(`console: ${message.text()}`);
    });
  }, TIMEOUT);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it(
    'signs in with a pasted token kept in sessionStorage only, and says who is signed in and what it may do',
    async () => {
      const started = performance.now();
      const response = await page.goto(`${server.url}/console`);
      expect(response?.status()).toBe(200);
      await page.getByLabel('API token').waitFor(UI);
      console.log(`console first load: ${Math.round(performance.now() - started)} ms`);
      await shot('1-sign-in');
      expect(await accessibilityViolations(page)).toEqual([]);

      await page.getByLabel('API token').fill('keygate_notARealTokenAtAll0000000000000000000000');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect.poll(() => page.getByRole('alert').textContent(), UI).toContain('The token was refused');

      await signIn(adminToken);
      expect(await page.getByTestId('signed-in-as').textContent()).toBe(adminName);
      expect(await page.getByTestId('powers').textContent()).toContain('Manages every API key of the organization');
      expect(await page.evaluate(() => Object.values(sessionStorage))).toEqual([adminToken]);
      expect(await page.evaluate(() => JSON.stringify(localStorage))).not.toContain('keygate_');
      // A reload keeps the tab signed in.
      await page.reload();
      await page.getByTestId('signed-in-as').waitFor(UI);
      expect(problems).toEqual([]);
    },
    TIMEOUT,
  );

  it(
    'lists keys newest first, with their grants, and searches by name, team and "expiring soon"',
    async () => {
      await expect
        .poll(rowNames, UI)
        .toEqual(['ci-deploy', 'old-reporter', 'billing-bot', 'payments-manager', adminName]);
      const billing = page.locator('tr[data-key-name="billing-bot"]');
      expect(await billing.textContent()).toContain('payments');
      expect(await billing.textContent()).toContain('schedules_reader');
      expect(await billing.textContent()).toContain(adminName); // the creator
      expect(await page.locator('tr[data-key-name="payments-manager"]').textContent()).toContain('(CLI)');
      await shot('2-keys');
      expect(await accessibilityViolations(page)).toEqual([]);

      await page.getByLabel('Name contains').fill('BILL');
      await expect.poll(rowNames, UI).toEqual(['billing-bot']);
      await shot('3-search');
      await page.getByLabel('Name contains').fill('nothing-like-this');
      await page.getByText('No keys match.').waitFor(UI);
      await page.getByLabel('Name contains').fill('');

      await page.getByLabel('Team').selectOption({ label: 'payments' });
      await expect.poll(rowNames, UI).toEqual(['billing-bot', 'payments-manager']);
      await page.getByLabel('Team').selectOption({ label: 'Any team' });
      await page.getByLabel('Expiring within 7 days').check();
      await expect.poll(rowNames, UI).toEqual(['old-reporter']);
      await page.getByLabel('Expiring within 7 days').uncheck();
      await expect.poll(rowNames, UI).toHaveLength(5);
      expect(problems).toEqual([]);
    },
    TIMEOUT,
  );

  it(
    'creates a key from what the caller may grant, and shows its token once',
    async () => {
      await page.getByRole('button', { name: 'Create key' }).click();
      await page.getByLabel('Name', { exact: true }).fill('console-made');
      const form = page.locator('form.grants');
      expect(await form.textContent()).not.toContain('api_keys_manage');
      await form
        .getByRole('group', { name: 'Account roles' })
        .getByLabel(/^viewer/)
        .check();
      await form.getByLabel('search', { exact: true }).check();
      await form
        .getByRole('group', { name: /^Team roles/ })
        .getByLabel(/^schedules_reader/)
        .check();
      await shot('4-create');
      expect(await accessibilityViolations(page)).toEqual([]);
      await form.getByRole('button', { name: 'Create key' }).click();
      const token = (await page.getByTestId('new-token').textContent({ timeout: UI.timeout })) as string;
      expect(token).toMatch(/^keygate_\w{40,}$/);
      expect(await page.locator('.token-reveal').textContent()).toContain('shown only once');
      await shot('5-created');
      expect(await whoAmI(token)).toBe('console-made');
      // Nowhere stored: leaving the page loses it.
      expect(await page.evaluate(() => JSON.stringify([sessionStorage, localStorage]))).not.toContain(token);

      // Leaving the page while the token is shown asks first; once dismissed, it no longer does.
      const leavingAsks = () =>
        page.evaluate(() => {
          const leaving = new Event('beforeunload', { cancelable: true });
          window.dispatchEvent(leaving);
          return leaving.defaultPrevented;
        });
      expect(await leavingAsks()).toBe(true);
      await page.getByRole('button', { name: 'Done, create another' }).click();
      expect(await leavingAsks()).toBe(false);
      expect(await page.locator('body').textContent()).not.toContain(token);
      await page.getByRole('button', { name: 'Keys' }).click();
      await expect.poll(rowNames, UI).toContain('console-made');
      const row = await page.locator('tr[data-key-name="console-made"]').textContent();
      expect(row).toContain('viewer');
      expect(row).toContain('search');
      expect(row).toContain('schedules_reader');
      expect(problems).toEqual([]);
    },
    TIMEOUT,
  );

  it(
    'rotates a key with a grace period, showing the new token once and when the old one stops',
    async () => {
      await page.getByRole('button', { name: 'Rotate ci-deploy' }).click();
      expect(await page.getByLabel(/Grace period/).inputValue()).toBe('30');
      await page.getByLabel(/Grace period/).fill('0');
      await page.locator('.panel').getByRole('button', { name: 'Rotate ci-deploy' }).click();
      const token = (await page.getByTestId('new-token').textContent({ timeout: UI.timeout })) as string;
      expect(token).toMatch(/^keygate_/);
      expect(await page.getByTestId('old-token-stops').textContent()).toMatch(/stops working at \S/);
      await shot('6-rotated');
      expect(await whoAmI(token)).toBe('ci-deploy');
      expect(await whoAmI(viewerToken)).toBe(401); // grace 0: the old token stopped at once
      viewerToken = token;
      await page.getByRole('button', { name: 'Done' }).click();
      expect(problems).toEqual([]);
    },
    TIMEOUT,
  );

  it(
    'updates a key as a full form that lists what changes',
    async () => {
      await page.getByRole('button', { name: 'Edit old-reporter' }).click();
      const panel = page.locator('.panel');
      expect(await panel.getByRole('status').textContent()).toBe('No change yet.');
      await panel.getByLabel('Name', { exact: true }).fill('reporter');
      await panel.getByLabel(/^catalog_viewer/).check();
      const changes = await panel.getByRole('status').textContent();
      expect(changes).toContain('name: old-reporter → reporter');
      expect(changes).toContain('account roles: viewer → catalog_viewer, viewer');
      await shot('7-update');
      await panel.getByRole('button', { name: 'Save changes' }).click();
      await expect.poll(rowNames, UI).toContain('reporter');
      expect(await page.locator('tr[data-key-name="reporter"]').textContent()).toContain('catalog_viewer');
      expect(problems).toEqual([]);
    },
    TIMEOUT,
  );

  it(
    'deletes a key only after its name is typed',
    async () => {
      const doomed = await create({ name: 'doomed', roleNames: ['viewer'] });
      await page.getByRole('button', { name: 'Keys' }).click();
      await page.getByLabel('Name contains').fill('doomed');
      await expect.poll(rowNames, UI).toEqual(['doomed']);
      await page.getByRole('button', { name: 'Delete doomed' }).click();
      const confirm = page.locator('.panel').getByRole('button', { name: 'Delete doomed' });
      await page.getByLabel("Type the key's name to confirm").fill('doome');
      expect(await confirm.isDisabled()).toBe(true);
      await page.getByLabel("Type the key's name to confirm").fill('doomed');
      await shot('8-delete');
      await confirm.click();
      await page.getByText('No keys match.').waitFor(UI);
      expect(await whoAmI(doomed)).toBe(401);
      await page.getByLabel('Name contains').fill('');
      expect(problems).toEqual([]);
    },
    TIMEOUT,
  );

  it(
    'shows the audit log with the grants before and after',
    async () => {
      await page.getByRole('button', { name: 'Audit log' }).click();
      const first = page.locator('tbody tr').first();
      await first.waitFor(UI);
      expect(await first.textContent()).toContain('doomed');
      const update = page.locator('tbody tr').filter({ hasText: 'reporter' }).filter({ hasText: 'catalog_viewer' });
      const cells = await update.first().locator('td').allTextContents();
      expect(cells.slice(1, 3)).toEqual(['api_key.updated', 'reporter']);
      expect(cells[4]).toBe('viewer'); // before
      expect(cells[5]?.split(', ').sort()).toEqual(['catalog_viewer', 'viewer']); // after
      await shot('9-audit');
      expect(await accessibilityViolations(page)).toEqual([]);
      expect(problems).toEqual([]);
    },
    TIMEOUT,
  );

  it(
    'pages with "Load more" (Relay cursors, 20 keys a page) under the same search',
    async () => {
      for (let i = 1; i <= 23; i++) await create({ name: `bulk-${String(i).padStart(2, '0')}`, roleNames: ['viewer'] });
      await page.getByRole('button', { name: 'Keys' }).click();
      await page.getByLabel('Name contains').fill('bulk-');
      const expected = Array.from({ length: 23 }, (_, i) => `bulk-${String(23 - i).padStart(2, '0')}`);
      await expect.poll(rowNames, UI).toEqual(expected.slice(0, 20));
      await page.getByRole('button', { name: 'Load more' }).click();
      await expect.poll(rowNames, UI).toEqual(expected);
      expect(await page.getByRole('button', { name: 'Load more' }).count()).toBe(0);
      await page.getByLabel('Name contains').fill('');
      expect(problems).toEqual([]);
    },
    TIMEOUT,
  );

  it(
    'signs out (the token leaves the tab); a team manager sees only its team and grants only what it covers',
    async () => {
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByLabel('API token').waitFor(UI);
      expect(await page.evaluate(() => sessionStorage.length)).toBe(0);

      await signIn(teamManagerToken);
      expect(await page.getByTestId('powers').textContent()).toContain('Manages the API keys of its teams (payments)');
      // Its team's keys, itself included (it has no account role and only managed teams); nothing else,
      // not even for a moment: the first rows shown are its own (a new client, nothing cached from the
      // admin's sign-in).
      await page.locator('tbody tr').first().waitFor(UI);
      expect(await rowNames()).toEqual(['billing-bot', 'payments-manager']);
      await page.getByRole('button', { name: 'Create key' }).click();
      const form = page.locator('form.grants');
      await form.getByText('This key may grant no account-level role.').waitFor(UI);
      await form.getByLabel('payments').check();
      expect(await form.getByLabel('search', { exact: true }).count()).toBe(0);
      const offered = await form
        .getByRole('group', { name: /^Team roles/ })
        .locator('label')
        .allTextContents();
      // Its team roles: schedules_editor covers schedules_reader too; api_keys_manage is never offered.
      expect(offered.map((label) => label.split(' ')[0])).toEqual(['schedules_reader', 'schedules_editor']);
      await shot('10-team-manager-create');
      await page.getByRole('button', { name: 'Sign out' }).click();
      expect(problems).toEqual([]);
    },
    TIMEOUT,
  );

  it(
    'tells a key that manages nothing that it is not allowed, at 360 px wide',
    async () => {
      await page.setViewportSize({ width: 360, height: 740 });
      await signIn(viewerToken);
      expect(await page.getByTestId('powers').textContent()).toContain('Manages no API keys');
      await expect
        .poll(() => page.getByRole('alert').textContent(), UI)
        .toContain('This key is not allowed to list API keys');
      await shot('11-not-allowed-360px');
      expect(await accessibilityViolations(page)).toEqual([]);
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
      expect(problems).toEqual([]);
    },
    TIMEOUT,
  );
});

describe('the console on PostgreSQL, keyboard only, as a team manager', () => {
  let remove: () => Promise<void>;
  let env: Record<string, string>;
  let server: ServerProcess;
  let browser: Browser;
  let managerToken: string;
  let page: Page;
  const problems: string[] = [];
  const rowNames = () => page.locator('tbody tr th').allTextContents();

  /** Presses Tab until the focused control's text or label starts with `name`; keyboard only. */
  const tabTo = async (name: string) => {
    for (let i = 0; i < 80; i++) {
      await page.keyboard.press('Tab');
      const focused = await page.evaluate(() => {
        const element = document.activeElement as HTMLInputElement | null;
        return (element?.labels?.[0]?.textContent ?? element?.textContent ?? '').trim();
      });
      if (focused.startsWith(name)) return;
    }
    throw new Error(`no control named ${name} reached with Tab`);
  };

  beforeAll(async () => {
    const db = await createEmptyDatabase('postgresql');
    remove = db.remove;
    if (db.config.provider !== 'postgresql') throw new Error('expected a PostgreSQL database');
    env = { DATABASE_URL: db.config.url };
    [server, browser] = await Promise.all([startServer(env, 60_000), launchBrowser()]);
    const adminToken = server.bootstrapToken() as string;
    const cli = async <T>(...args: string[]) => output<T>(await runCli(env, args));
    const payments = await cli<{ id: string }>('team create', '--org', ORG, '--name', 'payments');
    await cli('team create', '--org', ORG, '--name', 'search');
    managerToken = (
      await cli<{ token: string }>(
        'key create',
        ...['--org', ORG, '--as', ADMIN, '--name', 'payments-manager', '--teams', 'payments'],
        ...['--team-roles', 'api_keys_manage,schedules_editor'],
      )
    ).token;
    for (const input of [
      { name: 'billing-bot', teamIds: [payments.id], teamRoleNames: ['schedules_reader'] },
      { name: 'account-wide', roleNames: ['viewer'] },
    ]) {
      const created = await graphql(
        server.url,
        adminToken,
        'mutation ($input: CreateApiKeyInput!) { createApiKey(input: $input) { apiKey { id } } }',
        { input },
      );
      expect(created.body.errors).toBeUndefined();
    }
    page = await browser.context.newPage();
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  }, TIMEOUT);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await remove?.();
  });

  it(
    'signs in, lists only its team, creates a key in its team and sees the token, all with the keyboard',
    async () => {
      await page.goto(`${server.url}/console`);
      await tabTo('API token');
      await page.keyboard.type(managerToken);
      await page.keyboard.press('Enter');
      await page.getByTestId('signed-in-as').waitFor(UI);
      expect(await page.getByTestId('powers').textContent()).toContain('(payments)');
      await expect.poll(rowNames, UI).toEqual(['billing-bot', 'payments-manager']);

      await tabTo('Create key');
      await page.keyboard.press('Enter');
      await tabTo('Name');
      await page.keyboard.type('pg-made');
      await tabTo('payments');
      await page.keyboard.press('Space');
      await tabTo('schedules_reader');
      await page.keyboard.press('Space');
      await tabTo('Create key');
      await page.keyboard.press('Enter');
      const token = (await page.getByTestId('new-token').textContent({ timeout: UI.timeout })) as string;
      expect(token).toMatch(/^keygate_/);
      await page.screenshot({ path: browser.screenshotPath('console-12-postgresql-keyboard-created.png') });
      const me = await graphql(server.url, token, '{ currentApiKey { name teams { name } teamRoles { name } } }');
      expect(me.body.data).toEqual({
        currentApiKey: { name: 'pg-made', teams: [{ name: 'payments' }], teamRoles: [{ name: 'schedules_reader' }] },
      });
      expect(problems).toEqual([]);
    },
    TIMEOUT,
  );
});
