// Overview: health with the fix for each problem, the timer's next run, how many
// services have an update waiting (from the Services list, which has the last
// check's verdicts) and how many deploys wait for an approval or their time, tasks
// that run now, the last tasks and the last events.

import { api } from '../api.js';
import { h, clear, badge, empty, failure, heading, loading, table } from '../dom.js';
import { ago, isTerminal, kindLabel, label, when } from '../format.js';

/** @typedef {import('../types.js').Overview} Overview */
/** @typedef {import('../types.js').Task} Task */
/** @typedef {import('../types.js').ServiceList} ServiceList */
/** @typedef {import('../main.js').PageContext} PageContext */

export const title = 'Overview';
const POLL_MS = 10000;

/** @param {HTMLElement} main @param {PageContext} ctx */
export function render(main, ctx) {
  const body = h('div', {}, loading());
  main.append(heading('Overview'), body);
  let timer = 0;
  let stopped = false;
  ctx.onLeave(() => {
    stopped = true;
    clearTimeout(timer);
  });

  const load = async () => {
    /** @type {Overview} */
    let o;
    /** @type {Promise<ServiceList>} */
    const services = api('GET', '/api/v1/services');
    services.catch(() => {});
    /** @type {ServiceList|Error} */
    let list;
    try {
      o = await api('GET', '/api/v1/overview');
      list = await services.catch((e) => e);
    } catch (e) {
      if (stopped) return;
      clear(body);
      body.append(failure(`The overview could not be loaded: ${e.message}`, load));
      return;
    }
    if (stopped) return;
    clear(body);
    const problems = o.checks.filter((c) => !c.ok).length;
    body.append(
      h('div', { class: 'columns' },
        h('section', { class: 'card' },
          h('h2', { text: problems ? `Health: ${problems} problem(s)` : 'Health: all good' }),
          h('ul', { class: 'checks' }, ...o.checks.map((c) => h('li', { class: c.ok ? 'ok' : 'bad' },
            h('span', { class: 'mark', 'aria-hidden': 'true', text: c.ok ? '✓' : '✗' }),
            h('strong', { text: label(c.name) }), ' ',
            h('span', { text: c.detail }),
            c.fix ? h('div', { class: 'fix' }, h('span', { text: 'Fix: ' }), h('code', { text: c.fix })) : null))),
          h('p', { class: 'muted small', text: `podup ${o.version}, ${o.scope} manager, up ${Math.round(o.uptime_secs / 60)} min` })),
        h('section', { class: 'card' },
          h('h2', { text: 'Automatic updates' }),
          o.timer.error
            ? h('p', {}, h('span', { text: `${o.timer.unit}: ` }), h('span', { class: 'bad', text: o.timer.error }))
            : h('p', { text: o.timer.load_state === 'loaded'
              ? `${o.timer.unit} runs next on ${o.timer.next || '(not scheduled)'}.`
              : `${o.timer.unit} is not installed: systemctl enable --now ${o.timer.unit}` }),
          h('h2', { text: 'Update checks' }),
          updates(list),
          waiting(list),
          h('h2', { text: 'Last 24 hours' }),
          h('p', { class: 'counts' }, ...Object.entries(o.counts_24h).map(([k, v]) => h('span', { class: 'count' }, badge(k), ` ${v}`)),
            Object.keys(o.counts_24h).length ? '' : 'No task.'))),
      h('section', {}, h('h2', { text: `Running now (${o.running.length})` }), o.running.length ? tasks(o.running, ctx) : empty('Nothing runs.')),
      h('section', {}, h('h2', {}, 'Last tasks ', h('a', { href: '/tasks', 'data-link': true, class: 'small', text: 'all tasks' })), o.tasks.length ? tasks(o.tasks, ctx) : empty('No task yet.')),
      h('section', {}, h('h2', {}, 'Last events ', h('a', { href: '/events', 'data-link': true, class: 'small', text: 'all events' })),
        o.events.length ? table(['Time', 'Request', 'Status', 'Reason'], o.events.map((e) => h('tr', {},
          h('td', { text: when(e.ts_ms) }), h('td', {}, h('code', { text: `${e.method} ${e.path}` })),
          h('td', {}, h('span', { class: `code c${Math.floor(e.status / 100)}`, text: String(e.status) })), h('td', { text: e.reason })))) : empty('No event yet.')));
    timer = window.setTimeout(load, POLL_MS);
  };
  load();
}

/** "N updates available" (a link to Services) and when the last check ran. @param {ServiceList|Error} list */
function updates(list) {
  if (list instanceof Error) return h('p', { class: 'muted', text: `The services could not be loaded: ${list.message}` });
  const u = list.updates;
  if (!u) return h('p', { class: 'muted', text: 'This podup does not check for updates.' });
  const n = u.available;
  const last = u.last_check;
  return h('p', { class: 'updates' },
    h('a', { href: '/services', 'data-link': true, class: n ? 'updates-available' : null,
      text: n ? `${n} ${n === 1 ? 'update' : 'updates'} available` : 'No update available' }),
    h('span', { class: 'muted', text: last ? ` · last check ${isTerminal(last.status) ? ago(last.finished_ms || last.created_ms) : 'running now'}` : ' · no check yet' }));
}

/**
 * "2 deploys wait (1 for an approval, 1 scheduled)", a link to Services, where each can
 * be decided; nothing from a podup without policies.
 * @param {ServiceList|Error} list
 */
function waiting(list) {
  if (list instanceof Error || list.updates?.waiting === undefined) return null;
  const n = list.updates.waiting;
  if (!n) return h('p', { class: 'muted waiting-count', text: 'No deploy waits for an approval or its time.' });
  const waits = list.services.flatMap((s) => s.waiting || []);
  const approvals = waits.filter((w) => w.status === 'awaiting_approval').length;
  const scheduled = waits.length - approvals;
  return h('p', { class: 'waiting-count' },
    h('a', { href: '/services', 'data-link': true, class: 'tasks-waiting', text: `${n} ${n === 1 ? 'deploy waits' : 'deploys wait'}` }),
    h('span', { class: 'muted', text: ` (${approvals} for an approval, ${scheduled} scheduled)` }));
}

/** @param {Task[]} list @param {PageContext} ctx */
function tasks(list, ctx) {
  return table(['Task', 'Kind', 'Status', 'Units', 'Created'], list.map((t) => h('tr', {
    class: 'clickable', tabindex: '0', 'data-task': t.id,
    onclick: () => ctx.openTask(t.id),
    onkeydown: (/** @type {KeyboardEvent} */ ev) => { if (ev.key === 'Enter') ctx.openTask(t.id); },
  },
  h('td', { text: `#${t.id}` }), h('td', { text: kindLabel(t.kind) }), h('td', {}, badge(t.status)),
  h('td', { text: t.units.join(', ') || '—' }), h('td', { text: ago(t.created_ms) }))));
}
