// Per-service policy in the panel (docs/policy.md), against `podup demo` and the
// policy files it writes (src/demo/policies.rs): Services shows each service's policy
// in one line and, in its details, where each key came from and the errors of its
// files (as text, markup included); it lists the tasks the policies hold (until when,
// and what each would deploy, 1.4.2 → 1.5.0 for a service that follows versions), the
// Overview and the Tasks page count and filter them; a read-only session sees them
// without buttons; an admin approves one from Services (it starts and succeeds) and
// rejects one in the drawer (it is skipped).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDemo, launch, signedIn, screenshot, apiCall, PODUP } from './helpers.mjs';

let demo;
let browser;
before(async () => { [demo, browser] = await Promise.all([startDemo(), launch()]); });
after(async () => { await browser?.close(); demo?.stop(); });

/** The id of the task that waits for `unit`, from the API. */
async function waitingTask(unit) {
  const { body } = await apiCall(demo, 'GET', '/api/v1/services');
  const s = body.services.find((x) => x.unit === unit);
  assert.equal(s.waiting.length, 1, `one task waits for ${unit}`);
  return s.waiting[0].task_id;
}

const policy = (page, unit) => page.locator(`td.policy[data-policy="${unit}"]`);
/** The row of key `key` in the policy details of `unit`. */
const keyRow = (page, unit, key) => page.locator(`#policy-${unit.replace('.', '\\.')} tr[data-key="${key}"]`);
const entry = (page, id) => page.locator(`.waiting-task[data-waiting="${id}"]`);
const drawerBadge = (page) => page.locator('#drawer .drawer-head .badge');
/** A fact of the drawer's summary, by its label. */
const fact = (page, name) => page.locator('#drawer .facts dt').filter({ hasText: new RegExp(`^${name}$`) }).locator('xpath=following-sibling::dd[1]');

test('Services shows each policy in one line, and in its details where each key came from and what is wrong', async () => {
  const { context, page, errors } = await signedIn(browser, demo);
  await page.goto(`${demo.base}/services`);
  assert.equal(await policy(page, 'app.service').locator('.policy-line').textContent(), 'approve · follow semver:minor');
  assert.equal(await policy(page, 'worker.service').locator('.policy-line').textContent(), 'auto · min-age 2h · window Sat,Sun 03:00-05:00');
  assert.equal(await policy(page, 'cache.service').locator('.policy-line').textContent(), 'auto');
  assert.equal(await policy(page, 'cache.service').locator('.badge').count(), 0);

  const details = page.getByRole('button', { name: 'Policy details of app.service' });
  assert.equal(await details.getAttribute('aria-expanded'), 'false');
  await details.click();
  assert.equal(await details.getAttribute('aria-expanded'), 'true');
  const quadlet = join(demo.state, 'containers/systemd/app.container');
  assert.deepEqual(await keyRow(page, 'app.service', 'Policy').locator('td').allTextContents(), ['approve', `${quadlet}:9`]);
  assert.deepEqual(await keyRow(page, 'app.service', 'Follow').locator('td').allTextContents(), ['semver:minor', `${quadlet}:10`]);
  assert.deepEqual(await keyRow(page, 'app.service', 'MinAge').locator('td').allTextContents(), ['none', 'default']);
  assert.deepEqual(await keyRow(page, 'app.service', 'Timer').locator('td').allTextContents(), ['yes', 'default']);

  // web.service's window got a typo after podup last read it.
  const web = policy(page, 'web.service');
  await web.locator('.badge.policy-bad').filter({ hasText: '1 error' }).waitFor();
  assert.equal(await web.locator('.policy-line').textContent(), 'auto · window Mon..Fri 06:00-08:00');
  await page.getByRole('button', { name: 'Policy details of web.service' }).click();
  const file = join(demo.state, 'policies.ini');
  assert.deepEqual(await keyRow(page, 'web.service', 'Window').locator('td').allTextContents(), ['Mon..Fri 06:00-08:00', `${file}:11`]);
  const problem = page.locator('#policy-web\\.service .policy-problem');
  assert.match(await problem.locator('p').textContent(), /it keeps its last good policy/);
  assert.match(await problem.locator('li').textContent(), new RegExp(`^${file.replace(/[.]/g, '\\.')}:11: Window=: 'Mon\\.\\.Fry`));
  await screenshot(page, 'services-policies-desktop');
  assert.deepEqual(errors, []);
  await context.close();
});

