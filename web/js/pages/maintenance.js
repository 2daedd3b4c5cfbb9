// Maintenance: the state database's size and rows, rate-limit windows in use, deploy
// locks held, and pruning old events and tasks (a dry run first). Pruning is
// `POST /api/v1/maintenance/prune` (a dry run first).

import { api } from '../api.js';
import { h, clear, empty, facts, failure, heading, loading, table, toast, confirmDialog } from '../dom.js';
import { bytes, when, ago } from '../format.js';

/** @typedef {import('../types.js').MaintenanceInfo} MaintenanceInfo */
/** @typedef {import('../main.js').PageContext} PageContext */

export const title = 'Maintenance';

/** @param {HTMLElement} main @param {PageContext} ctx */
export function render(main, ctx) {
  const body = h('div', {}, loading());
  main.append(heading('Maintenance'), body, prune(ctx));
  const load = async () => {
    /** @type {MaintenanceInfo} */
    let m;
    try {
      m = await api('GET', '/api/v1/maintenance');
    } catch (e) {
      clear(body);
      body.append(failure(`The maintenance data could not be loaded: ${e.message}`, load));
      return;
    }
    clear(body);
    body.append(
      h('section', { class: 'card' }, h('h2', { text: 'State database' }), facts([
        ['File', h('code', { text: m.db.path })],
        ['Size', `${bytes(m.db.size_bytes)} (+ ${bytes(m.db.wal_bytes)} write-ahead log)`],
        ['Schema', `version ${m.db.schema_version}`],
        ['Events', `${m.db.events} (oldest ${when(m.db.oldest_event_ms)})`],
        ['Tasks', `${m.db.tasks} with ${m.db.task_logs} log lines (oldest ${when(m.db.oldest_task_ms)})`],
        ['Sessions', String(m.db.sessions)],
      ])),
      h('section', {}, h('h2', { text: 'Rate limits' }),
        h('p', { class: 'muted small', text: `update-all ${m.limits.update_all.join(', ')}; per image ${m.limits.image.join(', ')}; failed sign-ins and signatures ${m.limits.auth_failures.join(', ')}` }),
        m.rate_limits.length
          ? table(['Key', 'Hits in the window', 'Last'], m.rate_limits.map((r) => h('tr', {}, h('td', {}, h('code', { text: r.key })), h('td', { text: String(r.hits) }), h('td', { text: ago(r.last_ms) }))))
          : empty('No limit has been hit recently.')),
      h('section', {}, h('h2', { text: 'Deploy locks' }),
        m.locks.length
          ? table(['Unit', 'Held by', 'Since'], m.locks.map((l) => h('tr', {}, h('td', { text: l.unit }),
            h('td', {}, h('a', { href: `?task=${l.task_id}`, onclick: (/** @type {MouseEvent} */ ev) => { ev.preventDefault(); ctx.openTask(l.task_id); }, text: `task #${l.task_id}` }), ` ${l.task_status || ''}`),
            h('td', { text: ago(l.acquired_ms) }))))
          : empty('No unit is locked: no deploy is running.')));
  };
  load();
}

/** @param {PageContext} ctx */
function prune(ctx) {
  const out = h('div', { 'aria-live': 'polite' });
  const days = /** @type {HTMLInputElement} */ (h('input', { id: 'prune-days', type: 'number', min: '1', value: '30', name: 'days' }));
  /** @param {boolean} dryRun */
  const call = async (dryRun) => {
    const older = Number(days.value) || 30;
    if (!dryRun && !(await confirmDialog('Prune the state database?', `This deletes events and finished tasks older than ${older} days, with their logs. It cannot be undone.`, 'Prune'))) return;
    clear(out);
    out.append(loading(dryRun ? 'Counting…' : 'Pruning…'));
    try {
      /** @type {Object<string, unknown>} */
      const r = await api('POST', '/api/v1/maintenance/prune', { dry_run: dryRun, older_than: `${older}d` });
      clear(out);
      out.append(h('pre', { class: 'meta', text: JSON.stringify(r, null, 2) }));
      if (typeof r.task_id === 'number') ctx.openTask(r.task_id);
      else if (!dryRun) toast('Pruned.');
    } catch (e) {
      clear(out);
      out.append(failure(`Pruning failed: ${e.message}`));
    }
  };
  const admin = ctx.session.role === 'admin';
  return h('section', { class: 'card' }, h('h2', { text: 'Prune old events and tasks' }),
    h('div', { class: 'filters' },
      h('label', { class: 'filter' }, h('span', { text: 'older than (days)' }), days),
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'secondary', text: 'Preview (dry run)', disabled: !admin, onclick: () => call(true) }),
        h('button', { type: 'button', class: 'danger', text: 'Prune…', disabled: !admin, onclick: () => call(false) }))),
    out);
}
