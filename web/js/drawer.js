// The task drawer: a panel on the right with a task's summary, its units (from →
// to digest; for a check, each verdict, running → registry digest), and its log
// timeline (commands collapsible, with argv, exit status and stderr). It polls
// while the task runs or waits and stops at a terminal status; stop, force-stop and
// retry report what happened in a toast, and so do approve and reject of a task that
// awaits an approval. A waiting task says until when it waits; a decided one who
// decided. A unit that follows a version shows the tags (1.4.2 → 1.5.0). Esc closes
// it. A task whose end wrote notifications lists them, one per sink, with each attempt.

import { api, ApiError } from './api.js';
import { h, clear, badge, facts, table, toast, confirmDialog, loading, failure } from './dom.js';
import { when, duration, shortDigest, isTerminal, isWaiting, kindLabel, label, notifyStatus, tagChange } from './format.js';

/** @typedef {import('./types.js').TaskDetail} TaskDetail */
/** @typedef {import('./types.js').TaskLogEntry} TaskLogEntry */
/** @typedef {import('./types.js').Session} Session */
/** @typedef {import('./types.js').TaskNotification} TaskNotification */

const POLL_MS = 1500;
/** A check task's unit statuses in words (`unknown` says itself). @type {Object<string, string>} */
const VERDICTS = { unchanged: 'up to date', available: 'update available' };

export class Drawer {
  /**
   * @param {HTMLElement} el
   * @param {{onClose: () => void, openTask: (id: number) => void}} hooks
   */
  constructor(el, hooks) {
    this.el = el;
    this.hooks = hooks;
    /** @type {number} */
    this.id = 0;
    /** @type {ReturnType<typeof setTimeout>|null} */
    this.timer = null;
    /** @type {Element|null} */
    this.returnFocus = null;
    /** @type {Session|null} */
    this.session = null;
    /** The log entries the user opened, by index. @type {Set<number>} */
    this.expanded = new Set();
    document.addEventListener('keydown', (ev) => {
      const dialogOpen = /** @type {HTMLDialogElement} */ (document.getElementById('confirm')).open;
      if (ev.key === 'Escape' && !this.el.hidden && !dialogOpen) this.close(true);
    });
  }

  /** @param {number} id @param {Session} session */
  open(id, session) {
    this.session = session;
    if (id === this.id && !this.el.hidden) return;
    if (this.el.hidden) this.returnFocus = document.activeElement;
    this.id = id;
    this.expanded = new Set();
    this.stop();
    this.el.hidden = false;
    document.body.classList.add('drawer-open');
    clear(this.el);
    this.el.append(this.header(null), loading());
    /** @type {HTMLElement} */ (this.el.querySelector('.close')).focus();
    this.load();
  }

  /** @param {boolean} notify whether to tell the shell (which drops `?task=`) */
  close(notify) {
    if (this.el.hidden) return;
    this.stop();
    this.el.hidden = true;
    this.id = 0;
    document.body.classList.remove('drawer-open');
    clear(this.el);
    if (this.returnFocus instanceof HTMLElement && document.contains(this.returnFocus)) this.returnFocus.focus();
    if (notify) this.hooks.onClose();
  }

  stop() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  async load() {
    const id = this.id;
    /** @type {TaskDetail} */
    let d;
    try {
      d = await api('GET', `/api/v1/tasks/${id}`);
    } catch (e) {
      if (id !== this.id) return;
      this.render(null, e instanceof ApiError && e.status === 404 ? `There is no task ${id}.` : e.message);
      if (!(e instanceof ApiError && e.status === 404)) this.timer = setTimeout(() => this.load(), POLL_MS * 2);
      return;
    }
    if (id !== this.id) return;
    this.render(d, null);
    if (!isTerminal(d.task.status)) this.timer = setTimeout(() => this.load(), POLL_MS);
  }

  /** @param {TaskDetail|null} d */
  header(d) {
    return h('div', { class: 'drawer-head' },
      h('h2', { id: 'drawer-title', text: `Task #${this.id}` }),
      d ? badge(d.task.status) : null,
      h('button', { type: 'button', class: 'close', 'aria-label': 'Close the task', text: '×', onclick: () => this.close(true) }));
  }

