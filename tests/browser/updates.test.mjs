// Update checks in the panel, against `podup demo`: the seeded check's badges show on
// Services at once, with the Overview's count and the Tasks page's "Checks";
// "Check now" starts a check whose drawer shows the verdicts; "Update" on the
// service with an update waiting deploys it, and the next check finds it up to date.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDemo, launch, signedIn, screenshot } from './helpers.mjs';

let demo;
let browser;
before(async () => { [demo, browser] = await Promise.all([startDemo(), launch()]); });
after(async () => { await browser?.close(); demo?.stop(); });

const verdict = (page, unit) => page.locator(`td[data-verdict="${unit}"]`);
const drawerBadge = (page) => page.locator('#drawer .drawer-head .badge');
const drawerRow = (page, unit) => page.locator(`#drawer tr[data-unit="${unit}"]`);

/** Clicks "Check now"; resolves with the new check task's id once its drawer says it ended. */
async function checkNow(page) {
  await page.getByRole('button', { name: 'Check now' }).click();
  const toast = page.locator('.toast').filter({ hasText: 'update check of every service' });
  await toast.waitFor();
  const id = Number((await toast.textContent()).match(/#(\d+)/)[1]);
  await page.locator('#drawer-title').filter({ hasText: `Task #${id}` }).waitFor();
  await drawerBadge(page).filter({ hasText: 'succeeded' }).waitFor();
  return id;
}

test('Services shows the last check at once: a badge per service, the waiting update and the rate limit', async () => {
  const { context, page, errors } = await signedIn(browser, demo);
  await page.goto(`${demo.base}/services`);
  await verdict(page, 'api.service').getByText('Update available').waitFor();
  assert.match(await verdict(page, 'api.service').locator('code').textContent(), /^sha256:[0-9a-f]{12}$/);
  await verdict(page, 'api.service').getByRole('button', { name: /^Update api\.service to sha256:/ }).waitFor();
  for (const unit of ['web.service', 'worker.service', 'batch.service']) {
    assert.equal(await verdict(page, unit).textContent(), 'Up to date', unit);
    assert.equal(await verdict(page, unit).getByRole('button').count(), 0, `${unit} has nothing waiting`);
  }
  const cache = verdict(page, 'cache.service');
  const unknown = cache.getByText('Unknown: rate limited');
  await unknown.waitFor();
  assert.match(await unknown.getAttribute('title'), /^rate limited until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC by registry-1\.docker\.io/);
  await cache.getByText('rate limited until', { exact: false }).waitFor();

  const line = page.locator('.check-line');
  assert.match(await line.textContent(), /^Last check: \d+ min ago \(task #\d+\) · 1 with an update, 4 up to date, 1 unknown$/);
  await screenshot(page, 'services-updates-desktop');
  await line.getByRole('link', { name: /task #\d+/ }).click();
  await page.locator('#drawer').getByText('update check').first().waitFor();
  await drawerRow(page, 'api.service').getByText('update available').waitFor();
  await drawerRow(page, 'cache.service').getByText('unknown', { exact: true }).waitFor();

  await page.goto(demo.base);
  const count = page.getByRole('link', { name: '1 update available' });
  await count.click();
  await page.waitForURL(/\/services$/);
  await verdict(page, 'api.service').getByText('Update available').waitFor();

  await page.goto(`${demo.base}/tasks`);
  await page.getByRole('tab', { name: 'Checks' }).click();
  await page.waitForURL(/category=check/);
  const rows = page.locator('table.tasks tbody tr');
  await rows.first().getByText('update check').waitFor();
  assert.equal(await rows.count(), await rows.filter({ hasText: 'update check' }).count(), 'only checks are listed');
  assert.deepEqual(errors, []);
  await context.close();
});

test('Check now starts a check, its drawer shows the verdicts, and the page shows it as the last check', async () => {
  const { context, page, errors } = await signedIn(browser, demo);
  await page.goto(`${demo.base}/services`);
  await verdict(page, 'api.service').getByText('Update available').waitFor();
  const id = await checkNow(page);
  await page.locator('#drawer').getByRole('heading', { name: 'Verdicts' }).waitFor();
  await drawerRow(page, 'api.service').getByText('update available').waitFor();
  await drawerRow(page, 'web.service').getByText('up to date').waitFor();
  await drawerRow(page, 'cache.service').getByText('unknown', { exact: true }).waitFor();
  await page.locator('#drawer').getByText('rate limited until', { exact: false }).first().waitFor();
  await screenshot(page, 'check-drawer-desktop');
  await page.locator('.check-line').getByRole('link', { name: `task #${id}` }).waitFor();
  await page.getByRole('button', { name: 'Check now' }).and(page.locator(':enabled')).waitFor();
  assert.deepEqual(errors, []);
  await context.close();
});

test('Update on the service with an update waiting deploys it, and the next check finds it up to date', async () => {
  const { context, page, errors } = await signedIn(browser, demo);
  await page.goto(`${demo.base}/services`);
  await verdict(page, 'api.service').getByRole('button', { name: /^Update api\.service to sha256:/ }).click();
  await page.locator('.plan').getByText('podman pull').first().waitFor();
  await page.locator('[data-run="api.service"]').click();
  await page.locator('.toast').filter({ hasText: 'update of api.service' }).waitFor();
  await drawerBadge(page).filter({ hasText: 'succeeded' }).waitFor({ timeout: 30000 });
  await verdict(page, 'api.service').getByText('Up to date').waitFor();
  await page.getByRole('button', { name: 'Close the task' }).click();

  const id = await checkNow(page);
  await drawerRow(page, 'api.service').getByText('up to date').waitFor();
  await page.locator('.check-line').getByRole('link', { name: `task #${id}` }).waitFor();
  await verdict(page, 'api.service').getByText('Up to date').waitFor();
  assert.equal(await verdict(page, 'api.service').getByRole('button').count(), 0, 'no Update button any more');
  assert.deepEqual(errors, []);
  await context.close();
});
