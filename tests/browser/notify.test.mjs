// Notifications in the panel: Settings lists the demo's two sinks (an ntfy topic with
// a token, a signed webhook) with their secrets masked, their filters and how each has
// fared; "Send test notification" starts a task and opens its drawer, which lists the
// notification and its attempt; a seeded task's drawer lists its notifications, a task
// without any shows no such block; a read-only session cannot send a test; and with no
// sink the section says how to configure one. The sinks' secrets never reach a page.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startDemo, launch, signedIn, screenshot, apiCall, PODUP, PHONE } from './helpers.mjs';

let demo;
let browser;
before(async () => { [demo, browser] = await Promise.all([startDemo(), launch()]); });
after(async () => { await browser?.close(); demo?.stop(); });

/** The secrets of the demo's sinks (src/demo/mod.rs derives them from the webhook secret). */
const secrets = () => [`${demo.secret}-ntfy`, `${demo.secret}-webhook`];

/** Fails when a sink secret is in `text` (the page's HTML or an API answer). */
function noSecret(text, where) {
  for (const s of secrets()) assert.ok(!text.includes(s), `${where} holds a sink secret`);
  assert.ok(!text.includes(demo.secret), `${where} holds the demo secret`);
}

const card = (page, kind) => page.locator('section.sink').filter({ hasText: `· ${kind}` });

