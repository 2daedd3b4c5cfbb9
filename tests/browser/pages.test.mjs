// Every page renders its content without a console error, at desktop and phone
// width, and leaves a screenshot in target/screenshots/ (pages, the drawer, the
// sign-in form and the update plan).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDemo, launch, signedIn, screenshot, watch, DESKTOP, PHONE } from './helpers.mjs';

let demo;
let browser;
before(async () => { [demo, browser] = await Promise.all([startDemo(), launch()]); });
after(async () => { await browser?.close(); demo?.stop(); });

/** Each page and something that only shows once its data arrived. */
const PAGES = [
  ['overview', '/', 'Health: all good'],
  ['services', '/services', 'web.service'],
  ['webhooks', '/webhooks', 'Last deliveries'],
  ['tasks', '/tasks', 'batch.service'],
  ['events', '/events', 'github_webhook'],
  ['maintenance', '/maintenance', 'State database'],
  ['settings', '/settings', 'PODUP_TRUSTED_PROXIES'],
];

for (const [size, viewport] of [['desktop', DESKTOP], ['phone', PHONE]]) {
  test(`every page renders without console errors (${size})`, async () => {
    const { context, page, errors } = await signedIn(browser, demo, viewport);
    for (const [name, path, marker] of PAGES) {
      await page.goto(demo.base + path);
      await page.locator('main').getByText(marker).first().waitFor();
      await page.waitForLoadState('networkidle');
      assert.equal(await page.locator('main .state.error').count(), 0, `${name} shows an error`);
      await screenshot(page, `${name}-${size}`);
    }
    await page.goto(`${demo.base}/tasks?status=rolled_back&kind=webhook`);
    await page.locator('table.tasks tbody tr').first().click();
    await page.locator('#drawer .timeline').waitFor();
    await page.locator('#drawer details').first().click();
    await screenshot(page, `task-drawer-${size}`);
    await page.goto(`${demo.base}/services`);
    await page.locator('[data-update="worker.service"]').click();
    await page.locator('.plan .commands').first().waitFor();
    await screenshot(page, `update-plan-${size}`);
    assert.deepEqual(errors, []);
    await context.close();

    const signedOut = await browser.newContext({ viewport });
    const p = await signedOut.newPage();
    const outErrors = watch(p);
    await p.goto(demo.base);
    await p.getByLabel('Admin or read token').waitFor();
    await screenshot(p, `sign-in-${size}`);
    assert.deepEqual(outErrors, []);
    await signedOut.close();
  });
}
