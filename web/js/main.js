// The panel's shell: sign-in state, the router (pages by path, filters in the
// query string, the task drawer on `?task=<id>` of any page), navigation and the
// demo banner. Each page module exports `title` and `render(main, ctx)`.

import { api, setCsrf, whenSignedOut } from './api.js';
import { h, clear, toast } from './dom.js';
import { Drawer } from './drawer.js';
import { showSignIn } from './signin.js';
import * as overview from './pages/overview.js';
import * as services from './pages/services.js';
import * as webhooks from './pages/webhooks.js';
import * as tasks from './pages/tasks.js';
import * as events from './pages/events.js';
import * as maintenance from './pages/maintenance.js';
import * as settings from './pages/settings.js';

/** @typedef {import('./types.js').Session} Session */

/**
 * What a page gets from the shell.
 * @typedef {object} PageContext
 * @property {URLSearchParams} params the query string (without `task`)
 * @property {(changes: Object<string, string|number|null>, push?: boolean) => void} setParams
 * @property {(id: number) => void} openTask opens the drawer on a task (and keeps the page)
 * @property {(f: () => void) => void} onLeave runs when the page is left
 * @property {Session} session
 */

/** @typedef {{title: string, render: (main: HTMLElement, ctx: PageContext) => void}} Page */

/** @type {Object<string, Page>} */
const PAGES = {
  '/': overview,
  '/services': services,
  '/webhooks': webhooks,
  '/tasks': tasks,
  '/events': events,
  '/maintenance': maintenance,
  '/settings': settings,
};

const main = /** @type {HTMLElement} */ (document.getElementById('main'));
/** @type {Session|null} */
let session = null;
let shownKey = '';
/** @type {(() => void)[]} */
let leaving = [];

const drawer = new Drawer(document.getElementById('drawer'), {
  onClose: () => setParams({ task: null }, false),
  openTask: (id) => setParams({ task: id }, true),
});

/** The page's identity: its path and its query without `task`. */
function pageKey() {
  const p = new URLSearchParams(location.search);
  p.delete('task');
  p.sort();
  return `${location.pathname}?${p}`;
}

/** @param {Object<string, string|number|null>} changes @param {boolean} push */
function setParams(changes, push) {
  const p = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(changes)) {
    if (v === null || v === '' || v === undefined) p.delete(k);
    else p.set(k, String(v));
  }
  const s = p.toString();
  const url = `${location.pathname}${s ? `?${s}` : ''}`;
  if (url === `${location.pathname}${location.search}`) return;
  if (push) history.pushState(null, '', url);
  else history.replaceState(null, '', url);
  route();
}

/** @param {string} url */
function navigate(url) {
  history.pushState(null, '', url);
  route();
  window.scrollTo(0, 0);
}

function route() {
  if (!session?.signed_in) return;
  const key = pageKey();
  if (key !== shownKey) {
    shownKey = key;
    for (const f of leaving) f();
    leaving = [];
    const page = PAGES[location.pathname] || overview;
    document.title = `${page.title} · podup`;
    for (const a of document.querySelectorAll('#nav a')) {
      const here = a.getAttribute('href') === location.pathname;
      if (here) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    const params = new URLSearchParams(location.search);
    params.delete('task');
    clear(main);
    page.render(main, {
      params,
      setParams,
      openTask: (id) => setParams({ task: id }, true),
      onLeave: (f) => leaving.push(f),
      session,
    });
  }
  const task = Number(new URLSearchParams(location.search).get('task'));
  if (task > 0) drawer.open(task, session);
  else drawer.close(false);
}

/** @param {Session} s */
function signedIn(s) {
  session = s;
  setCsrf(s.csrf_token);
  document.body.classList.remove('signed-out');
  document.getElementById('who').hidden = false;
  document.getElementById('who-name').textContent = `${s.name} (${s.role})`;
  shownKey = '';
  route();
}

function signedOut() {
  session = null;
  shownKey = '';
  setCsrf('');
  for (const f of leaving) f();
  leaving = [];
  drawer.close(false);
  document.body.classList.add('signed-out');
  document.getElementById('who').hidden = true;
  api('GET', '/api/v1/session').then(
    (/** @type {Session} */ s) => showSignIn(main, s, signedIn),
    () => showSignIn(main, { signed_in: false, demo: false }, signedIn),
  );
}

async function boot() {
  /** @type {Session} */
  let s;
  try {
    s = await api('GET', '/api/v1/session');
  } catch (e) {
    clear(main);
    main.append(h('div', { class: 'state error', role: 'alert' }, h('p', { text: `podup cannot be reached: ${e.message}` })));
    return;
  }
  document.getElementById('demo-banner').hidden = !s.demo;
  const hash = new URLSearchParams(location.hash.slice(1));
  const token = hash.get('token');
  if (token) history.replaceState(null, '', `${location.pathname}${location.search}`);
  if (!s.signed_in && token) {
    try {
      s = await api('POST', '/api/v1/session', { token });
    } catch (e) {
      toast(`Sign-in with the link's token failed: ${e.message}`, 'error');
    }
  }
  if (s.signed_in) signedIn(s);
  else {
    document.body.classList.add('signed-out');
    showSignIn(main, s, signedIn);
  }
}

document.addEventListener('click', (ev) => {
  const a = /** @type {HTMLElement} */ (ev.target).closest?.('a[data-link]');
  if (!a || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return;
  ev.preventDefault();
  document.getElementById('nav').classList.remove('open');
  document.getElementById('nav-toggle').setAttribute('aria-expanded', 'false');
  navigate(a.getAttribute('href'));
});

window.addEventListener('popstate', route);

document.getElementById('nav-toggle').addEventListener('click', (ev) => {
  const nav = document.getElementById('nav');
  const open = nav.classList.toggle('open');
  /** @type {HTMLElement} */ (ev.currentTarget).setAttribute('aria-expanded', String(open));
});

document.getElementById('sign-out').addEventListener('click', async () => {
  try {
    await api('DELETE', '/api/v1/session');
    toast('Signed out.');
  } catch (e) {
    toast(`Sign-out failed: ${e.message}`, 'error');
    return;
  }
  signedOut();
});

whenSignedOut(() => {
  if (session) {
    toast('Your session ended; sign in again.', 'error');
    signedOut();
  }
});

boot();