test('a policy error with markup in its value shows as text', async () => {
  const file = join(demo.state, 'policies.ini');
  const before = readFileSync(file, 'utf8');
  const HOSTILE = '<img src=x onerror="window.__pwned=1">';
  writeFileSync(file, `${before}\n[cache.service]\nPolicy=${HOSTILE}\n`);
  try {
    const { context, page, errors } = await signedIn(browser, demo);
    await page.goto(`${demo.base}/services`);
    const cache = policy(page, 'cache.service');
    await cache.locator('.badge.policy-bad').waitFor();
    await page.getByRole('button', { name: 'Policy details of cache.service' }).click();
    const error = page.locator('#policy-cache\\.service .policy-errors li');
    await error.filter({ hasText: HOSTILE }).waitFor();
    assert.match(await error.textContent(), /Policy=: '<img src=x onerror="window\.__pwned=1">' is not a policy/);
    assert.match(await page.locator('#policy-cache\\.service .policy-problem p').textContent(), /it keeps the default policy/);
    assert.equal(await page.locator('main img').count(), 0, 'no element was created');
    assert.equal(await page.evaluate(() => /** @type {any} */ (window).__pwned), undefined, 'no script ran');
    assert.deepEqual(errors, []);
    await context.close();
  } finally {
    writeFileSync(file, before);
  }
});

