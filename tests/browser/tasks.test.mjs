// The Tasks page: filters, unit search, the category switcher and pagination change
// the rows and the URL; a deep link reloads to the same view; a row opens the
// drawer, and closing it (Esc) keeps the filters and the scroll position.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDemo, launch, signedIn } from './helpers.mjs';

let demo;
let browser;
before(async () => { [demo, browser] = await Promise.all([startDemo(), launch()]); });
after(async () => { await browser?.close(); demo?.stop(); });

const rows = (page) => page.locator('table.tasks tbody tr');
/** The text of column `n` (1-based) of every row. */
const column = (page, n) => rows(page).locator(`td:nth-child(${n})`).allTextContents();
const ids = async (page) => (await column(page, 1)).map((t) => Number(t.slice(1)));

/** Waits until every row satisfies `f` (the list reloads after each change). */
async function until(page, f, what) {
  for (let i = 0; i < 100; i++) {
    const texts = await page.locator('table.tasks tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
    if (texts.length && texts.every(f)) return texts;
    await page.waitForTimeout(100);
  }
  assert.fail(`rows never matched: ${what}`);
}

test('filters, search, categories and pages change the rows and the URL', async () => {
  const { context, page, errors } = await signedIn(browser, demo);
  await page.goto(`${demo.base}/tasks`);
  await rows(page).first().waitFor();
  assert.equal(await rows(page).count(), 20, 'a page holds 20 tasks');

  await page.getByRole('tab', { name: 'Webhook' }).click();
  await page.waitForURL(/category=webhook/);
  await until(page, (r) => r[1] === 'webhook', 'webhook category');

  await page.locator('#f-kind').selectOption('update-all');
  await page.waitForURL(/kind=update-all/);
  assert.match(page.url(), /category=manual/, 'the category follows the kind');
  assert.equal(await page.getByRole('tab', { name: 'Manual' }).getAttribute('aria-selected'), 'true');
  await until(page, (r) => r[1] === 'update all', 'update-all kind');

  await page.getByRole('tab', { name: 'All' }).click();
  await page.waitForURL((u) => !u.search.includes('kind=') && !u.search.includes('category='));
  assert.equal(await page.locator('#f-kind').inputValue(), '', 'All clears a kind of another category');

  await page.locator('#f-status').selectOption('failed');
  await page.waitForURL(/status=failed/);
  await until(page, (r) => r[2] === 'failed', 'failed status');

  await page.locator('#f-unit').fill('api');
  await page.waitForURL(/unit=api/);
  await until(page, (r) => r[2] === 'failed' && r[3].includes('api'), 'unit search');

  await page.goto(`${demo.base}/tasks`);
  await rows(page).first().waitFor();
  const first = await ids(page);
  await page.getByRole('button', { name: 'Older →' }).click();
  await page.waitForURL(/before=/);
  await until(page, (r) => Number(r[0].slice(1)) < Math.min(...first), 'older page');
  await page.getByRole('button', { name: '← Newer' }).click();
  await page.waitForURL((u) => !u.search.includes('before='));
  await until(page, (r) => Number(r[0].slice(1)) >= Math.min(...first), 'newest page again');
  assert.deepEqual(errors, []);
  await context.close();
});

test('a deep link reloads to the same view, and the drawer opens and closes in place', async () => {
  const { context, page, errors } = await signedIn(browser, demo);
  await page.goto(`${demo.base}/tasks?status=failed`);
  await rows(page).first().waitFor();
  const id = (await ids(page))[0];
  await page.goto(`${demo.base}/tasks?status=failed&task=${id}`);
  await page.locator('#drawer-title').filter({ hasText: `Task #${id}` }).waitFor();
  await page.reload();
  await page.locator('#drawer-title').filter({ hasText: `Task #${id}` }).waitFor();
  assert.equal(await page.locator('#f-status').inputValue(), 'failed');
  await until(page, (r) => r[2] === 'failed', 'filter survives the reload');

  await page.keyboard.press('Escape');
  await page.locator('#drawer').waitFor({ state: 'hidden' });
  assert.ok(page.url().endsWith('/tasks?status=failed'), page.url());

  await page.goto(`${demo.base}/tasks?category=manual`);
  await page.setViewportSize({ width: 1280, height: 500 });
  await rows(page).nth(10).waitFor();
  await page.evaluate(() => window.scrollTo(0, 400));
  const scrolled = await page.evaluate(() => window.scrollY);
  const row = rows(page).nth(8);
  const rowId = Number((await row.locator('td').first().textContent()).slice(1));
  await row.click();
  await page.locator('#drawer-title').filter({ hasText: `Task #${rowId}` }).waitFor();
  assert.match(page.url(), new RegExp(`category=manual.*task=${rowId}|task=${rowId}.*category=manual`));
  await page.locator('#drawer .close').click();
  await page.locator('#drawer').waitFor({ state: 'hidden' });
  assert.ok(page.url().endsWith('/tasks?category=manual'), page.url());
  assert.equal(await page.evaluate(() => window.scrollY), scrolled, 'the list keeps its scroll position');
  assert.equal(await page.getByRole('tab', { name: 'Manual' }).getAttribute('aria-selected'), 'true');

  await row.focus();
  await page.keyboard.press('Enter');
  await page.locator('#drawer-title').filter({ hasText: `Task #${rowId}` }).waitFor();
  assert.deepEqual(errors, []);
  await context.close();
});