test('Settings lists the sinks with their secrets masked, their filters and state', async () => {
  const { context, page, errors } = await signedIn(browser, demo);
  await page.goto(`${demo.base}/settings`);
  const ntfy = card(page, 'ntfy');
  const webhook = card(page, 'webhook');
  await ntfy.waitFor();
  assert.equal(await page.locator('section.sink').count(), 2);
  assert.match(await ntfy.locator('.sink-url').textContent(), /^ntfy\+http:\/\/127\.0\.0\.1:9\/podup-demo/);
  assert.ok((await ntfy.locator('.sink-url').textContent()).includes('***'), 'the token is shown as ***');
  await ntfy.locator('.badge').filter({ hasText: /^ok$/ }).waitFor();
  await ntfy.getByText('last delivered').waitFor();
  assert.match(await ntfy.textContent(), /failed, rolled back, unknown, approval needed \(and tests\)/);
  assert.match(await ntfy.textContent(), /every unit/);

  assert.match(await webhook.locator('.sink-url').textContent(), /^webhook\+http:\/\/127\.0\.0\.1:9\/\*\*\*\?secret=\*\*\*/);
  await webhook.locator('.badge').filter({ hasText: /^failing$/ }).waitFor();
  await webhook.getByText('the sink answered HTTP 502').first().waitFor();
  await webhook.locator('.badge').filter({ hasText: '1 waiting' }).waitFor();
  const text = await webhook.textContent();
  assert.match(text, /web\.service, worker\.service/);
  assert.match(text, /demo-host instead of this machine's name/);
  assert.match(text, /1 given up/);

  const last = page.locator('table.notifications tbody tr');
  assert.ok(await last.count() > 5, 'the newest notifications are listed');
  await page.locator('table.notifications .badge').filter({ hasText: /^waiting \(next retry at / }).waitFor();
  noSecret(await page.content(), 'the Settings page');
  await screenshot(page, 'settings-notifications-desktop');
  assert.deepEqual(errors, []);
  await context.close();

  const api = await fetch(`${demo.base}/api/v1/notify`, { headers: { Authorization: `Bearer ${demo.token}` } });
  noSecret(await api.text(), 'GET /api/v1/notify');
});

test('a test notification opens its task; the drawer lists the notification and its attempt', async () => {
  const { context, page, errors } = await signedIn(browser, demo);
  await page.goto(`${demo.base}/settings`);
  const ntfy = card(page, 'ntfy');
  await ntfy.getByRole('button', { name: 'Send a test notification to sink 1' }).click();
  await page.waitForURL(/task=\d+/);
  const id = Number(new URL(page.url()).searchParams.get('task'));
  await page.locator('.toast').filter({ hasText: `Task #${id} started: a test notification to sink 1` }).waitFor();
  await page.locator('#drawer-title').filter({ hasText: `Task #${id}` }).waitFor();
  // Nothing listens on 127.0.0.1:9: the delivery fails, and a test is not retried.
  await page.locator('#drawer .drawer-head .badge').filter({ hasText: 'failed' }).waitFor({ timeout: 20000 });
  const block = page.locator('#drawer-notifications');
  await block.getByRole('heading', { name: 'Notifications (1)' }).waitFor();
  await block.locator('.badge').filter({ hasText: 'given up' }).waitFor();
  assert.match(await block.textContent(), /test/);
  assert.match(await block.locator('.sink-url').textContent(), /^ntfy\+http:\/\/127\.0\.0\.1:9\/podup-demo/);
  assert.match(await block.textContent(), /1 attempt(?!s)/);
  const attempt = block.locator('.attempts li');
  assert.equal(await attempt.count(), 1);
  assert.match(await attempt.textContent(), /failed/);
  assert.match(await attempt.textContent(), /\d+ ms|\d+ s/);
  assert.match(await attempt.locator('.msg').textContent(), /cannot talk to the sink/);
  await page.locator('#drawer').getByText('test notification: 0 delivered, 1 failed').waitFor();
  await screenshot(page, 'drawer-notifications-test-desktop');

  // The card follows the task to its end and now says the sink fails.
  await ntfy.locator('.badge').filter({ hasText: /^failing$/ }).waitFor({ timeout: 10000 });
  await ntfy.getByText('cannot talk to the sink').waitFor();
  noSecret(await page.content(), 'the Settings page with the drawer');
  const detail = await fetch(`${demo.base}/api/v1/tasks/${id}`, { headers: { Authorization: `Bearer ${demo.token}` } });
  noSecret(await detail.text(), `GET /api/v1/tasks/${id}`);
  assert.deepEqual(errors, []);
  await context.close();
});

test('a seeded task lists its notifications in the drawer; one without any shows none', async () => {
  const { body } = await apiCall(demo, 'GET', '/api/v1/notify');
  const waiting = body.deliveries.find((d) => d.status === 'pending' && d.task_id);
  assert.ok(waiting, 'the demo has a notification waiting for its retry');
  const { context, page, errors } = await signedIn(browser, demo, PHONE);
  await page.goto(`${demo.base}/settings?task=${waiting.task_id}`);
  const block = page.locator('#drawer-notifications');
  await block.waitFor();
  const items = block.locator('li.notification');
  assert.equal(await items.count(), 2, 'one per sink');
  const webhook = items.filter({ hasText: 'webhook+http://' });
  await webhook.locator('.badge').filter({ hasText: /^waiting \(next retry at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\)$/ }).waitFor();
  assert.match(await webhook.textContent(), /3 attempts/);
  assert.equal(await webhook.locator('.attempts li').count(), 3);
  assert.equal(await webhook.locator('.attempts .exit.bad').count(), 3);
  await webhook.getByText('no answer within 5 s').waitFor();
  const ntfy = items.filter({ hasText: 'ntfy+http://' });
  await ntfy.locator('.badge').filter({ hasText: 'delivered' }).waitFor();
  assert.match(await ntfy.textContent(), /1 attempt(?!s)/);
  assert.equal(await ntfy.locator('.attempts .exit.ok').count(), 1);
  noSecret(await page.content(), 'the drawer');
  await screenshot(page, 'drawer-notifications-phone');

  const { body: cancelled } = await apiCall(demo, 'GET', '/api/v1/tasks?status=cancelled&limit=1');
  const quiet = cancelled.tasks[0].id;
  await page.goto(`${demo.base}/settings?task=${quiet}`);
  await page.locator('#drawer .timeline').waitFor();
  assert.equal(await page.locator('#drawer-notifications').count(), 0, 'no block without notifications');
  assert.deepEqual(errors, []);
  await context.close();
});

test('a read-only session sees the sinks but cannot send a test', async () => {
  const out = execFileSync(PODUP, ['token', 'add', 'reader', '--role', 'read'], {
    env: { PATH: process.env.PATH, PODUP_STATE_DIR: demo.state },
    encoding: 'utf8',
  });
  const reader = out.match(/podup_[0-9a-f]+/)[0];
  const { context, page, errors } = await signedIn(browser, { ...demo, token: reader });
  await page.locator('#who-name').filter({ hasText: '(read)' }).waitFor();
  await page.goto(`${demo.base}/settings`);
  await card(page, 'ntfy').waitFor();
  const buttons = page.locator('section.sink button');
  assert.equal(await buttons.count(), 2);
  for (let i = 0; i < 2; i++) assert.ok(await buttons.nth(i).isDisabled(), 'the test button is disabled');
  assert.deepEqual(errors, []);
  await context.close();
});

test('with no sink, Settings says how to configure one', async () => {
  const { context, page, errors } = await signedIn(browser, demo);
  await page.route('**/api/v1/notify', (route) => route.fulfill({ json: { sinks: [], deliveries: [] } }));
  await page.goto(`${demo.base}/settings`);
  const section = page.locator('#notifications');
  await section.getByText('No notification sink is configured').waitFor();
  assert.match(await section.textContent(), /PODUP_NOTIFY_FILE/);
  assert.match(await section.textContent(), /docs\/notifications\.md/);
  assert.equal(await section.locator('button').count(), 0);
  assert.deepEqual(errors, []);
  await context.close();
});