test('Services lists the tasks that wait with what each would deploy; Overview and Tasks count them', async () => {
  const [api, app, worker] = await Promise.all(['api.service', 'app.service', 'worker.service'].map(waitingTask));
  const { context, page, errors } = await signedIn(browser, demo);
  await page.goto(`${demo.base}/services`);
  await page.locator('.waiting-line').getByText('2 deploys await an approval, 1 is scheduled').waitFor();

  const a = entry(page, api);
  await a.locator('.badge').filter({ hasText: 'awaiting approval' }).waitFor();
  assert.match(await a.locator('.when').textContent(), /^awaits approval until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  assert.match(await a.locator('code.change').textContent(), /^sha256:[0-9a-f]{12} → sha256:[0-9a-f]{12}$/);
  assert.match(await a.textContent(), /Policy=approve/);
  await a.getByRole('button', { name: `Approve task #${api} (api.service)` }).waitFor();
  await a.getByRole('button', { name: `Reject task #${api} (api.service)` }).waitFor();

  assert.equal(await entry(page, app).locator('code.change').textContent(), '1.4.2 → 1.5.0');

  const w = entry(page, worker);
  await w.locator('.badge').filter({ hasText: 'scheduled' }).waitFor();
  assert.match(await w.locator('.when').textContent(), /^scheduled for \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  assert.match(await w.locator('code.change').textContent(), /^sha256:[0-9a-f]{12} → newest ghcr\.io\/acme\/worker:stable$/);
  assert.match(await w.textContent(), /MinAge=7200s/);
  assert.equal(await w.getByRole('button').count(), 0, 'a scheduled task is not approved');

  // Each waiting status has a colour of its own, unlike pending.
  const colour = (cls) => page.evaluate((c) => {
    const el = document.createElement('span');
    el.className = `badge ${c}`;
    document.body.append(el);
    const bg = getComputedStyle(el).backgroundColor;
    el.remove();
    return bg;
  }, cls);
  const colours = await Promise.all(['s-awaiting_approval', 's-scheduled', 's-pending'].map(colour));
  assert.equal(new Set(colours).size, 3, colours.join(' / '));
  await screenshot(page, 'services-waiting-desktop');

  await page.goto(demo.base);
  const count = page.locator('.waiting-count');
  await count.getByRole('link', { name: '3 deploys wait' }).waitFor();
  assert.match(await count.textContent(), /\(2 for an approval, 1 scheduled\)/);

  await page.goto(`${demo.base}/tasks`);
  await page.locator('#f-status').selectOption('awaiting_approval');
  await page.waitForURL(/status=awaiting_approval/);
  const rows = page.locator('table.tasks tbody tr');
  await rows.filter({ hasText: `#${api}` }).waitFor();
  assert.equal(await rows.count(), 2);
  assert.equal(await rows.locator('.badge.s-awaiting_approval').count(), 2);
  assert.deepEqual(errors, []);
  await context.close();
});

test('a read-only session sees the waiting tasks but no Approve or Reject', async () => {
  const api = await waitingTask('api.service');
  const out = execFileSync(PODUP, ['token', 'add', 'reader', '--role', 'read'], {
    env: { PATH: process.env.PATH, PODUP_STATE_DIR: demo.state },
    encoding: 'utf8',
  });
  const reader = out.match(/podup_[0-9a-f]+/)[0];
  const { context, page, errors } = await signedIn(browser, { ...demo, token: reader });
  await page.locator('#who-name').filter({ hasText: '(read)' }).waitFor();
  await page.goto(`${demo.base}/services`);
  await entry(page, api).locator('.badge').filter({ hasText: 'awaiting approval' }).waitFor();
  assert.equal(await page.locator('.waiting-task').count(), 3);
  assert.equal(await page.locator('.waiting-task button').count(), 0, 'no button in any waiting task');

  await entry(page, api).getByRole('link', { name: `task #${api}` }).click();
  await drawerBadge(page).filter({ hasText: 'awaiting approval' }).waitFor();
  await page.locator('#drawer').getByText('Read-only session: approving and rejecting need an admin token.').waitFor();
  assert.equal(await page.locator('#drawer .drawer-actions button').count(), 0);
  assert.deepEqual(errors, []);
  await context.close();
});

test('an admin approves a waiting task from Services: it starts, succeeds, and no longer waits', async () => {
  const api = await waitingTask('api.service');
  const { context, page, errors } = await signedIn(browser, demo);
  await page.goto(`${demo.base}/services`);
  await entry(page, api).getByRole('button', { name: 'Approve' }).click();
  await page.locator('.toast').filter({ hasText: `Task #${api} approved: it starts now.` }).waitFor();
  await page.locator('#drawer-title').filter({ hasText: `Task #${api}` }).waitFor();
  const seen = new Set();
  for (let i = 0; i < 300 && !seen.has('succeeded'); i++) {
    seen.add(await drawerBadge(page).textContent());
    await page.waitForTimeout(100);
  }
  assert.ok(seen.has('pending') || seen.has('running'), `it was seen starting: ${[...seen]}`);
  assert.ok(seen.has('succeeded'), `it ended: ${[...seen]}`);
  assert.match(await fact(page, 'Decided by').textContent(), /^demo at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  assert.equal(await page.locator('#drawer').getByRole('button', { name: 'Approve' }).count(), 0);
  assert.equal(await entry(page, api).count(), 0, 'it no longer waits');
  await page.locator('td[data-verdict="api.service"]').getByText('Up to date').waitFor();
  await page.locator('.waiting-line').getByText('1 deploy awaits an approval, 1 is scheduled').waitFor();
  assert.deepEqual(errors, []);
  await context.close();
});

test('in the drawer, a task that follows a version shows its tags, and Reject makes it skipped', async () => {
  const app = await waitingTask('app.service');
  const { context, page, errors } = await signedIn(browser, demo);
  await page.goto(`${demo.base}/services`);
  await entry(page, app).getByRole('link', { name: `task #${app}` }).click();
  await drawerBadge(page).filter({ hasText: 'awaiting approval' }).waitFor();
  assert.equal(await page.locator('#drawer tr[data-unit="app.service"] code.change').textContent(), '1.4.2 → 1.5.0');
  assert.match(await fact(page, 'Deadline').textContent(), /^awaits approval until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d; then it is skipped$/);
  await screenshot(page, 'drawer-awaiting-approval-desktop');
  await page.locator('#drawer').getByRole('button', { name: 'Reject' }).click();
  await page.locator('.toast').filter({ hasText: `Task #${app} rejected: it is skipped.` }).waitFor();
  await drawerBadge(page).filter({ hasText: 'skipped' }).waitFor();
  assert.match(await fact(page, 'Decided by').textContent(), /^demo at .* \(rejected\)$/);
  assert.equal(await page.locator('#drawer').getByRole('button', { name: 'Reject' }).count(), 0);
  await page.getByRole('button', { name: 'Close the task' }).click();
  assert.equal(await entry(page, app).count(), 0, 'it no longer waits');
  const { body } = await apiCall(demo, 'GET', `/api/v1/tasks/${app}`);
  assert.equal(body.task.status, 'skipped');
  assert.equal(body.task.reason, 'rejected');
  assert.deepEqual(errors, []);
  await context.close();
});

test('a podup without policies shows no Policy column and nothing waiting', async () => {
  const { context, page, errors } = await signedIn(browser, demo);
  await page.route('**/api/v1/services', async (route) => {
    const json = await (await route.fetch()).json();
    for (const s of json.services) {
      delete s.policy;
      delete s.waiting;
    }
    delete json.updates.waiting;
    await route.fulfill({ json });
  });
  await page.goto(`${demo.base}/services`);
  await page.locator('tr[data-service="web.service"]').waitFor();
  assert.deepEqual(await page.locator('table.services thead th').allTextContents(), ['Service', 'Update', 'Image', 'Running digest', 'Last task', '']);
  assert.equal(await page.locator('.waiting-line, .waiting-task, td.policy').count(), 0);
  await page.goto(demo.base);
  await page.locator('p.updates').waitFor();
  assert.equal(await page.locator('.waiting-count').count(), 0);
  assert.deepEqual(errors, []);
  await context.close();
});
