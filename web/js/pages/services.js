// Services: declared (and discovered) units with their image, running digest, what
// the last update check found, their update policy and their last task. "Update" and
// "Update all" first show the dry-run plan (the exact commands), then start the task
// and open its drawer at once; "Check now" starts a fresh update check and opens its
// drawer. A service's policy expands to each key and where it came from, with the
// errors of its files; the tasks that wait for it (an approval, or their time) are
// listed under it, with Approve and Reject for an admin. The list is read again when
// a task started or approved here ends, so the badges follow.

import { api, ApiError } from '../api.js';
import { h, clear, badge, empty, failure, heading, loading, table, toast } from '../dom.js';
import { ago, isTerminal, kindLabel, label, policyLine, policyParts, policySource, shortDigest, span, tagChange, when } from '../format.js';

/** @typedef {import('../types.js').Service} Service */
/** @typedef {import('../types.js').ServicePolicy} ServicePolicy */
/** @typedef {import('../types.js').WaitingTask} WaitingTask */
/** @typedef {import('../types.js').PolicyKey} PolicyKey */
/** @typedef {import('../types.js').ServiceList} ServiceList */
/** @typedef {import('../types.js').UpdateCounts} UpdateCounts */
/** @typedef {import('../types.js').DryRun} DryRun */
/** @typedef {import('../types.js').Accepted} Accepted */
/** @typedef {import('../types.js').TaskDetail} TaskDetail */
/** @typedef {import('../main.js').PageContext} PageContext */

export const title = 'Services';
/** How often a task started here is looked at until it ends. */
const FOLLOW_MS = 1500;

