// Text from outside is shown as text: a webhook delivery whose event header and
// payload carry an <img onerror> shows up on the Events and Webhooks pages as
// those characters, with no element created and no script run.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDemo, launch, signedIn, sign } from './helpers.mjs';

let demo;
let browser;
before(async () => { [demo, browser] = await Promise.all([startDemo(), launch()]); });
after(async () => { await browser?.close(); demo?.stop(); });

const HOSTILE = '<img src=x onerror="window.__pwned=1">';

test('a payload field with markup shows as text', async () => {
  const body = JSON.stringify({ zen: HOSTILE, action: HOSTILE });
  const res = await fetch(`${demo.base}/hooks/github`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      'X-GitHub-Event': HOSTILE,
      'X-GitHub-Delivery': `delivery-${HOSTILE}`,
      'X-Hub-Signature-256': sign(demo.secret, body),
    },
    body,
  });
  assert.equal(res.status, 202);
  assert.equal((await res.json()).reason, 'unsupported_event');

  const { context, page, errors } = await signedIn(browser, demo);
  await page.goto(`${demo.base}/events?reason=unsupported_event`);
  const row = page.locator('table.events tbody tr').first();
  await row.getByRole('button', { name: 'details' }).click();
  const meta = page.locator('pre.meta').first();
  await meta.waitFor();
  assert.ok((await meta.textContent()).includes(HOSTILE.replace(/"/g, '\\"')), await meta.textContent());

  await page.goto(`${demo.base}/webhooks`);
  await page.locator('main td').filter({ hasText: HOSTILE }).first().waitFor();
  assert.equal(await page.locator('main img, #drawer img').count(), 0, 'no element was created');
  assert.equal(await page.evaluate(() => /** @type {any} */ (window).__pwned), undefined, 'no script ran');
  assert.deepEqual(errors, []);
  await context.close();
});
