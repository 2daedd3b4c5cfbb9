// Services: declared (and discovered) units with their image, running digest and
// last task. "Update" and "Update all" first show the dry-run plan (the exact
// commands), then start the task and open its drawer at once.

import { api } from '../api.js';
import { h, clear, badge, empty, failure, heading, loading, table, toast } from '../dom.js';
import { ago, label, shortDigest } from '../format.js';

/** @typedef {import('../types.js').Service} Service */
/** @typedef {import('../types.js').ServiceList} ServiceList */
/** @typedef {import('../types.js').DryRun} DryRun */
/** @typedef {import('../types.js').Accepted} Accepted */
/** @typedef {import('../main.js').PageContext} PageContext */

export const title = 'Services';

/** @param {HTMLElement} main @param {PageContext} ctx */
export function render(main, ctx) {
  const canUpdate = ctx.session.role === 'admin';
  const plan = h('section', { class: 'plan', hidden: true, 'aria-live': 'polite' });
  const body = h('div', {}, loading());
  const all = h('button', { type: 'button', text: 'Update all…', disabled: !canUpdate, onclick: () => preview(null) });
  main.append(heading('Services', all), plan, body);
  if (!canUpdate) main.insertBefore(h('p', { class: 'muted', text: 'Read-only session: updating needs an admin token.' }), body);

  /** Shows the dry-run plan of one service (or all) with a button that runs it. @param {string|null} unit */
  const preview = async (unit) => {
    const path = unit ? `/api/v1/services/${encodeURIComponent(unit)}/update` : '/api/v1/update-all';
    plan.hidden = false;
    clear(plan);
    plan.append(loading(`Planning ${unit || 'an update of every service'}…`));
    /** @type {DryRun} */
    let dry;
    try {
      dry = await api('POST', path, { dry_run: true });
    } catch (e) {
      clear(plan);
      plan.append(failure(`The plan could not be made: ${e.message}`));
      return;
    }
    clear(plan);
    const run = h('button', { type: 'button', 'data-run': unit || 'all', text: unit ? `Update ${unit}` : 'Update all', onclick: async () => {
      run.setAttribute('disabled', '');
      try {
        /** @type {Accepted} */
        const r = await api('POST', path, { reason: 'from the panel' });
        toast(`Task #${r.task_id} started: ${unit ? `update of ${unit}` : 'update of every service'}.`);
        plan.hidden = true;
        clear(plan);
        ctx.openTask(r.task_id);
        load();
      } catch (e) {
        toast(`The update was refused: ${e.message}`, 'error');
        run.removeAttribute('disabled');
      }
    } });
    plan.append(
      h('h2', { text: unit ? `Plan: update ${unit}` : 'Plan: update every service' }),
      h('p', { class: 'muted', text: 'Dry run: nothing has changed yet. These are the commands the task will run, in order (values known only then are in angle brackets).' }),
      ...dry.plan.map((u) => h('div', { class: 'plan-unit' },
        h('h3', { text: `${u.unit} → ${u.digest || u.image || 'its image'}` }),
        h('ol', { class: 'commands' }, ...u.commands.map((c) => h('li', {}, h('code', { text: c.join(' ') })))))),
      h('div', { class: 'actions' }, run, h('button', { type: 'button', class: 'secondary', text: 'Cancel', onclick: () => { plan.hidden = true; clear(plan); } })));
    run.focus();
  };

  const load = async () => {
    /** @type {ServiceList} */
    let list;
    try {
      list = await api('GET', '/api/v1/services');
    } catch (e) {
      clear(body);
      body.append(failure(`The services could not be loaded: ${e.message}`, load));
      return;
    }
    clear(body);
    if (!list.services.length) {
      body.append(empty('No service is declared. Set PODUP_SERVICES, e.g. app.service=ghcr.io/acme/app:stable'));
      return;
    }
    body.append(h('p', { class: 'muted', text: `${list.counts.declared} declared, ${list.counts.discovered} discovered.` }),
      table(['Service', 'Image', 'Running digest', 'Last task', ''], list.services.map((s) => row(s))));
  };

  /** @param {Service} s */
  const row = (s) => h('tr', {},
    h('td', {}, h('strong', { text: s.unit }), h('div', { class: 'muted small', text: `${s.source}, ${s.scope}` })),
    h('td', {}, h('code', { text: s.image || 'unknown' }), h('div', { class: 'muted small', text: label(s.image_source) })),
    h('td', {}, h('code', { title: s.running_digest || '', text: shortDigest(s.running_digest) })),
    h('td', {}, s.last_task
      ? h('span', {}, h('a', { href: `?task=${s.last_task.id}`, text: `#${s.last_task.id}`, onclick: (/** @type {Event} */ ev) => { ev.preventDefault(); ctx.openTask(s.last_task.id); } }),
        ' ', badge(s.last_task.status), h('span', { class: 'muted small', text: ` ${label(s.last_task.kind)}, ${ago(s.last_task.created_ms)}` }))
      : h('span', { class: 'muted', text: 'never updated' })),
    h('td', { class: 'right' }, h('button', { type: 'button', class: 'secondary', 'data-update': s.unit, disabled: !canUpdate || !s.image, text: 'Update…', onclick: () => preview(s.unit) })));
  load();
}
