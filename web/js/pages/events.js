// Events: the event log (one row per request) with filters kept in the URL, the
// `meta` of a row on demand, links to tasks, and pages by id. Successful reads
// (mostly this panel's own polling) are hidden unless asked for.

import { api, query } from '../api.js';
import { h, clear, empty, failure, heading, loading, table } from '../dom.js';
import { when } from '../format.js';

/** @typedef {import('../types.js').Event} Event */
/** @typedef {import('../types.js').EventList} EventList */
/** @typedef {import('../main.js').PageContext} PageContext */

export const title = 'Events';
const PAGE = 50;
const FIELDS = [
  ['action', 'action', 'github_webhook'],
  ['status', 'status', '401 or 4xx'],
  ['reason', 'reason', 'signature_mismatch'],
  ['path', 'path contains', '/hooks/'],
  ['task', 'task', 'id'],
];

/** `datetime-local` value ↔ epoch ms. @param {string} v */
const toMs = (v) => (v ? String(new Date(v).getTime()) : '');
/** @param {string|null} ms */
function toLocal(ms) {
  if (!ms) return '';
  const d = new Date(Number(ms));
  d.setMinutes(d.getMinutes() - d.getTimezoneOffset());
  return d.toISOString().slice(0, 16);
}

/** @param {HTMLElement} main @param {PageContext} ctx */
export function render(main, ctx) {
  const p = ctx.params;
  const quiet = p.get('all') !== '1';
  const before = p.get('before') || '';
  const form = h('form', { class: 'filters', onsubmit: (/** @type {SubmitEvent} */ ev) => {
    ev.preventDefault();
    const data = new FormData(/** @type {HTMLFormElement} */ (ev.target));
    /** @type {Object<string, string|null>} */
    const changes = { before: null };
    for (const [name] of FIELDS) changes[name] = String(data.get(name) || '').trim() || null;
    changes.since_ms = toMs(String(data.get('since') || '')) || null;
    changes.until_ms = toMs(String(data.get('until') || '')) || null;
    changes.all = data.get('all') ? '1' : null;
    ctx.setParams(changes, true);
  } },
    ...FIELDS.map(([name, text, hint]) => h('label', { class: 'filter' }, h('span', { text }),
      h('input', { name, id: `f-${name}`, value: p.get(name) || '', placeholder: hint, autocomplete: 'off' }))),
    h('label', { class: 'filter' }, h('span', { text: 'from' }), h('input', { type: 'datetime-local', name: 'since', value: toLocal(p.get('since_ms')) })),
    h('label', { class: 'filter' }, h('span', { text: 'until' }), h('input', { type: 'datetime-local', name: 'until', value: toLocal(p.get('until_ms')) })),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'all', checked: !quiet }), ' show successful reads'),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', text: 'Filter' }),
      h('a', { href: '/events', 'data-link': true, class: 'button-link', text: 'Clear' })));
  const body = h('div', {}, loading());
  const pager = h('div', { class: 'pager' });
  main.append(heading('Events'), form, body, pager);

  const load = async () => {
    /** @type {EventList} */
    let list;
    const q = { action: p.get('action'), status: p.get('status'), reason: p.get('reason'), path: p.get('path'), task: p.get('task'), since_ms: p.get('since_ms'), until_ms: p.get('until_ms'), before, quiet: quiet ? 1 : null, limit: PAGE };
    try {
      list = await api('GET', `/api/v1/events${query(q)}`);
    } catch (e) {
      clear(body);
      body.append(failure(`The events could not be loaded: ${e.message}`, load));
      return;
    }
    clear(body);
    body.append(list.events.length ? rows(list.events, ctx) : empty('No event matches these filters.'));
    clear(pager);
    pager.append(
      h('a', { href: `/events${query({ ...q, before: null, quiet: null, limit: null, all: quiet ? null : 1 })}`, 'data-link': true, class: before ? 'button-link' : 'button-link disabled', 'aria-disabled': String(!before), text: '← Newest' }),
      h('button', { type: 'button', class: 'secondary', disabled: !list.next_before, text: 'Older →', onclick: () => ctx.setParams({ before: list.next_before }, true) }));
  };
  load();
}

/** A row that stands for several refused requests (folded past the per-source
 * rate) says how many: "×37".
 * @param {Event} e */
function folded(e) {
  const n = e.count || 1;
  return n > 1 ? h('span', { class: 'folded', title: `${n} refused requests from one source in one second`, text: ` ×${n}` }) : '';
}

/** @param {Event[]} events @param {PageContext} ctx */
function rows(events, ctx) {
  const trs = [];
  for (const e of events) {
    const meta = typeof e.meta === 'string' ? e.meta : JSON.stringify(e.meta, null, 2);
    const hasMeta = meta && meta !== '{}';
    const detail = h('tr', { class: 'detail', hidden: true }, h('td', { colspan: '7' },
      h('pre', { class: 'meta', text: `${hasMeta ? meta : 'no meta'}\nrequest ${e.request_id} from ${e.remote_addr || 'a Unix socket'}, ${e.duration_ms} ms${(e.count || 1) > 1 ? `\nstands for ${e.count} refused requests from this source in this second (the first shown)` : ''}` })));
    const toggle = h('button', { type: 'button', class: 'link', 'aria-expanded': 'false', 'data-event': e.id, text: 'details', onclick: () => {
      detail.hidden = !detail.hidden;
      toggle.setAttribute('aria-expanded', String(!detail.hidden));
    } });
    trs.push(h('tr', { class: e.status >= 400 ? 'bad' : '' },
      h('td', { text: when(e.ts_ms) }),
      h('td', {}, h('code', { text: `${e.method} ${e.path}` })),
      h('td', {}, h('span', { class: `code c${Math.floor(e.status / 100)}`, text: String(e.status) }),
        folded(e)),
      h('td', { text: e.action }),
      h('td', { text: e.reason }),
      h('td', {}, e.task_id ? h('a', { href: `?task=${e.task_id}`, onclick: (/** @type {MouseEvent} */ ev) => { ev.preventDefault(); ctx.openTask(e.task_id); }, text: `#${e.task_id}` }) : ''),
      h('td', {}, toggle)), detail);
  }
  return table(['Time', 'Request', 'Status', 'Action', 'Reason', 'Task', ''], trs, 'events');
}