/** @param {HTMLElement} main @param {PageContext} ctx */
export function render(main, ctx) {
  const canUpdate = ctx.session.role === 'admin';
  const plan = h('section', { class: 'plan', hidden: true, 'aria-live': 'polite' });
  const checks = h('div', { class: 'check-summary', 'aria-live': 'polite' });
  const body = h('div', {}, loading());
  const all = h('button', { type: 'button', text: 'Update all…', disabled: !canUpdate, onclick: () => preview(null) });
  const checkNow = h('button', {
    type: 'button', class: 'secondary', text: 'Check now', disabled: !canUpdate,
    title: canUpdate ? 'Ask each service’s registry whether its tag points at a newer image' : 'A read-only session cannot start a check.',
    onclick: () => startCheck(),
  });
  main.append(heading('Services', checkNow, all), plan, checks, body);
  if (!canUpdate) main.insertBefore(h('p', { class: 'muted', text: 'Read-only session: updating and checking need an admin token.' }), checks);

  /** Tasks started here (or a check found running) whose end reloads the list. @type {Set<number>} */
  const following = new Set();
  /** The check task that runs now, if any. */
  let checking = 0;
  /** The services whose policy details are open (kept across reloads). @type {Set<string>} */
  const expanded = new Set();
  /** @type {ReturnType<typeof setTimeout>|null} */
  let timer = null;
  let polling = false;
  let left = false;
  // A task decided or stopped in the drawer: what waits, and the badges, follow.
  const changed = (/** @type {Event} */ ev) => {
    const id = /** @type {CustomEvent<{id: number}>} */ (ev).detail?.id;
    if (id) follow(id);
    load();
  };
  document.addEventListener('podup:task-changed', changed);
  ctx.onLeave(() => {
    left = true;
    if (timer) clearTimeout(timer);
    document.removeEventListener('podup:task-changed', changed);
  });

  /** Shows whether a check runs; "Check now" waits for it. @param {number} id */
  const setChecking = (id) => {
    checking = id;
    checkNow.textContent = id ? 'Checking…' : 'Check now';
    if (id || !canUpdate) checkNow.setAttribute('disabled', '');
    else checkNow.removeAttribute('disabled');
  };

  /** Looks at each followed task; when one has ended, reads the list again. */
  const poll = async () => {
    timer = null;
    polling = true;
    let ended = false;
    for (const id of [...following]) {
      /** @type {TaskDetail|null} */
      let d = null;
      try {
        d = await api('GET', `/api/v1/tasks/${id}`);
      } catch (e) {
        if (e instanceof ApiError && e.status === 404) following.delete(id);
      }
      if (left) return;
      if (d && isTerminal(d.task.status)) {
        following.delete(id);
        ended = true;
        if (id === checking) setChecking(0);
      }
    }
    polling = false;
    if (ended) load();
    if (following.size && !timer) timer = setTimeout(poll, FOLLOW_MS);
  };

  /** Reads the list again once task `id` has ended. @param {number} id */
  const follow = (id) => {
    following.add(id);
    if (!timer && !polling) timer = setTimeout(poll, FOLLOW_MS);
  };

  /** Opens a task in the drawer. @param {number} id */
  const taskLink = (id, text = `task #${id}`) => h('a', {
    href: `?task=${id}`, 'data-task': id, text,
    onclick: (/** @type {Event} */ ev) => { ev.preventDefault(); ctx.openTask(id); },
  });

  const startCheck = async () => {
    setChecking(-1);
    try {
      /** @type {Accepted} */
      const r = await api('POST', '/api/v1/updates/check', { fresh: true, reason: 'from the panel' });
      toast(`Task #${r.task_id} started: update check of every service.`);
      setChecking(r.task_id);
      follow(r.task_id);
      ctx.openTask(r.task_id);
      load();
    } catch (e) {
      toast(`The check was refused: ${e.message}`, 'error');
      setChecking(0);
    }
  };

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
        follow(r.task_id);
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
      if (left) return;
      clear(body);
      body.append(failure(`The services could not be loaded: ${e.message}`, load));
      return;
    }
    if (left) return;
    clear(checks);
    clear(body);
    if (!list.services.length) {
      body.append(empty('No service is declared. Set PODUP_SERVICES, e.g. app.service=ghcr.io/acme/app:stable'));
      return;
    }
    if (list.updates) checks.append(summary(list.updates));
    const waits = list.services.flatMap((s) => s.waiting || []);
    if (waits.length) checks.append(waitingLine(waits));
    // An older podup says nothing of policies: no column for them then.
    const policies = list.services.some((s) => s.policy);
    const heads = ['Service', 'Update', ...(policies ? ['Policy'] : []), 'Image', 'Running digest', 'Last task', ''];
    body.append(h('p', { class: 'muted', text: `${list.counts.declared} declared, ${list.counts.discovered} discovered.` }),
      table(heads, list.services.flatMap((s) => [
        row(s, policies),
        policies && s.policy ? policyDetail(s.unit, s.policy, heads.length) : null,
        s.waiting?.length ? waitingRow(s, heads.length) : null,
      ].filter(Boolean)), 'services'));
  };

  /** "2 deploys await an approval, 1 is scheduled". @param {WaitingTask[]} waits */
  const waitingLine = (waits) => {
    const approvals = waits.filter((w) => w.status === 'awaiting_approval').length;
    const scheduled = waits.length - approvals;
    const parts = [];
    if (approvals) parts.push(`${approvals} ${approvals === 1 ? 'deploy awaits' : 'deploys await'} an approval`);
    if (scheduled) parts.push(`${scheduled} ${scheduled === 1 ? 'is' : 'are'} scheduled`);
    return h('p', { class: 'waiting-line' },
      h('a', { href: '/tasks?status=awaiting_approval', 'data-link': true, class: 'tasks-waiting', text: parts.join(', ') }),
      h('span', { class: 'muted', text: canUpdate && approvals ? ' · approve or reject each below' : '' }));
  };

  /** The policy column: the policy in one line, a mark when its files have errors, and the details toggle. @param {Service} s */
  const policyCell = (s) => {
    const cell = h('td', { class: 'policy', 'data-policy': s.unit });
    const p = s.policy;
    if (!p) {
      cell.append(h('span', { class: 'muted', text: '—' }));
      return cell;
    }
    // Each part unbroken, so that a narrow column wraps between them.
    const parts = policyParts(p.policy).flatMap((x, i) => [i ? ' · ' : '', h('span', { class: 'part', text: x })]);
    cell.append(h('span', { class: 'policy-line', title: policyLine(p.policy) }, ...parts));
    if (p.errors.length) {
      cell.append(' ', h('span', { class: 'badge policy-bad', text: p.errors.length === 1 ? '1 error' : `${p.errors.length} errors` }));
    }
    const open = expanded.has(s.unit);
    cell.append(' ', h('button', {
      type: 'button', class: 'link', 'aria-expanded': String(open), 'aria-controls': `policy-${s.unit}`,
      'aria-label': `Policy details of ${s.unit}`, text: 'details',
      onclick: (/** @type {Event} */ ev) => {
        const button = /** @type {HTMLElement} */ (ev.currentTarget);
        const detail = document.getElementById(`policy-${s.unit}`);
        if (!detail) return;
        detail.hidden = !detail.hidden;
        if (detail.hidden) expanded.delete(s.unit);
        else expanded.add(s.unit);
        button.setAttribute('aria-expanded', String(!detail.hidden));
      },
    }));
    return cell;
  };

  /**
   * The expansion of a policy: each key, its value and where it came from (file:line or
   * default), and the files' errors.
   * @param {string} unit @param {ServicePolicy} p @param {number} width
   */
  const policyDetail = (unit, p, width) => {
    const v = p.policy;
    /** @type {[PolicyKey, string][]} */
    const keys = [
      ['Policy', v.policy],
      ['MinAge', v.min_age_secs ? `${span(v.min_age_secs)} (${v.min_age_secs} s)` : 'none'],
      ['Window', v.window || 'any time'],
      ['Timer', v.timer ? 'yes' : 'no'],
      ['Follow', v.follow],
    ];
    const rows = keys.map(([k, value]) => h('tr', { 'data-key': k },
      h('th', { scope: 'row' }, h('code', { text: `${k}=` })),
      h('td', { text: value }),
      h('td', { class: 'muted small', text: policySource(p.sources[k]) })));
    const errors = p.errors.length
      ? h('div', { class: 'policy-problem' },
        h('p', { class: 'bad', text: `${p.errors.length === 1 ? 'An error' : `${p.errors.length} errors`} in its policy: ${p.last_good
          ? 'it keeps its last good policy (above) until fixed.'
          : 'it keeps the default policy (above): none was read without errors before.'}` }),
        h('ul', { class: 'policy-errors' }, ...p.errors.map((e) => h('li', { text: e }))))
      : null;
    return h('tr', { class: 'detail policy-detail', id: `policy-${unit}`, hidden: !expanded.has(unit) },
      h('td', { colspan: String(width) },
        h('table', { class: 'policy-keys', 'aria-label': `Policy of ${unit}` },
          h('thead', {}, h('tr', {}, ...['Key', 'Value', 'From'].map((x) => h('th', { scope: 'col', text: x })))),
          h('tbody', {}, ...rows)),
        errors));
  };

  /** The tasks that wait to deploy a service, each with Approve / Reject for an admin. @param {Service} s @param {number} width */
  const waitingRow = (s, width) => h('tr', { class: 'waiting', 'data-waiting-for': s.unit },
    h('td', { colspan: String(width) }, ...(s.waiting || []).map((w) => waitingTask(s, w))));

  /** @param {Service} s @param {WaitingTask} w */
  const waitingTask = (s, w) => {
    const approval = w.status === 'awaiting_approval';
    const change = tagChange(w.image, w.to_image);
    // Without a digest (the timer job's, a sender that names only the tag), the task
    // deploys what the tag points at when it runs.
    const to = w.to_digest ? shortDigest(w.to_digest) : `newest ${w.to_image || w.image || 'image of its tag'}`;
    const what = h('code', { class: 'change', title: w.to_digest || '', text: change || `${shortDigest(s.running_digest)} → ${to}` });
    const box = h('div', { class: approval ? 'waiting-task' : 'waiting-task scheduled', 'data-waiting': w.task_id },
      badge(w.status),
      h('span', { class: 'when', text: approval ? `awaits approval until ${when(w.deadline_ms)}` : `scheduled for ${when(w.not_before_ms)}` }),
      what,
      taskLink(w.task_id));
    if (canUpdate && approval) {
      box.append(
        h('button', { type: 'button', class: 'small-button', 'data-approve': w.task_id, text: 'Approve',
          'aria-label': `Approve task #${w.task_id} (${s.unit})`, onclick: (/** @type {Event} */ ev) => decide(w.task_id, 'approve', ev) }),
        h('button', { type: 'button', class: 'small-button secondary', 'data-reject': w.task_id, text: 'Reject',
          'aria-label': `Reject task #${w.task_id} (${s.unit})`, onclick: (/** @type {Event} */ ev) => decide(w.task_id, 'reject', ev) }));
    }
    if (w.message) box.append(h('div', { class: 'message muted small', text: w.message }));
    return box;
  };

  /**
   * Approves (the drawer opens on the task, which starts or is scheduled for its
   * window) or rejects (it ends skipped) a waiting task.
   * @param {number} id @param {'approve'|'reject'} verb @param {Event} ev
   */
  const decide = async (id, verb, ev) => {
    const button = /** @type {HTMLElement} */ (ev.currentTarget);
    button.setAttribute('disabled', '');
    try {
      /** @type {{task_id: number, status: string, decided_by: string}} */
      const r = await api('POST', `/api/v1/tasks/${id}/${verb}`);
      if (verb === 'reject') toast(`Task #${id} rejected: it is ${label(r.status)}.`);
      else {
        toast(r.status === 'scheduled' ? `Task #${id} approved: scheduled for its service's window.` : `Task #${id} approved: it starts now.`);
        follow(id);
        ctx.openTask(id);
      }
    } catch (e) {
      toast(`Could not ${verb} task #${id}: ${e.message}`, 'error');
    }
    load();
  };

  /** "Last check: 12 min ago (task #49)" and the counts; follows a check that runs. @param {UpdateCounts} u */
  const summary = (u) => {
    const last = u.last_check;
    if (!last) return h('p', { class: 'muted', text: 'No update check yet: “Check now” asks each registry whether the tag a service follows points at a newer image.' });
    const running = !isTerminal(last.status);
    if (running && !following.has(last.id)) {
      setChecking(last.id);
      follow(last.id);
    }
    const at = last.finished_ms || last.created_ms;
    return h('p', { class: 'check-line' },
      h('span', { title: when(at), text: `Last check: ${running ? 'running now' : ago(at)} (` }), taskLink(last.id), ')',
      running || last.status === 'succeeded' ? null : h('span', {}, ' ', badge(last.status)),
      h('span', { class: 'muted', text: ` · ${u.available} with an update, ${u.up_to_date} up to date, ${u.unknown} unknown` }));
  };

  /** The update column: the last check's verdict, and the Update button when one waits. @param {Service} s */
  const verdict = (s) => {
    const u = s.update;
    const cell = h('td', { class: 'verdict', 'data-verdict': s.unit });
    if (!u) {
      cell.append(updateBadge('none', 'Not checked', 'No update check has looked at this service yet.'));
      return cell;
    }
    const tip = [u.message, u.endpoint, `checked ${when(u.checked_at)}`].filter(Boolean).join(' · ');
    if (u.status === 'available') {
      cell.append(updateBadge('available', 'Update available', tip), ' ',
        h('code', { title: u.remote_digest || '', text: shortDigest(u.remote_digest) }));
      if (canUpdate && s.image) {
        cell.append(' ', h('button', {
          type: 'button', class: 'small-button', 'data-update-waiting': s.unit, text: 'Update',
          'aria-label': `Update ${s.unit} to ${shortDigest(u.remote_digest)}`, onclick: () => preview(s.unit),
        }));
      }
    } else if (u.status === 'up_to_date') {
      cell.append(updateBadge('up_to_date', 'Up to date', tip));
    } else {
      cell.append(updateBadge('unknown', `Unknown: ${label(u.reason || 'no reason given')}`, tip));
      if (u.message) cell.append(h('div', { class: 'muted small', text: u.message }));
    }
    return cell;
  };

  /** @param {Service} s @param {boolean} policies whether the policy column is shown */
  const row = (s, policies) => h('tr', { 'data-service': s.unit },
    h('td', {}, h('strong', { text: s.unit }), h('div', { class: 'muted small', text: `${s.source}, ${s.scope}` })),
    verdict(s),
    policies ? policyCell(s) : null,
    h('td', {}, h('code', { text: s.image || 'unknown' }), h('div', { class: 'muted small', text: label(s.image_source) })),
    h('td', {}, h('code', { title: s.running_digest || '', text: shortDigest(s.running_digest) })),
    h('td', {}, s.last_task
      ? h('span', {}, taskLink(s.last_task.id, `#${s.last_task.id}`),
        ' ', badge(s.last_task.status), h('span', { class: 'muted small', text: ` ${kindLabel(s.last_task.kind)}, ${ago(s.last_task.created_ms)}` }))
      : h('span', { class: 'muted', text: 'never updated' })),
    h('td', { class: 'right' }, h('button', { type: 'button', class: 'secondary', 'data-update': s.unit, disabled: !canUpdate || !s.image, text: 'Update…', onclick: () => preview(s.unit) })));
  load();
}

/** A verdict as a badge, its details in the tooltip. @param {string} status @param {string} text @param {string} tip */
function updateBadge(status, text, tip) {
  return h('span', { class: `badge u-${status}`, title: tip, text });
}
