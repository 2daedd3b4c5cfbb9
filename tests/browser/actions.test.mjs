// Actions in the drawer and on the Services page: an update shows its plan, starts,
// opens the drawer at once and the drawer follows the task to its end; stop,
// force-stop (after a confirmation that says what it does) and retry change the
// task and say so in a toast.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDemo, launch, signedIn, screenshot } from './helpers.mjs';

let demo;
let browser;
before(async () => { [demo, browser] = await Promise.all([startDemo(), launch()]); });
after(async () => { await browser?.close(); demo?.stop(); });

const badge = (page) => page.locator('#drawer .drawer-head .badge');

/** Starts an update of `unit` from the Services page; returns the new task's id. */
async function update(page, unit) {
  await page.goto(`${demo.base}/services`);
  await page.locator(`[data-update="${unit}"]`).click();
  await page.locator('.plan').getByText('podman pull').first().waitFor();
  await page.locator(`[data-run="${unit}"]`).click();
  await page.waitForURL(/task=\d+/);
  const id = Number(new URL(page.url()).searchParams.get('task'));
  await page.locator('#drawer-title').filter({ hasText: `Task #${id}` }).waitFor();
  await page.locator('.toast').filter({ hasText: `Task #${id} started` }).waitFor();
  return id;
}

test('an update from Services opens the drawer, which follows the task to its end', async () => {
  const { context, page, errors } = await signedIn(browser, demo);
  const id = await update(page, 'web.service');
  const seen = new Set();
  for (let i = 0; i < 200 && !seen.has('succeeded'); i++) {
    seen.add(await badge(page).textContent());
    await page.waitForTimeout(100);
  }
  assert.ok(seen.has('running') || seen.has('pending'), `it was seen running: ${[...seen]}`);
  assert.ok(seen.has('succeeded'), `it ended: ${[...seen]}`);
  await page.locator('#drawer').getByText('active for 3 s on sha256:').waitFor();
  assert.match(await page.locator('#drawer td.digests').textContent(), /sha256:\w{12} → sha256:\w{12}/);
  await screenshot(page, 'update-finished-desktop');

  const rolled = await update(page, 'worker.service');
  await badge(page).filter({ hasText: 'rolled back' }).waitFor({ timeout: 30000 });
  assert.ok(rolled > id);
  assert.deepEqual(errors, []);
  await context.close();
});

test('stop, force-stop and retry change the task and show a toast', async () => {
  const { context, page } = await signedIn(browser, demo);
  // batch.service pulls for half a minute, and two demo tasks hold it already.
  const stopped = await update(page, 'batch.service');
  await page.getByRole('button', { name: 'Stop', exact: true }).click();
  await page.locator('.toast').filter({ hasText: `Task #${stopped} stopped` }).waitFor();
  await badge(page).filter({ hasText: 'cancelled' }).waitFor();

  const killed = await update(page, 'batch.service');
  await page.getByRole('button', { name: 'Force stop' }).click();
  const dialog = page.locator('dialog#confirm');
  await dialog.waitFor();
  assert.match(await dialog.textContent(), /SIGKILL to podup-task-\d+\.service/);
  await screenshot(page, 'force-stop-confirm-desktop');
  await dialog.getByRole('button', { name: 'Force stop' }).click();
  await page.locator('.toast').filter({ hasText: `Task #${killed} was killed` }).waitFor();
  await badge(page).filter({ hasText: 'failed' }).waitFor();
  await page.locator('#drawer').getByText('killed', { exact: false }).first().waitFor();

  await page.getByRole('button', { name: 'Retry' }).click();
  const toast = page.locator('.toast').filter({ hasText: 'Retry started as task #' });
  await toast.waitFor();
  const retry = Number((await toast.textContent()).match(/#(\d+)/)[1]);
  assert.ok(retry > killed);
  await page.locator('#drawer-title').filter({ hasText: `Task #${retry}` }).waitFor();
  await page.locator('#drawer').getByText(`task #${killed}`).waitFor();
  assert.match(page.url(), new RegExp(`task=${retry}`));
  await page.getByRole('button', { name: 'Stop', exact: true }).click();
  await badge(page).filter({ hasText: 'cancelled' }).waitFor();
  await context.close();
});

test('every sender has its card on Webhooks, and a test delivery goes through its own path', async () => {
  const { context, page, errors } = await signedIn(browser, demo);
  await page.goto(`${demo.base}/webhooks`);
  const harbor = page.locator('section[data-sender="harbor"]');
  await harbor.getByText('configured', { exact: true }).waitFor();
  await harbor.getByText('Auth Header').waitFor();
  for (const name of ['gitea', 'forgejo', 'registry', 'acr', 'jfrog', 'dockerhub']) {
    await page.locator(`section[data-sender="${name}"]`).getByText('not configured').waitFor();
  }
  const quay = page.locator('section[data-sender="quay"]');
  await quay.getByText('authenticated by URL secret only', { exact: false }).waitFor();
  assert.match(await quay.textContent(), /\/hooks\/quay\/<secret>/);
  assert.doesNotMatch(await page.locator('main').textContent(), /demo-\w+-quay/, 'the URL secret is never shown');
  await harbor.getByRole('button', { name: 'Send a test delivery as harbor' }).click();
  await page.locator('.toast').filter({ hasText: 'Test delivery accepted' }).waitFor();
  await harbor.locator('table').getByText('test').first().waitFor();
  await quay.getByRole('button', { name: 'Send a test delivery as quay' }).click();
  await quay.locator('table').getByText('test').first().waitFor();
  await screenshot(page, 'webhooks-senders-desktop');
  assert.deepEqual(errors, []);
  await context.close();
});