  /** @param {TaskDetail|null} d @param {string|null} error */
  render(d, error) {
    const body = this.el.querySelector('.drawer-body');
    const scroll = body ? body.scrollTop : 0;
    const focused = document.activeElement && this.el.contains(document.activeElement) ? document.activeElement.getAttribute('data-focus') : null;
    clear(this.el);
    this.el.append(this.header(d));
    const content = h('div', { class: 'drawer-body' });
    if (error) content.append(failure(error, () => this.load()));
    if (d) {
      content.append(this.summary(d), this.actions(d), this.units(d));
      if (d.notifications?.length) content.append(notifications(d.notifications));
      content.append(this.timeline(d.logs));
    }
    this.el.append(content);
    content.scrollTop = scroll;
    const again = focused && this.el.querySelector(`[data-focus="${focused}"]`);
    if (again instanceof HTMLElement) again.focus();
    else if (!this.el.contains(document.activeElement)) /** @type {HTMLElement} */ (this.el.querySelector('.close')).focus();
  }

  /** @param {TaskDetail} d */
  summary(d) {
    const t = d.task;
    /** @type {[string, Node|string][]} */
    const rows = [
      ['Kind', kindLabel(t.kind)],
      ['Status', h('span', {}, badge(t.status), t.reason && t.reason !== t.status ? ` ${t.reason}` : '')],
      ['Message', t.message || '—'],
      ['Units', t.units.join(', ') || '—'],
      ['Caller', `${t.caller || '—'} via ${t.source}`],
      ['Why', t.trigger_reason || '—'],
      ['Created', when(t.created_ms)],
    ];
    if (t.status === 'awaiting_approval' && t.deadline_ms) rows.push(['Deadline', `awaits approval until ${when(t.deadline_ms)}; then it is skipped`]);
    else if (t.deadline_ms) rows.push(['Deadline', when(t.deadline_ms)]);
    if (t.not_before_ms) rows.push(['Not before', t.status === 'scheduled' ? `scheduled for ${when(t.not_before_ms)}` : when(t.not_before_ms)]);
    if (t.decided_by) rows.push(['Decided by', `${t.decided_by}${t.decided_ms ? ` at ${when(t.decided_ms)}` : ''}${t.reason === 'rejected' ? ' (rejected)' : ''}`]);
    rows.push(['Ran for', t.started_ms ? duration(t.started_ms, t.finished_ms) : 'not started']);
    if (t.retry_of) rows.push(['Retry of', h('a', { href: `?task=${t.retry_of}`, 'data-task': t.retry_of, text: `task #${t.retry_of}`, onclick: (/** @type {Event} */ ev) => { ev.preventDefault(); this.hooks.openTask(t.retry_of); } })]);
    if (t.delivery_id) rows.push(['Delivery', t.delivery_id]);
    if (t.spec?.dry_run) rows.push(['Dry run', 'yes']);
    return h('section', { class: 'drawer-section' }, facts(rows));
  }

  /** @param {TaskDetail} d */
  actions(d) {
    const t = d.task;
    const admin = this.session?.role === 'admin';
    const running = !isTerminal(t.status) && !isWaiting(t.status);
    const bar = h('div', { class: 'actions drawer-actions' });
    if (admin && t.status === 'awaiting_approval') {
      bar.append(
        h('button', { type: 'button', 'data-focus': 'approve', text: 'Approve', onclick: () => this.decide('approve') }),
        h('button', { type: 'button', class: 'secondary', 'data-focus': 'reject', text: 'Reject', onclick: () => this.decide('reject') }));
    }
    // A scheduled task has no worker yet: Stop cancels it, there is nothing to kill.
    if (admin && t.status === 'scheduled') bar.append(h('button', { type: 'button', 'data-focus': 'stop', text: 'Stop', onclick: () => this.act('stop') }));
    if (admin && running) {
      bar.append(
        h('button', { type: 'button', 'data-focus': 'stop', text: 'Stop', onclick: () => this.act('stop') }),
        h('button', { type: 'button', class: 'danger', 'data-focus': 'force-stop', text: 'Force stop', onclick: () => this.forceStop() }));
    }
    if (admin && isTerminal(t.status)) bar.append(h('button', { type: 'button', 'data-focus': 'retry', text: 'Retry', onclick: () => this.act('retry') }));
    if (!admin) {
      bar.append(h('span', { class: 'muted', text: t.status === 'awaiting_approval'
        ? 'Read-only session: approving and rejecting need an admin token.'
        : 'Read-only session: stop and retry need an admin token.' }));
    }
    bar.append(h('a', { href: `/events?task=${t.id}`, 'data-link': true, class: 'button-link', text: 'Open events' }));
    return bar;
  }

