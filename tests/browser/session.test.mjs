// Sign-in and sign-out in the browser, and the CSRF and Origin checks on changes
// made with a session cookie (bearer tokens need neither).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDemo, launch, watch, signedIn } from './helpers.mjs';

let demo;
let browser;
before(async () => { [demo, browser] = await Promise.all([startDemo(), launch()]); });
after(async () => { await browser?.close(); demo?.stop(); });

test('signing in with a token and out again', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  watch(page);
  await page.goto(`${demo.base}/tasks`);
  await page.getByLabel('Admin or read token').waitFor();
  assert.ok(await page.locator('#demo-banner').isVisible(), 'the panel says it is a demo host');
  await page.getByLabel('Admin or read token').fill('podup_wrong');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('.form-error').filter({ hasText: 'not valid' }).waitFor();
  await page.getByLabel('Admin or read token').fill(demo.token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#who-name').filter({ hasText: 'demo (admin)' }).waitFor();
  await page.locator('table.tasks tbody tr').first().waitFor();
  const cookie = (await context.cookies()).find((c) => c.name === 'podup_session');
  assert.ok(cookie.httpOnly && cookie.sameSite === 'Strict' && !cookie.secure, JSON.stringify(cookie));
  assert.equal(await page.evaluate(() => document.cookie), '', 'the session cookie is not readable by scripts');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('Admin or read token').waitFor();
  await page.reload();
  await page.getByLabel('Admin or read token').waitFor();
  await context.close();
});

test('a change without the CSRF token is refused, in the page and from outside', async () => {
  const { context, page } = await signedIn(browser, demo);
  const refused = await page.evaluate(async () => {
    const r = await fetch('/api/v1/tasks/1/retry', { method: 'POST', credentials: 'same-origin' });
    return { status: r.status, body: await r.json() };
  });
  assert.equal(refused.status, 403);
  assert.equal(refused.body.error, 'csrf_failed');
  await context.close();

  const signIn = await fetch(`${demo.base}/api/v1/session`, { method: 'POST', body: JSON.stringify({ token: demo.token }) });
  const session = await signIn.json();
  const cookie = signIn.headers.get('set-cookie').split(';')[0];
  const retry = (headers) => fetch(`${demo.base}/api/v1/tasks/1/retry`, { method: 'POST', headers: { Cookie: cookie, ...headers } });
  const own = demo.base;
  for (const [headers, why] of [
    [{ Origin: own }, 'no CSRF token'],
    [{ Origin: own, 'X-CSRF-Token': 'wrong' }, 'a wrong CSRF token'],
    [{ 'X-CSRF-Token': session.csrf_token }, 'no Origin'],
    [{ Origin: 'http://evil.example', 'X-CSRF-Token': session.csrf_token }, 'another Origin'],
  ]) {
    const r = await retry(headers);
    assert.equal(r.status, 403, why);
    assert.equal((await r.json()).error, 'csrf_failed', why);
  }
  const ok = await retry({ Origin: own, 'X-CSRF-Token': session.csrf_token });
  assert.equal(ok.status, 202, 'the same request with both is accepted');
  const bearer = await fetch(`${demo.base}/api/v1/tasks/1/retry`, { method: 'POST', headers: { Authorization: `Bearer ${demo.token}` } });
  assert.equal(bearer.status, 202, 'bearer tokens need no CSRF token');
});
