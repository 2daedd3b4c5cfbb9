// Tasks: the table with status / kind / unit filters, a category switcher kept in
// sync with the kind filter, pages by id, and polling every 5 s. Everything the
// user chose lives in the URL, so a reload or a shared link shows the same view.

import { api, query } from '../api.js';
import { h, clear, badge, empty, failure, heading, loading, table } from '../dom.js';
import { ago, duration, kindLabel, label, when } from '../format.js';

/** @typedef {import('../types.js').Task} Task */
/** @typedef {import('../types.js').TaskList} TaskList */
/** @typedef {import('../types.js').TaskKind} TaskKind */
/** @typedef {import('../types.js').TaskCategory} TaskCategory */
/** @typedef {import('../main.js').PageContext} PageContext */

export const title = 'Tasks';
const POLL_MS = 5000;
const PAGE = 20;

/** @type {[TaskCategory, string, TaskKind[]][]} */
export const CATEGORIES = [
  ['all', 'All', []],
  ['manual', 'Manual', ['manual', 'update-all']],
  ['webhook', 'Webhook', ['webhook']],
  ['automatic', 'Automatic', ['auto-update']],
  ['maintenance', 'Maintenance', ['maintenance']],
  ['check', 'Checks', ['check']],
];
const KINDS = ['webhook', 'manual', 'update-all', 'auto-update', 'maintenance', 'check'];
const STATUSES = ['awaiting_approval', 'scheduled', 'pending', 'running', 'succeeded', 'failed', 'rolled_back', 'cancelled', 'skipped', 'unknown'];

/** The category a kind belongs to. @param {string} kind @returns {TaskCategory} */
function categoryOf(kind) {
  const c = CATEGORIES.find(([, , kinds]) => kinds.includes(/** @type {TaskKind} */ (kind)));
  return c ? c[0] : 'all';
}

/**
 * @param {string} name @param {string} text @param {string[]} values @param {string} current @param {(v: string) => void} change
 * @param {(v: string) => string} [words] each value in words
 */
function select(name, text, values, current, change, words = label) {
  const s = /** @type {HTMLSelectElement} */ (h('select', { id: `f-${name}`, name, onchange: (/** @type {Event} */ ev) => change(/** @type {HTMLSelectElement} */ (ev.target).value) },
    h('option', { value: '', text: `any ${text}` }),
    ...values.map((v) => h('option', { value: v, text: words(v) }))));
  s.value = current;
  return h('label', { class: 'filter' }, h('span', { text }), s);
}

/** @param {HTMLElement} main @param {PageContext} ctx */
export function render(main, ctx) {
  const p = ctx.params;
  const kind = p.get('kind') || '';
  const category = /** @type {TaskCategory} */ (p.get('category') || (kind ? categoryOf(kind) : 'all'));
  const status = p.get('status') || '';
  const unit = p.get('unit') || '';
  const before = p.get('before') || '';
  /** Page history of `before` values, for Newer. */
  const trail = (p.get('trail') || '').split(',').filter(Boolean);

  const tabs = h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Category' },
    ...CATEGORIES.map(([c, text]) => h('button', {
      type: 'button', role: 'tab', 'aria-selected': String(c === category), class: c === category ? 'tab on' : 'tab',
      'data-category': c, text,
      onclick: () => {
        const keep = kind && categoryOf(kind) === c;
        ctx.setParams({ category: c === 'all' ? null : c, kind: keep ? kind : null, before: null, trail: null }, true);
      },
    })));
  let typing = 0;
  const search = /** @type {HTMLInputElement} */ (h('input', {
    id: 'f-unit', type: 'search', name: 'unit', placeholder: 'unit name…', value: unit, autocomplete: 'off',
    oninput: (/** @type {Event} */ ev) => {
      clearTimeout(typing);
      const v = /** @type {HTMLInputElement} */ (ev.target).value.trim();
      typing = window.setTimeout(() => ctx.setParams({ unit: v || null, before: null, trail: null }, false), 350);
    },
  }));
  const filters = h('div', { class: 'filters' },
    select('status', 'status', STATUSES, status, (v) => ctx.setParams({ status: v || null, before: null, trail: null }, true)),
    select('kind', 'kind', KINDS, kind, (v) => ctx.setParams({ kind: v || null, category: v ? categoryOf(v) : null, before: null, trail: null }, true), kindLabel),
    h('label', { class: 'filter grow' }, h('span', { text: 'unit' }), search));
  const body = h('div', { class: 'list' }, loading());
  const pager = h('div', { class: 'pager' });
  main.append(heading('Tasks'), tabs, filters, body, pager);
  if (unit) {
    search.focus();
    search.setSelectionRange(unit.length, unit.length);
  }

  let timer = 0;
  let stopped = false;
  ctx.onLeave(() => {
    stopped = true;
    clearTimeout(timer);
    clearTimeout(typing);
  });

  const load = async () => {
    clearTimeout(timer);
    /** @type {TaskList} */
    let list;
    try {
      list = await api('GET', `/api/v1/tasks${query({ status, kind, category: kind ? null : category === 'all' ? null : category, unit, before, limit: PAGE })}`);
    } catch (e) {
      if (stopped) return;
      clear(body);
      body.append(failure(`The tasks could not be loaded: ${e.message}`, load));
      timer = window.setTimeout(load, POLL_MS);
      return;
    }
    if (stopped) return;
    const scroll = window.scrollY;
    clear(body);
    body.append(list.tasks.length ? rows(list.tasks, ctx) : empty(status || kind || unit || category !== 'all' ? 'No task matches these filters.' : 'No task yet.'));
    clear(pager);
    pager.append(
      h('button', { type: 'button', class: 'secondary', disabled: !before, text: '← Newer', onclick: () => {
        const prev = trail[trail.length - 1];
        ctx.setParams({ before: prev && prev !== '0' ? prev : null, trail: trail.slice(0, -1).join(',') || null }, true);
      } }),
      h('span', { class: 'muted', text: before ? `older than #${before}` : 'newest first' }),
      h('button', { type: 'button', class: 'secondary', disabled: !list.next_before, text: 'Older →', onclick: () => {
        ctx.setParams({ before: list.next_before, trail: [...trail, before || '0'].join(',') }, true);
      } }));
    window.scrollTo(0, scroll);
    timer = window.setTimeout(load, POLL_MS);
  };
  load();
}

/** @param {Task[]} tasks @param {PageContext} ctx */
function rows(tasks, ctx) {
  const trs = tasks.map((t) => {
    const open = () => ctx.openTask(t.id);
    return h('tr', { tabindex: '0', class: 'clickable', 'data-task': t.id, onclick: open,
      onkeydown: (/** @type {KeyboardEvent} */ ev) => { if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); open(); } } },
      h('td', { text: `#${t.id}` }),
      h('td', { text: kindLabel(t.kind) }),
      h('td', {}, badge(t.status)),
      h('td', { class: 'units', text: t.units.join(', ') || '—' }),
      h('td', { text: t.caller || t.source }),
      h('td', { title: when(t.created_ms), text: ago(t.created_ms) }),
      h('td', { text: t.started_ms ? duration(t.started_ms, t.finished_ms) : '—' }));
  });
  return table(['ID', 'Kind', 'Status', 'Units', 'Caller', 'Created', 'Took'], trs, 'tasks');
}