  async forceStop() {
    const unit = `podup-task-${this.id}.service`;
    const ok = await confirmDialog(
      `Force-stop task #${this.id}?`,
      `This sends SIGKILL to ${unit}: the worker dies at once, in the middle of its step, without rolling back. The task becomes failed (killed); a unit may be left on the new image or stopped. Use Stop to let it end its step cleanly.`,
      'Force stop');
    if (ok) this.act('force-stop');
  }

  /** @param {'stop'|'force-stop'|'retry'} verb */
  async act(verb) {
    const id = this.id;
    try {
      /** @type {{task_id: number, status?: string, changed?: boolean, retry_of?: number}} */
      const r = await api('POST', `/api/v1/tasks/${id}/${verb}`);
      if (verb === 'retry') {
        toast(`Retry started as task #${r.task_id}.`);
        this.hooks.openTask(r.task_id);
        return;
      }
      changed(id);
      if (r.changed === false) toast(`Task #${id} had already ended (${label(r.status || '')}).`, 'info');
      else if (verb === 'stop') toast(`Task #${id} stopped: it is now ${label(r.status || '')}.`);
      else toast(`Task #${id} was killed: it is now ${label(r.status || '')}.`);
    } catch (e) {
      toast(`Could not ${verb.replace('-', ' ')} task #${id}: ${e.message}`, 'error');
    }
    if (id === this.id) {
      this.stop();
      this.load();
    }
  }

  /**
   * Approves (the task starts, or is scheduled for its service's window) or rejects
   * (it ends skipped) a task that awaits an approval.
   * @param {'approve'|'reject'} verb
   */
  async decide(verb) {
    const id = this.id;
    try {
      /** @type {{task_id: number, status: string, decided_by: string}} */
      const r = await api('POST', `/api/v1/tasks/${id}/${verb}`);
      if (verb === 'reject') toast(`Task #${id} rejected: it is ${label(r.status)}.`);
      else if (r.status === 'scheduled') toast(`Task #${id} approved: scheduled for its service's window.`);
      else toast(`Task #${id} approved: it starts now.`);
      changed(id);
    } catch (e) {
      toast(`Could not ${verb} task #${id}: ${e.message}`, 'error');
    }
    if (id === this.id) {
      this.stop();
      this.load();
    }
  }

  /**
   * The unit rows; a check's say what it found, from the running digest to the
   * registry's; a unit that follows a version (its spec has `retag`) shows the tags.
   * @param {TaskDetail} d
   */
  units(d) {
    if (!d.units.length) return h('section', { class: 'drawer-section' }, h('h3', { text: 'Units' }), h('p', { class: 'muted', text: 'No unit rows (yet).' }));
    const check = d.task.kind === 'check';
    const specs = d.task.spec?.units || [];
    /** @param {import('./types.js').TaskUnit} u */
    const change = (u) => {
      const spec = specs.find((x) => x.unit === u.unit);
      const tags = spec?.retag ? tagChange(u.image || spec.image, spec.retag) : null;
      const digests = `${shortDigest(u.from_digest)} → ${shortDigest(u.to_digest)}`;
      if (tags) return [h('code', { class: 'change', title: digests, text: tags })];
      return [
        h('code', { title: u.from_digest || '', text: shortDigest(u.from_digest) }), ' → ',
        h('code', { title: u.to_digest || '', text: shortDigest(u.to_digest) })];
    };
    const rows = d.units.flatMap((u) => [
      h('tr', { 'data-unit': u.unit },
        h('td', {}, h('strong', { text: u.unit }), u.image ? h('div', { class: 'muted small', text: u.image }) : null),
        h('td', {}, badge(u.status, check ? VERDICTS[u.status] : undefined), h('div', { class: 'muted small', text: u.phase })),
        h('td', { class: 'digests' }, ...change(u))),
      u.message ? h('tr', { class: 'unit-message' }, h('td', { colspan: '3', class: 'small', text: u.message })) : null,
    ].filter(Boolean));
    return h('section', { class: 'drawer-section' },
      h('h3', { text: check ? 'Verdicts' : 'Units' }),
      table(['Unit', check ? 'Verdict' : 'Status', check ? 'Running → registry' : 'From → to'], rows, 'compact'));
  }

