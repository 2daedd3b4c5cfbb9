// Shared by the browser tests: start `podup demo` (the real binary) on a free port
// with its own state directory, drive Debian's chromium with playwright-core, sign
// in, and collect console errors.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHmac } from 'node:crypto';
import { chromium } from 'playwright-core';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const PODUP = process.env.PODUP_BIN || join(ROOT, 'target/debug/podup');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const SCREENSHOTS = join(ROOT, 'target/screenshots');

/** @typedef {{base: string, token: string, secret: string, state: string, stop: () => void}} Demo */

/** Starts `podup demo` and resolves once it printed its URL and token. @returns {Promise<Demo>} */
export function startDemo() {
  if (!existsSync(PODUP)) throw new Error(`${PODUP} is missing: run 'cargo build' first`);
  const state = mkdtempSync(join(tmpdir(), 'podup-browser-'));
  const child = spawn(PODUP, ['demo', '--listen', '127.0.0.1:0', '--state', state], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`podup demo did not start:\n${out}\n${err}`)), 20000);
    child.on('exit', (code) => reject(new Error(`podup demo exited with ${code}:\n${out}\n${err}`)));
    child.stdout.on('data', (d) => {
      out += d;
      if (!out.includes('Ctrl-C')) return;
      clearTimeout(timer);
      const base = out.match(/panel +(http:\/\/\S+?)\/\n/)[1];
      const token = out.match(/token +(podup_[0-9a-f]+)/)[1];
      const secret = out.match(/secret '([^']+)'/)[1];
      resolve({
        base, token, secret, state,
        stop() {
          child.kill('SIGTERM');
          rmSync(state, { recursive: true, force: true });
        },
      });
    });
  });
}

export function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

export const DESKTOP = { width: 1280, height: 900 };
export const PHONE = { width: 390, height: 844 };

/**
 * A page signed in to the demo (through the `#token=` link), with the console
 * errors and page errors it sees collected in `errors`.
 * @param {import('playwright-core').Browser} browser @param {Demo} demo
 */
export async function signedIn(browser, demo, viewport = DESKTOP) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const errors = watch(page);
  await page.goto(`${demo.base}/#token=${demo.token}`);
  await page.locator('#who').waitFor({ state: 'visible' });
  return { context, page, errors };
}

/** @param {import('playwright-core').Page} page */
export function watch(page) {
  /** @type {string[]} */
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(e.message));
  return errors;
}

/** @param {import('playwright-core').Page} page @param {string} name */
export async function screenshot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
}

/** `X-Hub-Signature-256` of `body` under `secret`. */
export function sign(secret, body) {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Calls the API with the demo's admin token. */
export async function apiCall(demo, method, path, body) {
  const res = await fetch(demo.base + path, {
    method,
    headers: { Authorization: `Bearer ${demo.token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}