  /** @param {TaskLogEntry[]} logs */
  timeline(logs) {
    const list = h('ol', { class: 'timeline' });
    logs.forEach((l, i) => {
      const time = h('time', { text: when(l.ts_ms).slice(11) });
      const where = h('span', { class: 'step', text: l.unit ? `${l.step} · ${l.unit}` : l.step });
      if (!l.argv) {
        list.append(h('li', { class: `lvl-${l.level}` }, time, where, h('span', { class: 'msg', text: l.message })));
        return;
      }
      const details = /** @type {HTMLDetailsElement} */ (h('details', { open: this.expanded.has(i) },
        h('summary', {}, time, where,
          h('code', { class: 'argv', text: l.argv.join(' ') }),
          h('span', { class: l.exit_status === 0 ? 'exit ok' : 'exit bad', text: l.exit_status === null ? 'killed' : `exit ${l.exit_status}` })),
        h('pre', { class: 'cmd', text: `$ ${l.argv.map(quote).join(' ')}` }),
        l.stderr ? h('pre', { class: 'stderr', text: l.stderr }) : h('p', { class: 'muted small', text: 'no output on stderr' })));
      details.addEventListener('toggle', () => (details.open ? this.expanded.add(i) : this.expanded.delete(i)));
      list.append(h('li', { class: `lvl-${l.level} command` }, details));
    });
    return h('section', { class: 'drawer-section' },
      h('h3', { text: `Log (${logs.length})` }),
      logs.length ? list : h('p', { class: 'muted', text: 'Nothing logged yet.' }));
  }
}

/**
 * Tells the page that task `id` changed from the drawer (`podup:task-changed` on the
 * document), so that a page listing it (Services' waiting tasks) reads its list again.
 * @param {number} id
 */
function changed(id) {
  document.dispatchEvent(new CustomEvent('podup:task-changed', { detail: { id } }));
}

/** The notifications a task's end wrote: sink (secrets masked), event, where it
 * stands, and each attempt. @param {TaskNotification[]} list */
function notifications(list) {
  const items = list.map((n) => {
    const tries = n.attempt_list || [];
    return h('li', { class: 'notification', 'data-notification': n.id },
      h('div', { class: 'notification-head' },
        badge(n.status, notifyStatus(n)),
        h('span', { class: 'event' }, h('span', { class: 'muted', text: 'event ' }), h('strong', { text: label(n.event) })),
        h('span', { class: 'muted small', text: n.attempts === 1 ? '1 attempt' : `${n.attempts} attempts` })),
      h('code', { class: 'sink-url', text: n.sink_name }),
      n.status === 'given_up' && n.last_error ? h('p', { class: 'small muted', text: n.last_error }) : null,
      tries.length
        ? h('ol', { class: 'attempts' }, ...tries.map((a) => h('li', {},
          h('time', { text: when(a.ts_ms) }),
          h('span', { class: a.ok ? 'exit ok' : 'exit bad', text: a.ok ? 'ok' : 'failed' }),
          h('span', { class: 'muted small', text: duration(a.ts_ms, a.ts_ms + a.duration_ms) }),
          a.error ? h('span', { class: 'msg', text: a.error }) : null)))
        : h('p', { class: 'muted small', text: 'Not tried yet.' }));
  });
  return h('section', { class: 'drawer-section', id: 'drawer-notifications' },
    h('h3', { text: `Notifications (${list.length})` }),
    h('ol', { class: 'notifications' }, ...items));
}

/** Shell-style quoting for display. @param {string} a */
function quote(a) {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}
